"""Webhooks cannot be aimed inside the network (SSRF): a URL whose host is,
or resolves to, a loopback, link-local or metadata, private, shared,
unspecified or multicast address is refused when it is registered (400
naming url), and again when a delivery is sent: a webhook registered while
its host was allow-listed is refused at delivery once it no longer is,
without a connection."""
import uuid

import pytest

from conftest import case_body, family_body, wait_for
from notify_helpers import restart_notify
from webhook_helpers import Receiver, allowed_port, free_port, notify_env


@pytest.fixture(scope="module")
def receiver():
    r = Receiver(allowed_port()).start()
    restart_notify(1, notify_env())
    try:
        yield r
    finally:
        restart_notify(1)
        r.stop()


def test_internal_targets_are_refused_at_registration(receiver, admin, authority_a):
    other = free_port()
    while other == allowed_port():
        other = free_port()
    targets = [
        f"https://127.0.0.1:{other}/hook",           # loopback, on a port not allow-listed
        f"http://127.0.0.1:{other}/hook",
        "https://169.254.169.254/latest/meta-data/",  # the cloud metadata address
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        f"https://localhost:{allowed_port()}/hook",  # a name resolving to loopback (the list names 127.0.0.1)
        "https://[::ffff:127.0.0.1]/hook",            # IPv4-mapped IPv6
        "https://[::ffff:169.254.169.254]/hook",
        "https://172.16.0.1/hook", "https://192.168.1.1/hook", "https://100.64.0.1/hook",
        "https://0.0.0.0/hook", "https://224.0.0.1/hook", "https://[fd00::1]/hook", "https://[fe80::1]/hook",
        "https://2130706433/hook",                    # 127.0.0.1 written as a number
    ]
    accepted = []
    for target in targets:
        r = admin.post("/v1/webhooks", {"authorityId": authority_a, "url": target, "eventTypes": ["case.opened"]})
        errors = r.json().get("errors", []) if r.headers.get("content-type", "").startswith("application/problem") else []
        if r.status_code != 400 or [e["field"] for e in errors] != ["url"]:
            accepted.append(f"{target}: {r.status_code} {r.text[:200]}")
    assert not accepted, "ssrf: internal targets accepted:\n" + "\n".join(accepted)
    r = admin.post("/v1/webhooks", {"authorityId": authority_a, "url": "https://10.0.0.1/", "eventTypes": ["case.opened"]})
    assert "resolves to a private (10.0.0.0/8) address" in r.json()["errors"][0]["message"], r.text
    r = admin.post("/v1/webhooks", {"authorityId": authority_a, "url": "http://192.0.2.1/", "eventTypes": ["case.opened"]})
    assert r.status_code == 400 and "https" in r.json()["errors"][0]["message"], r.text
    r = admin.post("/v1/webhooks", {"authorityId": authority_a, "url": "https://u:p@192.0.2.1/", "eventTypes": ["case.opened"]})
    assert r.status_code == 400 and "password" in r.json()["errors"][0]["message"], r.text
    assert admin.get("/v1/webhooks").json()["items"] == [], "nothing refused was stored"


def test_a_target_no_longer_allow_listed_is_refused_at_delivery_without_a_connection(receiver, admin, cw_a,
                                                                                     authority_a):
    path = f"/ok/{uuid.uuid4().hex}"
    r = admin.post("/v1/webhooks", {"authorityId": authority_a, "url": f"https://127.0.0.1:{allowed_port()}{path}",
                                    "eventTypes": ["case.opened"]})
    assert r.status_code == 201, r.text
    hook = r.json()
    restart_notify(1, notify_env(PARLEY_WEBHOOK_ALLOW_HOSTS=""))
    try:
        fam = cw_a.post("/v1/families", family_body(authority_a)).json()
        assert cw_a.post("/v1/cases", case_body(authority_a, fam)).status_code == 201

        def ended():
            items = admin.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
            return items if items and items[0]["status"] != "pending" else None
        d = wait_for(ended, timeout=30)
        assert d, admin.get(f"/v1/webhooks/{hook['id']}/deliveries").text
        assert d[0]["status"] == "failed", d
        assert [(a["responseCode"], a["error"]) for a in d[0]["attempts"]] == [
            (0, "refused: the host resolves to a loopback address")], d[0]["attempts"]
        assert receiver.on(path) == [], "ssrf: a connection was made to a refused address"
    finally:
        restart_notify(1, notify_env())
