"""Notify end to end: templates, notifications rendered for their
recipient, and email delivered through a real SMTP server (aiosmtpd on
loopback) that the tests read the messages from."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import wait_for
from notify_helpers import TEMPLATE, mail_sink_and_notify, notification_body, parts, put_template, send


@pytest.fixture(scope="module")
def mail():
    yield from mail_sink_and_notify()


def delivered(api, notification_id, timeout=30):
    got = {}

    def done():
        got["n"] = api.get(f"/v1/notifications/{notification_id}").json()
        return got["n"]["status"] != "pending"
    wait_for(done, timeout=timeout)
    return got["n"]


def test_a_polish_reading_parent_gets_the_polish_template(mail, cw_a, authority_a):
    key = put_template(cw_a, authority_a)["key"]
    n = send(cw_a, notification_body(authority_a, key, language="pl-PL"))
    assert (n["status"], n["language"], n["languageFallback"]) == ("pending", "pl", False)
    msg, = mail.wait_for(n["id"])
    assert str(msg["Subject"]) == "Otrzymaliśmy Twoją prośbę, Agnieszka"
    assert msg["Content-Language"] == "pl"
    assert "=?UTF-8?" in msg.as_string(), "a non-ASCII subject is sent RFC 2047-encoded"
    plain, html = parts(msg)
    assert plain.strip() == "Dzień dobry Agnieszka, numer sprawy: R-12."
    assert "<b>Agnieszka</b>" in html
    got = delivered(cw_a, n["id"])
    assert got["status"] == "delivered"
    assert [(a["channel"], a["status"]) for a in got["attempts"]] == [("email", "delivered")]
    assert got["deliveredAt"]


def test_a_missing_translation_falls_back_to_english_and_says_so(mail, cw_a, authority_a):
    key = put_template(cw_a, authority_a)["key"]
    n = send(cw_a, notification_body(authority_a, key, language="so",
                                     recipient={"email": "hodan@example.org", "language": "so",
                                                "format": "easy_read"}))
    assert (n["language"], n["languageFallback"], n["formatFallback"]) == ("en", True, True)
    msg, = mail.wait_for(n["id"])
    assert str(msg["Subject"]) == "We have your request, Agnieszka"
    # A Welsh Easy Read reader gets the Welsh Easy Read translation.
    n = send(cw_a, notification_body(authority_a, key,
                                     recipient={"email": "aled@example.org", "language": "cy", "format": "easy_read"}))
    assert (n["language"], n["format"], n["languageFallback"], n["formatFallback"]) == ("cy", "easy_read", False, False)
    assert parts(mail.wait_for(n["id"])[0])[0].strip() == "Helo Agnieszka. Rhif: R-12."


def test_values_are_html_escaped_in_the_html_part_only(mail, cw_a, authority_a):
    key = put_template(cw_a, authority_a)["key"]
    evil = "<script>alert('x')</script> & \"Sons\""
    n = send(cw_a, notification_body(authority_a, key, data={"name": evil, "ref": "R-1"}))
    plain, html = parts(mail.wait_for(n["id"])[0])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Sons&quot;" in html
    assert evil in plain


def test_a_missing_variable_is_400_naming_it_and_nothing_is_stored(cw_a, authority_a, db):
    key = put_template(cw_a, authority_a)["key"]
    r = cw_a.post("/v1/notifications", notification_body(authority_a, key, data={"name": "Agnieszka"}))
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["data.ref"], r.text
    assert "((ref))" in r.json()["errors"][0]["message"]
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s", (authority_a,))
        assert c.fetchone()[0] == 0
    r = cw_a.post("/v1/notifications", notification_body(authority_a, "no-such-template"))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "template", r.text


def test_a_header_injection_through_the_subject_is_refused(mail, cw_a, authority_a, db):
    key = put_template(cw_a, authority_a)["key"]
    r = cw_a.post("/v1/notifications", notification_body(
        authority_a, key, data={"name": "Ann\r\nBcc: victim@example.org", "ref": "R-1"}))
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "data.name", r.text
    # In the body a line break is only text.
    n = send(cw_a, notification_body(authority_a, key, data={"name": "Ann", "ref": "R-1\r\nBcc: victim@example.org"}))
    msg, = mail.wait_for(n["id"])
    assert msg["Bcc"] is None and str(msg["To"]) == n["recipient"]["email"]
    # A template's own subject must be one line.
    bad = {"translations": [{"language": "en", "subject": "Hi\nBcc: x@example.org", "body": "b"}]}
    r = cw_a.s.put(f"{cw_a.base}/v1/templates/bad-{uuid.uuid4().hex[:6]}", json=bad, timeout=10)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "translations[0].subject", r.text
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s", (authority_a,))
        assert c.fetchone()[0] == 1


def test_mail_that_is_not_critical_carries_list_unsubscribe(mail, cw_a, authority_a):
    key = put_template(cw_a, authority_a)["key"]
    plain = send(cw_a, notification_body(authority_a, key))
    critical = send(cw_a, notification_body(authority_a, key, critical=True, category="statutory_deadline"))
    assert "unsubscribe%20case_updates" in mail.wait_for(plain["id"])[0]["List-Unsubscribe"]
    assert mail.wait_for(critical["id"])[0]["List-Unsubscribe"] is None


def test_an_idempotency_key_makes_one_notification(mail, cw_a, authority_a, db):
    key = put_template(cw_a, authority_a)["key"]
    body, idem = notification_body(authority_a, key), str(uuid.uuid4())
    first = cw_a.post("/v1/notifications", body, headers={"Idempotency-Key": idem})
    again = cw_a.post("/v1/notifications", body, headers={"Idempotency-Key": idem})
    assert first.status_code == again.status_code == 202, again.text
    assert first.headers["Location"] == f"/v1/notifications/{first.json()['id']}"
    assert again.json()["id"] == first.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    mail.wait_for(first.json()["id"])
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s", (authority_a,))
        assert c.fetchone()[0] == 1


def test_a_permanent_smtp_failure_ends_failed_with_the_reason(mail, cw_a, authority_a):
    key = put_template(cw_a, authority_a)["key"]
    n = send(cw_a, notification_body(authority_a, key, email_addr="reject550@example.org"))
    got = delivered(cw_a, n["id"])
    assert got["status"] == "failed", got
    assert "550" in got["failureReason"]
    assert [a["status"] for a in got["attempts"]] == ["permanent_failure"]


def test_a_temporary_smtp_failure_is_retried_with_each_attempt_kept(mail, cw_a, authority_a):
    key = put_template(cw_a, authority_a)["key"]
    n = send(cw_a, notification_body(authority_a, key, email_addr="defer451@example.org"))
    got = {}

    def tried():
        got["n"] = cw_a.get(f"/v1/notifications/{n['id']}").json()
        return len(got["n"]["attempts"]) >= 3
    assert wait_for(tried, timeout=30), got
    assert got["n"]["status"] == "pending"
    assert {a["status"] for a in got["n"]["attempts"]} == {"temporary_failure"}
    assert all("451" in a["error"] for a in got["n"]["attempts"])


@pytest.mark.timeout(180)
def test_smtp_down_for_a_while_then_every_notification_delivered_once(mail, cw_a, authority_a):
    key = put_template(cw_a, authority_a)["key"]
    mail.stop()
    try:
        sent = [send(cw_a, notification_body(authority_a, key))["id"] for _ in range(10)]

        def all_refused():  # each tried at least once against the closed port
            return all(cw_a.get(f"/v1/notifications/{i}").json()["attempts"] for i in sent)
        assert wait_for(all_refused, timeout=30)
        first = cw_a.get(f"/v1/notifications/{sent[0]}").json()
        assert first["status"] == "pending" and first["attempts"][0]["status"] == "temporary_failure", first
    finally:
        mail.start()
    assert wait_for(lambda: all(mail.for_notification(i) for i in sent), timeout=60), \
        f"not delivered after the SMTP server came back: {[i for i in sent if not mail.for_notification(i)]}"
    for i in sent:
        got = delivered(cw_a, i)
        assert got["status"] == "delivered"
        assert got["attempts"][-1]["status"] == "delivered"
        assert len(mail.for_notification(i)) == 1, f"notification {i} was received twice"


def test_a_template_reads_back_and_takes_back_what_it_read(cw_a, authority_a):
    key = f"rt-{uuid.uuid4().hex[:8]}"
    made = put_template(cw_a, authority_a, key)
    assert made["version"] == 1 and len(made["smsLengths"]) == 3
    assert {(s["language"], s["encoding"]) for s in made["smsLengths"]} >= {("en", "gsm_7"), ("pl", "ucs_2")}
    r = cw_a.get(f"/v1/templates/{key}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"' and r.json() == made
    back = r.json()
    back["translations"][0]["subject"] = "Your request, ((name))"
    r = cw_a.s.put(f"{cw_a.base}/v1/templates/{key}", json=back, headers={"If-Match": '"1"'}, timeout=10)
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    r = cw_a.s.put(f"{cw_a.base}/v1/templates/{key}", json=back, headers={"If-Match": '"1"'}, timeout=10)
    assert r.status_code == 412, r.text
    r = cw_a.s.put(f"{cw_a.base}/v1/templates/none-{uuid.uuid4().hex[:6]}", json=TEMPLATE,
                   headers={"If-Match": '"1"'}, timeout=10)
    assert r.status_code == 404, r.text
    no_english = {"translations": [{"language": "pl", "subject": "s", "body": "b"}]}
    r = cw_a.s.put(f"{cw_a.base}/v1/templates/{key}", json=no_english, headers={"If-Match": '"2"'}, timeout=10)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "translations", r.text
    assert cw_a.get(f"/v1/templates/{key}").json()["version"] == 2


def test_another_authoritys_template_and_notification_are_404(cw_a, cw_b, authority_a, authority_b):
    key = put_template(cw_a, authority_a)["key"]
    n = send(cw_a, notification_body(authority_a, key))
    assert cw_b.get(f"/v1/notifications/{n['id']}").status_code == 404
    assert cw_b.get(f"/v1/templates/{key}").status_code == 404
    assert cw_b.get(f"/v1/templates/{key}?authorityId={authority_a}").status_code == 404
    r = cw_b.post("/v1/notifications", notification_body(authority_a, key))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "authorityId", r.text
    # B's own template of the same key is B's alone.
    put_template(cw_b, authority_b, key)
    assert cw_a.get(f"/v1/templates/{key}").json()["authorityId"] == authority_a


def test_a_cases_notifications_are_listed_for_its_caseworker(mail, cw_a, cw_b, authority_a, case_a):
    key = put_template(cw_a, authority_a)["key"]
    ids = [send(cw_a, notification_body(authority_a, key, caseId=case_a["id"]))["id"] for _ in range(3)]
    send(cw_a, notification_body(authority_a, key))  # about no case
    r = cw_a.get(f"/v1/notifications?caseId={case_a['id']}&pageSize=2")
    assert r.status_code == 200, r.text
    page = r.json()
    rest = cw_a.get(f"/v1/notifications?caseId={case_a['id']}&pageToken={page['nextPageToken']}").json()
    assert [x["id"] for x in page["items"] + rest["items"]] == ids
    assert cw_b.get(f"/v1/notifications?caseId={case_a['id']}").json()["items"] == []
    assert cw_a.get("/v1/notifications").status_code == 400


def test_concurrent_puts_of_one_version_change_it_once(cw_a, authority_a):
    key = f"race-{uuid.uuid4().hex[:8]}"
    made = put_template(cw_a, authority_a, key)

    def put(i):
        body = dict(made, translations=[dict(made["translations"][0], subject=f"Version {i}")] +
                    made["translations"][1:])
        return cw_a.s.put(f"{cw_a.base}/v1/templates/{key}", json=body, headers={"If-Match": '"1"'}, timeout=20)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(put, range(8)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [412] * 7, [(r.status_code, r.text[:200]) for r in answers]
    winner = next(r for r in answers if r.status_code == 200).json()
    assert cw_a.get(f"/v1/templates/{key}").json() == winner and winner["version"] == 2


def test_concurrent_puts_making_one_template_make_it_once(cw_a, authority_a, db):
    key = f"new-race-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: cw_a.s.put(f"{cw_a.base}/v1/templates/{key}", json=TEMPLATE, timeout=20),
                                range(8)))
    # Each either made it, replaced it, or met a concurrent change (409, retryable); never an error.
    assert {r.status_code for r in answers} <= {200, 409}, [(r.status_code, r.text[:200]) for r in answers]
    assert any(r.status_code == 200 for r in answers)
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.templates WHERE authority_id = %s AND key = %s", (authority_a, key))
        assert c.fetchone()[0] == 1
