"""Helpers for the authorization, replay and failed-authentication tests
(test_82 ... test_84): authorities of a test's own, API clients with given
roles, authorities and supporter, every page of a list, the gateway's log."""
import json
import time
import uuid
from pathlib import Path

import requests

from conftest import ENV, ROOT, Api
from matching_helpers import _creator, _creator_api


class Maker:
    """A consortium admin that holds the authorities it makes (a throwaway
    creator key, as matching_helpers uses), so each test has its own."""

    def __init__(self):
        self.api = _creator_api(Api(ENV["PARLEY_KEY_ADMIN"]))

    def authority(self, name="authz"):
        code = "E0%07d" % (uuid.uuid4().int % 10**7)
        r = self.api.post("/v1/authorities", {"code": code, "name": f"{name} test {code}"})
        assert r.status_code == 201, r.text
        _creator["made"] += 1
        return r.json()["id"]

    def client(self, roles, authorities, **extra):
        """The created client's JSON (with its key), retrying while the
        maker's own key has not yet learnt a new authority."""
        body = {"name": f"authz {'/'.join(roles)} {uuid.uuid4().hex[:6]}", "roles": list(roles),
                "authorityIds": list(authorities), **extra}
        for _ in range(50):
            r = self.api.post("/v1/clients", body)
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
