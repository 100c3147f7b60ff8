"""Notify consumes case.opened from intake: each parent with an email
address is told, in their language and format, with their contact details
read from intake when the event is handled; a redelivery sends nothing
twice."""
import uuid

import pytest

from conftest import case_body, family_body, stack, wait_for
from notify_helpers import mail_sink_and_notify, notify_env, put_template, restart_notify

ACK = {"translations": [
    {"language": "en", "subject": "We have opened a case for ((child_name))",
     "body": "Dear ((name)) ((family_name)), we have opened a case for ((child_name)). We will call you soon."},
    {"language": "en", "format": "easy_read", "subject": "Your case is open",
     "body": "Hello ((name)). We will help you and ((child_name)). We will phone you."},
    {"language": "pl", "subject": "Otworzyliśmy sprawę: ((child_name))",
     "body": "Drogi/a ((name)), otworzyliśmy sprawę dla ((child_name)). Wkrótce zadzwonimy."},
]}


@pytest.fixture(scope="module")
def mail():
    yield from mail_sink_and_notify()


def family(cw, authority, emails):
    """Three parents: a Polish reader, one who needs Easy Read (in English),
    and one without an email address."""
    body = family_body(authority)
    body["parents"] = [
        {"givenName": "Agnieszka", "familyName": "Nowak", "email": emails[0], "preferredLanguage": "pl",
         "hasParentalResponsibility": True, "relationship": "mother"},
        {"givenName": "Dave", "familyName": "Nowak", "email": emails[1], "preferredLanguage": "en",
         "communicationNeeds": ["easy_read"], "hasParentalResponsibility": True, "relationship": "father"},
        {"givenName": "Ewa", "familyName": "Nowak", "hasParentalResponsibility": True, "relationship": "other"},
    ]
    r = cw.post("/v1/families", body)
    assert r.status_code == 201, r.text
    return r.json()


def notifications(cw, case_id):
    return cw.get(f"/v1/notifications?caseId={case_id}").json()["items"]


def event_of(db, case_id):
    with db.cursor() as c:
        c.execute("SELECT o.id::text, d.attempts, d.delivered_at IS NOT NULL FROM intake.outbox o"
                  " JOIN intake.outbox_deliveries d ON d.event_id = o.id AND d.subscriber = 'notify'"
                  " WHERE o.subject_id = %s AND o.type = 'case.opened'", (case_id,))
        return c.fetchone()


def test_each_parent_is_told_the_case_is_open_in_their_language_and_format_once(mail, cw_a, authority_a, db):
    put_template(cw_a, authority_a, "case_opened", ACK)
    emails = [f"agnieszka-{uuid.uuid4().hex[:6]}@example.org", f"dave-{uuid.uuid4().hex[:6]}@example.org"]
    fam = family(cw_a, authority_a, emails)
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    sent = wait_for(lambda: len(notifications(cw_a, case["id"])) == 2 and notifications(cw_a, case["id"]), timeout=30)
    assert sent, notifications(cw_a, case["id"])
    # contacts: each parent is named by id, their address read from intake when it is sent.
    email_of = {p["id"]: p.get("email") for p in fam["parents"]}
    by_email = {email_of[n["recipient"]["personId"]]: n for n in sent}
    assert set(by_email) == set(emails)
    pl, easy = by_email[emails[0]], by_email[emails[1]]
    assert (pl["language"], pl["format"], pl["subject"]) == ("pl", "standard", "Otworzyliśmy sprawę: Sami")
    assert (easy["language"], easy["format"], easy["subject"]) == ("en", "easy_read", "Your case is open")
    assert easy["body"] == "Hello Dave. We will help you and Sami. We will phone you."
    for n in sent:
        got = mail.wait_for(n["id"])
        assert len(got) == 1 and str(got[0]["To"]) == email_of[n["recipient"]["personId"]]

    # The relay sends the event again (an acknowledgement lost): nothing new.
    event_id, attempts, delivered = event_of(db, case["id"])
    assert delivered
    with db.cursor() as c:
        c.execute("UPDATE intake.outbox_deliveries SET delivered_at = NULL, next_attempt_at = now()"
                  " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))
    assert wait_for(lambda: event_of(db, case["id"])[1:] == (attempts + 1, True), timeout=30), event_of(db, case["id"])
    assert len(notifications(cw_a, case["id"])) == 2
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.inbox WHERE event_id = %s", (event_id,))
        assert c.fetchone()[0] == 1
        c.execute("SELECT count(*) FROM notify.notifications WHERE source_event = %s", (event_id,))
        assert c.fetchone()[0] == 2
    assert all(len(mail.for_notification(n["id"])) == 1 for n in sent)


def test_contact_details_are_read_from_intake_when_the_event_is_handled(mail, cw_a, authority_a, db):
    put_template(cw_a, authority_a, "case_opened", ACK)
    old, new = f"old-{uuid.uuid4().hex[:6]}@example.org", f"new-{uuid.uuid4().hex[:6]}@example.org"
    fam = family(cw_a, authority_a, [old, f"x-{uuid.uuid4().hex[:6]}@example.org"])
    # notify is away while the case is opened and the address corrected.
    stack("stop", "notify")
    try:
        case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
        parents = [{**{k: v for k, v in p.items() if k != "id"}, "parentId": p["id"]} for p in fam["parents"]]
        parents[0]["email"] = new
        r = cw_a.s.patch(cw_a.base + f"/v1/families/{fam['id']}", json={"parents": parents}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        restart_notify(1, notify_env(mail))
    sent = wait_for(lambda: len(notifications(cw_a, case["id"])) == 2 and notifications(cw_a, case["id"]), timeout=60)
    assert sent, notifications(cw_a, case["id"])
    to = {str(m["To"]) for n in sent for m in mail.wait_for(n["id"])}
    assert new in to and old not in to


def test_an_authority_without_the_template_sends_nothing_and_takes_the_event(cw_a, authority_a, db):
    fam = family(cw_a, authority_a, ["a@example.org", "b@example.org"])
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    assert wait_for(lambda: event_of(db, case["id"])[2], timeout=30), event_of(db, case["id"])
    assert notifications(cw_a, case["id"]) == []
