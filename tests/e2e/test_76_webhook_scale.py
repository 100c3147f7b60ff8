"""Webhook deliveries shared by three notify processes: each sender claims
deliveries FOR UPDATE SKIP LOCKED, so every event reaches the receiver once,
counted at the receiver, however many processes send."""
import uuid

import pytest

from conftest import case_body, family_body, wait_for
from notify_helpers import restart_notify
from webhook_helpers import Receiver, allowed_port, notify_env, verify

CASES = 20


@pytest.fixture(scope="module")
def receiver():
    r = Receiver(allowed_port()).start()
    restart_notify(3, notify_env())
    try:
        yield r
    finally:
        restart_notify(1)
        r.stop()


@pytest.mark.timeout(180)
def test_three_notify_processes_deliver_each_event_once(receiver, admin, cw_a, authority_a):
    path = f"/ok/{uuid.uuid4().hex}"
    r = admin.post("/v1/webhooks", {"authorityId": authority_a, "url": f"http://127.0.0.1:{allowed_port()}{path}",
                                    "eventTypes": ["case.opened"]})
    assert r.status_code == 201, r.text
    hook = r.json()
    fam = cw_a.post("/v1/families", family_body(authority_a)).json()
    cases = set()
    for _ in range(CASES):
        c = cw_a.post("/v1/cases", case_body(authority_a, fam))
        assert c.status_code == 201, c.text
        cases.add(c.json()["id"])
    assert wait_for(lambda: {e["subjectId"] for e in receiver.events(path)} == cases, timeout=60), \
        f"exactly once: {len({e['subjectId'] for e in receiver.events(path)})} of {CASES} cases' events arrived"
    wait_for(lambda: len(receiver.on(path)) > CASES, timeout=2)  # a duplicate would follow at once
    got = receiver.on(path)
    assert len(got) == CASES, f"exactly once: {len(got)} requests for {CASES} events"
    assert len({r["headers"]["webhook-id"] for r in got}) == CASES
    assert all(verify(hook["secret"], r["headers"], r["body"]) for r in got)
    items = admin.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"pageSize": 200}).json()["items"]
    assert len(items) == CASES and all(d["status"] == "delivered" and len(d["attempts"]) == 1 for d in items), items
