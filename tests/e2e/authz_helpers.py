"""Helpers for the authorization, replay and failed-authentication tests
(test_82 ... test_84): authorities of a test's own, API clients with given
roles, authorities and supporter, every page of a list, the gateway's log."""
import json
import time
import uuid
from pathlib import Path

import requests

import conftest
from conftest import ENV, ROOT, Api


class Maker:
    """Authorities of a test's own (conftest.new_authorities: one maker key
    holds them) and API clients on them, made by the key holding them."""

    def __init__(self):
        conftest._maker_api(8)  # room for this test's authorities on one maker key

    def authority(self, name="authz"):
        return conftest.new_authorities(1, f"{name} test")[0]

    def client(self, roles, authorities, **extra):
        """The created client's JSON (with its key), retrying while the
        maker's own key has not yet learnt a new authority."""
        authorities = list(authorities)
        granter = conftest._owner.get(authorities[0]) or conftest._seed_admin()
        body = {"name": f"authz {'/'.join(roles)} {uuid.uuid4().hex[:6]}", "roles": list(roles),
                "authorityIds": authorities, **extra}
        for _ in range(50):
            r = granter.post("/v1/clients", body)
            if r.status_code == 201:
                return r.json()
            assert r.status_code == 400, r.text
            time.sleep(0.2)
        raise AssertionError(f"could not make a {roles} client: {r.text}")


def key_api(client):
    return Api(client["key"])


def all_items(api, path, **params):
    """Every item of a paged list."""
    items, token = [], None
    for _ in range(1000):
        q = dict(params, pageSize=200)
        if token:
            q["pageToken"] = token
        r = api.get(path, params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        token = body.get("nextPageToken")
        if not token:
            return items
    raise AssertionError(f"{path}: more than 1000 pages")


def raw(method, path, key=None, address=None, **kw):
    """One request with an optional key and, as nginx on the same host would
    send it, an X-Forwarded-For naming the client's address."""
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if address is not None:
        headers["X-Forwarded-For"] = address
    return requests.request(method, ENV["PARLEY_URL"] + path, headers=headers, timeout=15, **kw)


def fresh_address():
    """A documentation address (RFC 5737) of this test's own."""
    n = uuid.uuid4().int
    return f"198.51.{n % 250 + 1}.{(n >> 8) % 250 + 1}"


def forged_key(client_id=None):
    """A well-formed key for client_id (a random one by default) with a wrong secret."""
    hex_id = (client_id or str(uuid.uuid4())).replace("-", "")
    return f"pk_{hex_id}_" + "A" * 43


def gateway_log_lines():
    var = Path(ENV.get("PARLEY_VAR_DIR", "var"))
    logs = (var if var.is_absolute() else ROOT / var) / "log"
    out = []
    for path in logs.glob("gateway-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out
