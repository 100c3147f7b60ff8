"""Signed webhooks (issue 13, item 2), against a receiver in this process
on the loopback port the stack allow-lists: each delivery is signed per
Standard Webhooks and verifies with the subscriber's secret (a tampered
body does not); the payload is thin; a receiver answering 500 three times
is retried and then succeeds, one that never succeeds ends failed with
every attempt listed; a partner agency's webhook receives only events of
its own referrals; another client's webhook is 404; the secret is shown
once; a redelivery of the event to notify sends nothing twice."""
import json
import uuid

import pytest

from conftest import Logs, case_body, family_body, wait_for
from notify_helpers import restart_notify
from webhook_helpers import Receiver, allowed_port, notify_env, verify

THIN = {"id", "type", "authorityId", "subjectId", "occurredAt"}


@pytest.fixture(scope="module")
def receiver():
    r = Receiver(allowed_port()).start()
    restart_notify(1, notify_env())
    try:
        yield r
    finally:
        restart_notify(1)
        r.stop()


def url(kind="ok"):
    path = f"/{kind}/{uuid.uuid4().hex}"
    return path, f"http://127.0.0.1:{allowed_port()}{path}"


def register(api, authority, target, types=("case.opened",), **headers):
    r = api.post("/v1/webhooks", {"authorityId": authority, "url": target, "eventTypes": list(types)},
                 headers={"Idempotency-Key": str(uuid.uuid4()), **headers})
    assert r.status_code == 201, r.text
    return r.json()


def open_case(api, authority):
    fam = api.post("/v1/families", family_body(authority))
    assert fam.status_code == 201, fam.text
    case = api.post("/v1/cases", case_body(authority, fam.json()))
    assert case.status_code == 201, case.text
    return fam.json(), case.json()


