"""SMS through a GOV.UK Notify-compatible API, and channel failover, end to
end: notify sends to a local stand-in of the Notify API
(notify_api_stand_in.py) that checks every request's JWT, and to a real SMTP
server (aiosmtpd, notify_helpers.MailSink) for email."""
import json
import uuid

import pytest

from conftest import wait_for
from notify_api_stand_in import b64url_decode
from notify_helpers import mail_sink_stand_in_and_notify, notification_body, put_template, send

TEMPLATE = {
    "translations": [
        {"language": "en", "subject": "We have your request, ((name))",
         "body": "Hello ((name)), your case reference is ((ref)).",
         "sms": "Parley: hello ((name)), your case is ((ref))."},
        {"language": "pl", "subject": "Otrzymaliśmy Twoją prośbę, ((name))",
         "body": "Dzień dobry ((name)), numer sprawy: ((ref))."},
    ]
}


@pytest.fixture(scope="module")
def providers():
    yield from mail_sink_stand_in_and_notify()


def phone():
    return f"+44 7700 9{uuid.uuid4().int % 100000:05d}"


def sms_body(authority, key, number, channels=("sms",), email_addr=None, language="en"):
    recipient = {"phone": number, "language": language}
    if email_addr:
        recipient["email"] = email_addr
    return notification_body(authority, key, recipient=recipient, channels=list(channels))


def settled(api, notification_id, timeout=30):
    got = {}

    def done():
        got["n"] = api.get(f"/v1/notifications/{notification_id}").json()
        return got["n"]["status"] != "pending"
    wait_for(done, timeout=timeout)
    return got["n"]


def attempts(n):
    return [(a["channel"], a["status"]) for a in n["attempts"]]


def test_an_sms_is_sent_with_a_valid_jwt_and_is_delivered_after_polling(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    number = phone()
    n = send(cw_a, sms_body(authority_a, key, number))
    assert (n["channel"], n["channels"], n["status"]) == ("sms", ["sms"], "pending"), n
    assert (n["smsText"], n["smsEncoding"], n["smsSegments"]) == (
        "Parley: hello Agnieszka, your case is R-12.", "gsm_7", 1)
    got = settled(cw_a, n["id"])
    assert got["status"] == "delivered", got
    msg, = api.sent(n["id"])
    assert (msg["to"], msg["body"], msg["type"]) == (number, "Parley: hello Agnieszka, your case is R-12.", "sms")
    assert attempts(got) == [("sms", "delivered")]
    provider_id = got["attempts"][0]["providerId"]
    assert api.messages[provider_id] is msg, "the attempt names Notify's id of the message"
    assert msg["status"] == "delivered", "delivered only once Notify said so, by polling"
    assert not api.auth_failures, api.auth_failures
    claims = [json.loads(b64url_decode(t.split(".")[1])) for t in api.tokens]
    assert claims and {c["iss"] for c in claims} == {api.service_id}


def test_a_polish_sms_without_an_sms_text_sends_the_plain_body_as_ucs2(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    n = send(cw_a, sms_body(authority_a, key, phone(), language="pl"))
    assert (n["language"], n["smsEncoding"], n["smsSegments"]) == ("pl", "ucs_2", 1), n
    assert settled(cw_a, n["id"])["status"] == "delivered"
    assert api.sent(n["id"])[0]["body"] == "Dzień dobry Agnieszka, numer sprawy: R-12."


def test_an_sms_without_a_phone_number_is_400_naming_it(providers, cw_a, authority_a, db):
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    body = notification_body(authority_a, key, recipient={"email": "a@example.org"}, channels=["sms", "email"])
    r = cw_a.post("/v1/notifications", body)
    assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["recipient.phone"], r.text
    r = cw_a.post("/v1/notifications", notification_body(authority_a, key, recipient={"phone": phone()}))
    assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["recipient.email"], r.text
    r = cw_a.post("/v1/notifications", sms_body(authority_a, key, phone(), channels=("sms", "sms")))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "channels[1]", r.text
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s", (authority_a,))
        assert c.fetchone()[0] == 0


def test_an_sms_the_provider_rejects_permanently_is_sent_by_email_instead(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    number = phone()
    api.rejected.add(number)
    n = send(cw_a, sms_body(authority_a, key, number, channels=("sms", "email"), email_addr="agnieszka@example.org"))
    msg, = sink.wait_for(n["id"])
    assert str(msg["To"]) == "agnieszka@example.org"
    got = settled(cw_a, n["id"])
    assert (got["status"], got["channel"], got["channels"]) == ("delivered", "email", ["sms", "email"]), got
    assert attempts(got) == [("sms", "permanent_failure"), ("email", "delivered")]
    assert "400" in got["attempts"][0]["error"] and "ValidationError" in got["attempts"][0]["error"], got
    assert [p[2] for p in api.posts_for(n["id"])] == [400]


def test_a_permanent_failure_notify_reports_later_moves_to_email(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    number = phone()
    api.final[number] = "permanent-failure"
    n = send(cw_a, sms_body(authority_a, key, number, channels=("sms", "email"), email_addr="p@example.org"))
    sink.wait_for(n["id"])
    got = settled(cw_a, n["id"])
    assert attempts(got) == [("sms", "permanent_failure"), ("email", "delivered")], got
    assert got["attempts"][0]["error"] == "Notify: permanent-failure"
    assert api.messages[got["attempts"][0]["providerId"]]["reference"] == n["id"]


def test_when_every_channel_fails_the_notification_fails_with_the_reason(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    number = phone()
    api.rejected.add(number)
    n = send(cw_a, sms_body(authority_a, key, number, channels=("sms", "email"),
                            email_addr="reject550@example.org"))
    got = settled(cw_a, n["id"])
    assert got["status"] == "failed", got
    assert attempts(got) == [("sms", "permanent_failure"), ("email", "permanent_failure")]
    assert "every channel failed" in got["failureReason"] and "550" in got["failureReason"], got
    assert not sink.for_notification(n["id"])


def test_a_temporary_failure_is_retried_on_the_same_channel(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    number = phone()
    api.fail_next[number] = 2
    n = send(cw_a, sms_body(authority_a, key, number, channels=("sms", "email"), email_addr="t@example.org"))
    got = settled(cw_a, n["id"])
    assert got["status"] == "delivered", got
    assert attempts(got) == [("sms", "temporary_failure"), ("sms", "temporary_failure"), ("sms", "delivered")]
    assert all("500" in a["error"] for a in got["attempts"][:2]), got
    assert [p[2] for p in api.posts_for(n["id"])] == [500, 500, 201]
    assert not sink.for_notification(n["id"]), "a temporary failure does not move to the next channel"


def test_a_temporary_failure_notify_reports_later_is_sent_again(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    number = phone()
    api.final[number] = "temporary-failure"
    n = send(cw_a, sms_body(authority_a, key, number))

    def twice():
        return len(api.sent(n["id"])) >= 2
    assert wait_for(twice, timeout=30), api.posts_for(n["id"])
    api.final[number] = "delivered"
    got = {}

    def delivered():
        got["n"] = cw_a.get(f"/v1/notifications/{n['id']}").json()
        return got["n"]["status"] == "delivered"
    # Each later message ends as the stand-in now says: delivered.
    assert wait_for(delivered, timeout=60), got
    statuses = [a["status"] for a in got["n"]["attempts"]]
    assert statuses[-1] == "delivered" and set(statuses[:-1]) == {"temporary_failure"}, statuses
    assert all(a["channel"] == "sms" for a in got["n"]["attempts"])
