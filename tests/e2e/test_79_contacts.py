"""Contacts and preferences (issue 13, item 3), end to end: a person's
preferences (PUT/GET /v1/contacts/{personId}/preferences), notifications to
a person named by id whose contact details are read from their owner
(intake) when the message is sent, never copied into notify, opt-outs and
SMS quiet hours. Mail goes to a real SMTP server (aiosmtpd,
notify_helpers.MailSink), SMS to the local Notify API stand-in."""
import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest

from conftest import family_body, wait_for
from notify_helpers import mail_sink_stand_in_and_notify, put_template, send
from young_helpers import young_case_body, young_person_body

TEMPLATE = {"translations": [
    {"language": "en", "subject": "News for ((name))", "body": "Hello ((name)), your case moved on.",
     "sms": "Parley: hello ((name)), your case moved on."},
    {"language": "pl", "subject": "Wiadomość dla ((name))", "body": "Dzień dobry ((name)), sprawa posunęła się."},
]}


@pytest.fixture(scope="module")
def providers():
    yield from mail_sink_stand_in_and_notify()


def make_family(cw, authority, email=None, phone="+44 7700 900321"):
    body = family_body(authority)
    body["parents"][0]["email"] = email or f"amina-{uuid.uuid4().hex[:8]}@example.org"
    body["parents"][0]["phone"] = phone
    body["parents"][1]["email"] = f"omar-{uuid.uuid4().hex[:8]}@example.org"
    r = cw.post("/v1/families", body)
    assert r.status_code == 201, r.text
    return r.json()


def put_prefs(api, person_id, body, **headers):
    return api.s.put(f"{api.base}/v1/contacts/{person_id}/preferences", json=body, headers=headers, timeout=10)


def to_person(authority, template, person_id, **over):
    body = {"authorityId": authority, "template": template, "data": {"name": "Amina"},
            "recipient": {"personId": person_id}, "category": "case_updates"}
    body.update(over)
    return body


def read(api, notification_id):
    return api.get(f"/v1/notifications/{notification_id}").json()


def settled(api, notification_id, timeout=30):
    got = {}

    def done():
        got["n"] = read(api, notification_id)
        return got["n"]["status"] != "pending"
    wait_for(done, timeout=timeout)
    return got["n"]


def fields(r):
    return [e["field"] for e in r.json().get("errors", [])]


def patch_parent_email(cw, fam, email):
    parents = [{**{k: v for k, v in p.items() if k != "id"}, "parentId": p["id"]} for p in fam["parents"]]
    parents[0]["email"] = email
    r = cw.s.patch(cw.base + f"/v1/families/{fam['id']}", json={"parents": parents}, timeout=10)
    assert r.status_code == 200, r.text


def test_preferences_round_trip_and_what_get_answers_put_takes_back(cw_a, authority_a):
    fam = make_family(cw_a, authority_a)
    parent = fam["parents"][0]["id"]
    body = {"channels": ["sms", "email"], "language": "pl", "format": "large_print",
            "quietHours": {"start": "21:30", "end": "07:15"}, "optOuts": ["case_updates", "newsletters"]}
    r = put_prefs(cw_a, parent, body)
    assert r.status_code == 200, r.text
    got = cw_a.get(f"/v1/contacts/{parent}/preferences")
    assert got.status_code == 200, got.text
    p = got.json()
    assert p == r.json()
    assert (p["personId"], p["authorityId"], p["personKind"], p["version"]) == (parent, authority_a, "parent", 1)
    assert p["channels"] == ["sms", "email"] and (p["language"], p["format"]) == ("pl", "large_print")
    # The zone defaults to London; a window may span midnight.
    assert p["quietHours"] == {"start": "21:30", "end": "07:15", "zone": "Europe/London"}
    assert p["optOuts"] == ["case_updates", "newsletters"]
    assert "email" not in p and "phone" not in p, "contact details stay with intake"
    # GET's answer goes back whole with If-Match; a stale one is 412, none replaces.
    p["channels"] = ["email"]
    r2 = put_prefs(cw_a, parent, p, **{"If-Match": got.headers["ETag"]})
    assert r2.status_code == 200, r2.text
    assert (r2.json()["version"], r2.json()["channels"]) == (2, ["email"])
    assert put_prefs(cw_a, parent, p, **{"If-Match": got.headers["ETag"]}).status_code == 412
    changed = {**r2.json(), "personKind": "supporter"}
    r3 = put_prefs(cw_a, parent, changed)
    assert r3.status_code == 400 and fields(r3) == ["personKind"], r3.text
    r4 = put_prefs(cw_a, parent, {"optOuts": []})
    assert r4.status_code == 200 and r4.json()["version"] == 3 and "quietHours" not in r4.json(), r4.text
    # If-Match on preferences never set: 404.
    other = fam["parents"][1]["id"]
    assert put_prefs(cw_a, other, {}, **{"If-Match": '"1"'}).status_code == 404
    assert cw_a.get(f"/v1/contacts/{other}/preferences").status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"channels": ["email", "email"]}, "channels[1]"),
    ({"channels": ["pigeon"]}, "channels[0]"),
    ({"language": "not a tag"}, "language"),
    ({"format": "huge"}, "format"),
    ({"quietHours": {"start": "25:00", "end": "07:00"}}, "quietHours.start"),
    ({"quietHours": {"start": "22:00"}}, "quietHours.end"),
    ({"quietHours": {"start": "22:00", "end": "22:00"}}, "quietHours.end"),
    ({"quietHours": {"start": "22:00", "end": "07:00", "zone": "Mars/Olympus_Mons"}}, "quietHours.zone"),
    ({"optOuts": ["Case Updates"]}, "optOuts[0]"),
    ({"optOuts": ["case_updates", "case_updates"]}, "optOuts[1]"),
])
def test_bad_preferences_are_400_naming_the_field_and_store_nothing(cw_a, authority_a, body, field):
    parent = make_family(cw_a, authority_a)["parents"][0]["id"]
    r = put_prefs(cw_a, parent, body)
    assert r.status_code == 400 and field in fields(r), r.text
    assert cw_a.get(f"/v1/contacts/{parent}/preferences").status_code == 404