def deliveries(api, hook_id):
    r = api.get(f"/v1/webhooks/{hook_id}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def settled(api, hook_id, n=1):
    """The webhook's deliveries once n of them have ended (delivered or failed)."""
    got = wait_for(lambda: [d for d in deliveries(api, hook_id) if d["status"] != "pending"][:n] if
                   len([d for d in deliveries(api, hook_id) if d["status"] != "pending"]) >= n else None, timeout=45)
    assert got, f"webhooks: {n} deliveries did not end within 45 s: {deliveries(api, hook_id)}"
    return deliveries(api, hook_id)


def test_a_delivery_is_signed_and_thin_and_verifies_only_untampered(receiver, admin, cw_a, authority_a, db):
    path, target = url()
    logs = Logs("notify")
    hook = register(admin, authority_a, target)
    secret = hook["secret"]
    assert secret.startswith("whsec_") and len(secret) >= 6 + 32, secret
    assert hook["scope"] == "authority" and hook["eventTypes"] == ["case.opened"]
    fam, case = open_case(cw_a, authority_a)

    got = wait_for(lambda: receiver.on(path), timeout=30)
    assert len(got) == 1, f"webhooks: the receiver got {len(got)} requests for one event"
    req = got[0]
    assert verify(secret, req["headers"], req["body"]), f"webhooks: the signature does not verify: {req['headers']}"
    # A body changed on the way, another secret, another id or an old signature: refused.
    assert not verify(secret, req["headers"], req["body"].replace(case["id"].encode(), str(uuid.uuid4()).encode()))
    assert not verify(secret, req["headers"], req["body"] + b" ")
    other = register(admin, authority_a, url()[1])["secret"]
    assert not verify(other, req["headers"], req["body"])
    assert not verify(secret, {**req["headers"], "webhook-id": str(uuid.uuid4())}, req["body"])
    assert req["headers"]["content-type"] == "application/json"

    body = json.loads(req["body"])
    assert set(body) == THIN, body
    assert (body["type"], body["authorityId"], body["subjectId"]) == ("case.opened", authority_a, case["id"])
    text = req["body"].decode()
    for p in fam["parents"]:
        assert p["givenName"] not in text and p["familyName"] not in text, "webhooks: personal data in a payload"
    assert fam["children"][0]["givenName"] not in text and fam["id"] not in text

    d = settled(admin, hook["id"])
    assert len(d) == 1 and d[0]["status"] == "delivered", d
    assert d[0]["id"] == req["headers"]["webhook-id"] and d[0]["eventId"] == body["id"]
    assert [(a["responseCode"], a.get("error")) for a in d[0]["attempts"]] == [(200, None)], d[0]["attempts"]

    # The secret is shown once: never in GET, the list, the database or the logs.
    one = admin.get(f"/v1/webhooks/{hook['id']}")
    assert one.status_code == 200 and "secret" not in one.json(), one.text
    listed = admin.get("/v1/webhooks").json()["items"]
    assert hook["id"] in [w["id"] for w in listed] and all("secret" not in w for w in listed)
    with db.cursor() as c:
        c.execute("SELECT row_to_json(w)::text FROM notify.webhooks w WHERE id = %s", (hook["id"],))
        row = c.fetchone()[0]
        c.execute("SELECT count(*) FROM audit.events WHERE record_id = %s", (hook["id"],))
        audited = c.fetchone()[0]
    raw = secret.split("_", 1)[1]
    assert raw not in row and raw[:16] not in row
    assert audited >= 2, "audit: the create and the reads of a webhook leave rows"
    assert not [line for line in logs.lines() if raw[:16] in json.dumps(line)], "webhooks: the secret was logged"


def test_a_replay_of_the_create_answers_without_the_secret(receiver, admin, authority_a):
    key = str(uuid.uuid4())
    first = register(admin, authority_a, url()[1], **{"Idempotency-Key": key})
    again = admin.post("/v1/webhooks", {"authorityId": authority_a, "url": first["url"], "eventTypes": ["case.opened"]},
                       headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.text
    assert again.json()["id"] == first["id"] and "secret" not in again.json(), again.text
    assert "shown only in the first answer" in again.json()["secretNotice"]


def test_a_receiver_answering_500_three_times_is_retried_then_succeeds(receiver, admin, cw_a, authority_a):
    path, target = url("fail3")
    hook = register(admin, authority_a, target)
    open_case(cw_a, authority_a)
    d = settled(admin, hook["id"])
    assert d[0]["status"] == "delivered", d
    assert [a["responseCode"] for a in d[0]["attempts"]] == [500, 500, 500, 200], d[0]["attempts"]
    assert [a.get("error") for a in d[0]["attempts"][:3]] == ["HTTP 500"] * 3
    got = receiver.on(path)
    assert len(got) == 4 and len({r["headers"]["webhook-id"] for r in got}) == 1, got
    assert all(verify(hook["secret"], r["headers"], r["body"]) for r in got), "each attempt is signed afresh"


def test_a_receiver_that_never_succeeds_ends_failed_with_every_attempt_listed(receiver, admin, cw_a, authority_a):
    path, target = url("down")
    hook = register(admin, authority_a, target)
    open_case(cw_a, authority_a)
    d = settled(admin, hook["id"])
    assert d[0]["status"] == "failed", d
    assert [a["responseCode"] for a in d[0]["attempts"]] == [500] * 5, d[0]["attempts"]
    assert d[0]["failureReason"].startswith("gave up after 5 attempts"), d[0]
    assert len(receiver.on(path)) == 5


@pytest.mark.parametrize("kind,code", [("gone", 410), ("redirect", 302)])
def test_a_4xx_or_a_redirect_ends_failed_at_once_and_is_not_followed(receiver, admin, cw_a, authority_a, kind, code):
    path, target = url(kind)
    hook = register(admin, authority_a, target)
    open_case(cw_a, authority_a)
    d = settled(admin, hook["id"])
    assert d[0]["status"] == "failed" and [a["responseCode"] for a in d[0]["attempts"]] == [code], d
    assert len(receiver.on(path)) == 1 and not receiver.on("/ok/redirected")


def test_a_partner_webhook_receives_only_its_own_referrals(receiver, tenancy, admin, cw_a, partner_a, authority_a):
    mine_path, mine = url()
    staff_path, staff = url()
    hook = register(partner_a, authority_a, mine, ("case.opened", "case.closed"))
    assert hook["scope"] == "referrals"
    register(admin, authority_a, staff, ("case.opened", "case.closed"))
    other_partner = tenancy.client("partner A2", ["partner_agency"], [authority_a])
    _, referral = open_case(partner_a, authority_a)
    _, staff_case = open_case(cw_a, authority_a)
    _, others = open_case(other_partner, authority_a)
    r = cw_a.post(f"/v1/cases/{staff_case['id']}/close", {"outcome": "resolved", "reason": "done"})
    assert r.status_code == 200, r.text
    r = cw_a.post(f"/v1/cases/{referral['id']}/close", {"outcome": "resolved", "reason": "done"})
    assert r.status_code == 200, r.text

    # Staff's webhook hears of all three cases and both closings: every event has reached notify.
    want = {("case.opened", referral["id"]), ("case.opened", staff_case["id"]), ("case.opened", others["id"]),
            ("case.closed", staff_case["id"]), ("case.closed", referral["id"])}
    assert wait_for(lambda: {(e["type"], e["subjectId"]) for e in receiver.events(staff_path)} == want, timeout=30), \
        receiver.events(staff_path)
    assert wait_for(lambda: len(receiver.on(mine_path)) >= 2, timeout=15)
    got = {(e["type"], e["subjectId"]) for e in receiver.events(mine_path)}
    assert got == {("case.opened", referral["id"]), ("case.closed", referral["id"])}, \
        f"tenancy: a partner's webhook received events of cases it did not open: {got}"
    assert {d["eventType"] for d in deliveries(partner_a, hook["id"])} == {"case.opened", "case.closed"}


def test_another_clients_webhook_is_404_and_only_its_owner_deletes_it(receiver, tenancy, admin, partner_a, cw_b,
                                                                       authority_a, authority_b):
    hook = register(partner_a, authority_a, url()[1])
    other_partner = tenancy.client("partner A2", ["partner_agency"], [authority_a])
    random = str(uuid.uuid4())
    for api in (other_partner, admin):
        for path in (f"/v1/webhooks/{hook['id']}", f"/v1/webhooks/{hook['id']}/deliveries"):
            r = api.get(path)
            assert r.status_code == 404, f"tenancy: {path} -> {r.status_code} {r.text}"
            assert r.json()["code"] == api.get(path.replace(hook["id"], random)).json()["code"]
        r = api.s.delete(f"{api.base}/v1/webhooks/{hook['id']}", timeout=10)
        assert r.status_code == 404, r.text
        assert hook["id"] not in [w["id"] for w in api.get("/v1/webhooks").json()["items"]]
    assert cw_b.get(f"/v1/webhooks/{hook['id']}").status_code == 403
    # An authority the client does not serve: 400 naming it.
    r = partner_a.post("/v1/webhooks", {"authorityId": authority_b, "url": url()[1], "eventTypes": ["case.opened"]})
    assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["authorityId"], r.text

    r = partner_a.s.delete(f"{partner_a.base}/v1/webhooks/{hook['id']}", timeout=10)
    assert r.status_code == 200 and r.json()["id"] == hook["id"] and "secret" not in r.json(), r.text
    assert partner_a.get(f"/v1/webhooks/{hook['id']}").status_code == 404
    assert partner_a.s.delete(f"{partner_a.base}/v1/webhooks/{hook['id']}", timeout=10).status_code == 404


def test_bad_requests_name_the_field(receiver, admin, authority_a):
    for body, field in (({"url": url()[1], "eventTypes": ["case.opened"]}, "authorityId"),
                        ({"authorityId": authority_a, "eventTypes": ["case.opened"]}, "url"),
                        ({"authorityId": authority_a, "url": url()[1]}, "eventTypes"),
                        ({"authorityId": authority_a, "url": url()[1], "eventTypes": ["match.offered"]}, "eventTypes[0]"),
                        ({"authorityId": authority_a, "url": url()[1], "eventTypes": ["case.opened", "case.opened"]},
                         "eventTypes[1]"),
                        ({"authorityId": authority_a, "url": "not a url", "eventTypes": ["case.opened"]}, "url")):
        r = admin.post("/v1/webhooks", body)
        assert r.status_code == 400 and field in [e["field"] for e in r.json()["errors"]], (body, r.text)


def test_a_redelivered_event_does_not_deliver_the_webhook_twice(receiver, admin, cw_a, authority_a, db):
    """case.opened (handled with the acknowledgement to the family) and
    case.closed (handled for webhooks alone), each delivered to notify again."""
    path, target = url()
    hook = register(admin, authority_a, target, ("case.opened", "case.closed"))
    _, case = open_case(cw_a, authority_a)
    r = cw_a.post(f"/v1/cases/{case['id']}/close", {"outcome": "resolved", "reason": "done"})
    assert r.status_code == 200, r.text
    assert wait_for(lambda: len(receiver.on(path)) == 2, timeout=30), receiver.events(path)

    def event(type_):
        with db.cursor() as c:
            c.execute("SELECT o.id::text, d.attempts, d.delivered_at IS NOT NULL FROM intake.outbox o"
                      " JOIN intake.outbox_deliveries d ON d.event_id = o.id AND d.subscriber = 'notify'"
                      " WHERE o.subject_id = %s AND o.type = %s", (case["id"], type_))
            return c.fetchone()
    for type_ in ("case.opened", "case.closed"):
        event_id, attempts, delivered = event(type_)
        assert delivered
        with db.cursor() as c:
            c.execute("UPDATE intake.outbox_deliveries SET delivered_at = NULL, next_attempt_at = now()"
                      " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))
        assert wait_for(lambda: event(type_)[1:] == (attempts + 1, True), timeout=30), event(type_)
    # A second delivery would have been queued while notify handled the redelivery; give its sender a moment.
    wait_for(lambda: len(receiver.on(path)) > 2, timeout=2)
    got = [e["type"] for e in receiver.events(path)]
    assert sorted(got) == ["case.closed", "case.opened"], f"exactly once: the webhook got {got}"
    assert len(deliveries(admin, hook["id"])) == 2