def test_another_authoritys_person_and_an_unknown_id_are_404(cw_a, cw_b, authority_a):
    parent = make_family(cw_a, authority_a)["parents"][0]["id"]
    assert put_prefs(cw_b, parent, {"channels": ["email"]}).status_code == 404
    assert put_prefs(cw_a, str(uuid.uuid4()), {"channels": ["email"]}).status_code == 404
    assert put_prefs(cw_a, parent, {"channels": ["email"]}).status_code == 200
    assert cw_b.get(f"/v1/contacts/{parent}/preferences").status_code == 404


def test_a_recipient_is_a_person_or_contact_details_never_both_nor_neither(cw_a, authority_a):
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    parent = make_family(cw_a, authority_a)["parents"][0]["id"]
    both = to_person(authority_a, key, parent, recipient={"personId": parent, "email": "x@example.org"})
    r = cw_a.post("/v1/notifications", both)
    assert r.status_code == 400 and fields(r) == ["recipient.email"], r.text
    r = cw_a.post("/v1/notifications", to_person(authority_a, key, parent, recipient={"language": "en"}))
    assert r.status_code == 400 and fields(r) == ["recipient.personId"], r.text
    r = cw_a.post("/v1/notifications", to_person(authority_a, key, str(uuid.uuid4())))
    assert r.status_code == 400 and fields(r) == ["recipient.personId"], r.text


def test_a_person_is_sent_to_at_the_address_intake_has_when_it_is_sent(providers, cw_a, authority_a, db):
    sink, _ = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    old, new = f"old-{uuid.uuid4().hex[:8]}@example.org", f"new-{uuid.uuid4().hex[:8]}@example.org"
    fam = make_family(cw_a, authority_a, email=old)
    parent = fam["parents"][0]["id"]
    sink.stop()  # the SMTP server is away: the message waits, retried
    try:
        n = send(cw_a, to_person(authority_a, key, parent))
        assert n["recipient"] == {"personId": parent, "language": "so", "format": "easy_read"}, n
        with db.cursor() as c:
            c.execute("SELECT email, phone FROM notify.notifications WHERE id = %s", (n["id"],))
            assert c.fetchone() == (None, None), "no contact detail is copied into notify"
        assert wait_for(lambda: read(cw_a, n["id"])["attempts"], timeout=30), "never tried while the server was away"
        patch_parent_email(cw_a, fam, new)
    finally:
        sink.start()
    got = settled(cw_a, n["id"])
    assert got["status"] == "delivered", got
    msg, = sink.wait_for(n["id"])
    assert str(msg["To"]) == new
    assert not [m for m in sink.all() if str(m["To"]) == old]


def test_a_person_erased_before_it_is_sent_fails_cleanly_without_retrying(providers, cw_a, authority_a):
    sink, _ = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    fam = make_family(cw_a, authority_a)
    second = fam["parents"][1]
    parents = [{**{k: v for k, v in p.items() if k != "id"}, "parentId": p["id"]} for p in fam["parents"]]
    sink.stop()
    try:
        n = send(cw_a, to_person(authority_a, key, second["id"]))
        assert wait_for(lambda: read(cw_a, n["id"])["attempts"], timeout=30)
        # The family is corrected: Omar is taken off (his record erased in intake).
        r = cw_a.s.patch(cw_a.base + f"/v1/families/{fam['id']}", json={"parents": parents[:1]}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        sink.start()
    got = settled(cw_a, n["id"])
    assert got["status"] == "failed", got
    assert "not known to intake" in got["failureReason"] and second["id"] in got["failureReason"], got
    tries = len(got["attempts"])
    assert got["attempts"][-1]["status"] == "permanent_failure"
    assert not sink.for_notification(n["id"])
    # Ended: never tried again.
    assert not wait_for(lambda: len(read(cw_a, n["id"])["attempts"]) > tries, timeout=2)


def test_the_preferences_of_a_person_their_owner_no_longer_knows_are_404(cw_a, authority_a):
    fam = make_family(cw_a, authority_a)
    second = fam["parents"][1]
    r = put_prefs(cw_a, second["id"], {"channels": ["sms", "email"], "language": "pl"})
    assert r.status_code in (200, 201), r.text
    assert cw_a.get(f"/v1/contacts/{second['id']}/preferences").status_code == 200
    parents = [{**{k: v for k, v in p.items() if k != "id"}, "parentId": p["id"]} for p in fam["parents"]]
    r = cw_a.s.patch(cw_a.base + f"/v1/families/{fam['id']}", json={"parents": parents[:1]}, timeout=10)
    assert r.status_code == 200, r.text
    gone = cw_a.get(f"/v1/contacts/{second['id']}/preferences")
    assert gone.status_code == 404, gone.text


def test_an_opt_out_suppresses_what_is_not_critical_and_never_what_is(providers, cw_a, authority_a):
    sink, _ = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    parent = make_family(cw_a, authority_a)["parents"][0]["id"]
    assert put_prefs(cw_a, parent, {"optOuts": ["case_updates"]}).status_code == 200
    quiet = send(cw_a, to_person(authority_a, key, parent))
    loud = send(cw_a, to_person(authority_a, key, parent, critical=True))
    other = send(cw_a, to_person(authority_a, key, parent, category="statutory_notices"))
    got = settled(cw_a, quiet["id"])
    assert got["status"] == "suppressed", got
    assert "opted out of case_updates" in got["failureReason"] and got["attempts"] == [], got
    assert settled(cw_a, loud["id"])["status"] == "delivered"
    assert settled(cw_a, other["id"])["status"] == "delivered"
    assert sink.wait_for(loud["id"]) and sink.wait_for(other["id"])
    assert sink.for_notification(quiet["id"]) == []


def test_an_sms_in_quiet_hours_waits_until_they_end_and_email_does_not(providers, cw_a, authority_a, db):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    parent = make_family(cw_a, authority_a, phone="+44 7700 900777")["parents"][0]["id"]
    zone = "America/New_York"
    now = datetime.datetime.now(ZoneInfo(zone)).replace(second=0, microsecond=0)
    start, end = now - datetime.timedelta(minutes=60), now + datetime.timedelta(minutes=60)
    body = {"channels": ["sms", "email"],
            "quietHours": {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "zone": zone}}
    assert put_prefs(cw_a, parent, body).status_code == 200, body
    sms = send(cw_a, to_person(authority_a, key, parent))
    assert sms["channels"] == ["sms", "email"], sms
    got = wait_for(lambda: read(cw_a, sms["id"]).get("deferred") and read(cw_a, sms["id"]), timeout=30)
    assert got, read(cw_a, sms["id"])
    d = got["deferred"]
    assert (d["zone"], d["localTime"]) == (zone, end.strftime("%Y-%m-%dT%H:%M:00")), d
    until = datetime.datetime.fromisoformat(d["until"].replace("Z", "+00:00"))
    assert until == end.astimezone(datetime.timezone.utc), d
    assert (got["status"], got["attempts"]) == ("pending", []), got
    assert api.posts_for(sms["id"]) == []
    with db.cursor() as c:
        c.execute("SELECT next_attempt_at FROM notify.send_queue WHERE notification_id = %s", (sms["id"],))
        assert c.fetchone()[0] == until
    # Email is never held by quiet hours; a critical SMS is (opt-outs aside).
    mail = send(cw_a, to_person(authority_a, key, parent, channels=["email"]))
    assert settled(cw_a, mail["id"])["status"] == "delivered"
    urgent = send(cw_a, to_person(authority_a, key, parent, critical=True))
    assert wait_for(lambda: read(cw_a, urgent["id"]).get("deferred"), timeout=30), read(cw_a, urgent["id"])
    assert api.posts_for(urgent["id"]) == []


def test_preferences_choose_the_language_and_the_request_wins_where_it_says(providers, cw_a, authority_a):
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    parent = make_family(cw_a, authority_a)["parents"][0]["id"]
    assert put_prefs(cw_a, parent, {"language": "pl", "format": "standard"}).status_code == 200
    n = send(cw_a, to_person(authority_a, key, parent))
    assert (n["language"], n["format"], n["subject"]) == ("pl", "standard", "Wiadomość dla Amina"), n
    n = send(cw_a, to_person(authority_a, key, parent, recipient={"personId": parent, "language": "en"}))
    assert (n["language"], n["subject"]) == ("en", "News for Amina"), n


def test_a_young_persons_own_case_opened_reaches_the_young_person(providers, cw_a, authority_a):
    sink, _ = providers
    put_template(cw_a, authority_a, "case_opened", {"translations": [
        {"language": "en", "subject": "Your case is open, ((name))", "body": "Hello ((name)) ((family_name))."}]})
    address = f"leah-{uuid.uuid4().hex[:8]}@example.org"
    r = cw_a.post("/v1/young-people", young_person_body(authority_a, email=address))
    assert r.status_code == 201, r.text
    yp = r.json()
    r = cw_a.post("/v1/cases", young_case_body(authority_a, yp))
    assert r.status_code == 201, r.text
    case = r.json()
    listed = wait_for(lambda: cw_a.get(f"/v1/notifications?caseId={case['id']}").json()["items"], timeout=30)
    assert listed, "the young person was told nothing"
    n, = listed
    assert n["recipient"]["personId"] == yp["id"] and n["subject"] == "Your case is open, Leah", n
    msg, = sink.wait_for(n["id"])
    assert str(msg["To"]) == address


def test_quiet_hours_that_span_midnight_hold_an_sms_until_the_next_morning(providers, cw_a, authority_a):
    _, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    parent = make_family(cw_a, authority_a, phone="+44 7700 900778")["parents"][0]["id"]
    # A fixed-offset zone in which it is now between 23:00 and 23:59, so that
    # an hour either side runs from one local day into the next.
    utc = datetime.datetime.now(datetime.timezone.utc)
    offset = (23 - utc.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    now = datetime.datetime.now(ZoneInfo(zone)).replace(second=0, microsecond=0)
    start, end = now - datetime.timedelta(minutes=60), now + datetime.timedelta(minutes=60)
    assert start.strftime("%H:%M") > end.strftime("%H:%M") and end.date() > now.date(), (zone, start, end)
    body = {"channels": ["sms"],
            "quietHours": {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "zone": zone}}
    assert put_prefs(cw_a, parent, body).status_code == 200
    sms = send(cw_a, to_person(authority_a, key, parent, critical=True))
    got = wait_for(lambda: read(cw_a, sms["id"]).get("deferred") and read(cw_a, sms["id"]), timeout=30)
    assert got, read(cw_a, sms["id"])
    assert got["deferred"]["localTime"] == end.strftime("%Y-%m-%dT%H:%M:00"), (zone, got["deferred"])
    assert api.posts_for(sms["id"]) == []


def test_a_person_with_a_number_and_no_address_is_sent_an_sms_unless_they_chose(providers, cw_a, authority_a):
    _, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    body = family_body(authority_a)
    number = "+44 7700 900779"
    body["parents"][1]["phone"] = number  # Omar: a phone, no email
    fam = cw_a.post("/v1/families", body).json()
    omar = fam["parents"][1]["id"]
    n = send(cw_a, to_person(authority_a, key, omar))
    assert n["channels"] == ["sms"], n
    assert settled(cw_a, n["id"])["status"] == "delivered"
    msg, = api.sent(n["id"])
    assert msg["to"] == number and msg["body"] == "Parley: hello Amina, your case moved on."
    # Their own choice wins.
    assert put_prefs(cw_a, omar, {"channels": ["email"]}).status_code == 200
    assert send(cw_a, to_person(authority_a, key, omar))["channels"] == ["email"]
