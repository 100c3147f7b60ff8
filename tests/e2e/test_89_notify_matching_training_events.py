"""Notify consumes matching's and training's events: match.offered tells the
supporter an offer waits (nothing of the family but what the offer shows
them), match.accepted tells the family their supporter's given name and
the supporter that the family is theirs, assignment.ended tells the
family; training.expiring reminds a supporter of the course and its expiry
date. Each once (a redelivery sends nothing twice), on the case when there
is one; an authority without the template sends nothing."""
import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest

from conftest import Api, case_body, family_body, london_today, make_client, new_authorities, wait_for
from matching_helpers import make_supporter, put, request_match
from notify_helpers import delivered_to, mail_sink_and_notify, put_template

LONDON = ZoneInfo("Europe/London")


def tmpl(subject, body):
    return {"translations": [{"language": "en", "subject": subject, "body": body}]}


TEMPLATES = {
    "match_offered": tmpl("A family is offered to you", "Dear ((name)), please answer by ((expiresAt))."),
    "supporter_assigned": tmpl("Your supporter", "Dear ((name)), your supporter is ((supporter))."),
    "match_accepted": tmpl("A family is yours", "Dear ((name)), you are now supporting a family."),
    "assignment_ended": tmpl("Support ended", "Dear ((name)), ((supporter)) no longer supports you: ((reason))."),
    "training_expiring": tmpl("Training: ((course))", "Dear ((name)), ((course)) expires on ((expiresOn)) "
                                                      "(((daysLeft)) days)."),
}


@pytest.fixture(scope="module")
def mail():
    yield from mail_sink_and_notify()


@pytest.fixture(scope="module")
def x():
    with_templates, bare = new_authorities(2, "Notify matching test")
    cw = Api(make_client(["caseworker"], [with_templates], name="notify matching caseworker"))
    for key, body in TEMPLATES.items():
        put_template(cw, with_templates, key, body)
    return {"id": with_templates, "cw": cw, "bare": bare,
            "bare_cw": Api(make_client(["caseworker"], [bare], name="notify matching caseworker, no templates"))}


def family_case(cw, authority):
    body = family_body(authority)
    body["parents"] = [{"givenName": "Ana", "familyName": "Family", "email": f"ana-{uuid.uuid4().hex[:6]}@example.org",
                        "preferredLanguage": "en", "hasParentalResponsibility": True, "relationship": "mother"}]
    r = cw.post("/v1/families", body)
    assert r.status_code == 201, r.text
    fam = r.json()
    r = cw.post("/v1/cases", case_body(authority, fam))
    assert r.status_code == 201, r.text
    return fam, r.json()


def notes(cw, case_id, template):
    return [n for n in cw.get(f"/v1/notifications?caseId={case_id}").json()["items"] if n["template"] == template]


def one(mail, cw, case_id, template, email_addr):
    got = wait_for(lambda: notes(cw, case_id, template), timeout=40)
    assert got and [delivered_to(mail, n) for n in got] == [email_addr], got
    return got[0]


def matching_event(db, case_id, type_):
    def taken():
        with db.cursor() as c:
            c.execute("SELECT o.id::text, d.attempts FROM matching.outbox o JOIN matching.outbox_deliveries d"
                      " ON d.event_id = o.id AND d.subscriber = 'notify' WHERE o.subject_id = %s AND o.type = %s"
                      " AND d.delivered_at IS NOT NULL", (case_id, type_))
            return c.fetchone()
    got = wait_for(taken, timeout=40)
    assert got, f"{type_} of {case_id} was not taken by notify"
    return got


def redeliver(db, schema, event_id):
    with db.cursor() as c:
        c.execute(f"SELECT attempts FROM {schema}.outbox_deliveries WHERE event_id = %s AND subscriber = 'notify'",
                  (event_id,))
        attempts = c.fetchone()[0]
        c.execute(f"UPDATE {schema}.outbox_deliveries SET delivered_at = NULL, next_attempt_at = now()"
                  " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))

    def again():
        with db.cursor() as c:
            c.execute(f"SELECT attempts, delivered_at IS NOT NULL FROM {schema}.outbox_deliveries"
                      " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))
            return c.fetchone() == (attempts + 1, True)
    assert wait_for(again, timeout=30), f"the relay did not deliver {event_id} again"


def test_an_offer_tells_the_supporter_and_acceptance_and_ending_tell_the_family(mail, x, db):
    cw, authority = x["cw"], x["id"]
    fam, case = family_case(cw, authority)
    parent = fam["parents"][0]["email"]
    supporter = make_supporter(cw, [authority], givenName="Samira", email=f"samira-{uuid.uuid4().hex[:6]}@example.org")
    mr = request_match(cw, case["id"])
    offer = mr["currentOffer"]
    assert offer["supporterId"] == supporter["id"], mr

    offered = one(mail, cw, case["id"], "match_offered", supporter["email"])
    expires = datetime.datetime.fromisoformat(offer["expiresAt"].replace("Z", "+00:00"))
    assert offered["body"] == f"Dear Samira, please answer by {expires.astimezone(LONDON).strftime('%Y-%m-%d %H:%M')}."
    assert len(mail.wait_for(offered["id"])) == 1
    event_id, _ = matching_event(db, case["id"], "match.offered")
    redeliver(db, "matching", event_id)
    assert len(notes(cw, case["id"], "match_offered")) == 1 and len(mail.for_notification(offered["id"])) == 1

    r = cw.post(f"/v1/offers/{offer['id']}/accept", {})
    assert r.status_code == 200, r.text
    told = one(mail, cw, case["id"], "supporter_assigned", parent)
    assert told["body"] == "Dear Ana, your supporter is Samira."
    assert supporter["familyName"] not in told["body"]
    mine = one(mail, cw, case["id"], "match_accepted", supporter["email"])
    assert mine["body"] == "Dear Samira, you are now supporting a family."
    assert len(mail.wait_for(told["id"])) == 1 and len(mail.wait_for(mine["id"])) == 1

    r = cw.post(f"/v1/assignments/{r.json()['assignmentId']}/end", {"reason": "moved away"})
    assert r.status_code == 200, r.text
    ended = one(mail, cw, case["id"], "assignment_ended", parent)
    assert ended["body"] == "Dear Ana, Samira no longer supports you: moved away."


def test_an_authority_without_the_templates_tells_nobody_of_an_offer(mail, x, db):
    cw, authority = x["bare_cw"], x["bare"]
    fam, case = family_case(cw, authority)
    make_supporter(cw, [authority], email=f"s-{uuid.uuid4().hex[:6]}@example.org")
    mr = request_match(cw, case["id"])
    assert mr["currentOffer"], mr
    event_id, _ = matching_event(db, case["id"], "match.offered")
    assert cw.get(f"/v1/notifications?caseId={case['id']}").json()["items"] == []
    # Taken all the same (claimed): a template written later does not reach it.
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.inbox WHERE event_id = %s", (event_id,))
        assert c.fetchone()[0] == 1


def test_training_expiring_reminds_the_supporter_once(mail, x, db):
    cw, authority = x["cw"], x["id"]
    supporter = make_supporter(cw, [authority], givenName="Tariq", email=f"tariq-{uuid.uuid4().hex[:6]}@example.org")
    code = f"LAW-{uuid.uuid4().hex[:6]}"
    course = cw.post("/v1/courses", {"authorityId": authority, "code": code, "title": "SEND law", "audience": ["supporter"],
                                     "topics": ["EHC plans"], "level": 2, "hours": 6, "validForMonths": 1,
                                     "delivery": "in_person"})
    assert course.status_code == 201, course.text
    course = course.json()
    r = put(cw, "/v1/requirements/supporter", {"authorityId": authority, "courses": [{"courseId": course["id"]}]})
    assert r.status_code == 200, r.text
    done_on = (london_today() - datetime.timedelta(days=5)).isoformat()
    r = cw.post("/v1/completions", {"person": {"supporterId": supporter["id"]}, "courseId": course["id"],
                                    "completedOn": done_on})
    assert r.status_code == 201, r.text

    def expiring():
        with db.cursor() as c:
            c.execute("SELECT o.id::text, o.data FROM training.outbox o JOIN training.outbox_deliveries d"
                      " ON d.event_id = o.id AND d.subscriber = 'notify' WHERE o.subject_id = %s"
                      " AND o.type = 'training.expiring' AND d.delivered_at IS NOT NULL", (supporter["id"],))
            return c.fetchone()
    got = wait_for(expiring, timeout=40)
    assert got, "no training.expiring taken by notify"
    event_id, data = got

    def reminders():
        return [m for m in mail.all() if str(m["To"]) == supporter["email"]]
    assert wait_for(reminders, timeout=40), "the supporter was not reminded"
    (msg,) = reminders()
    assert str(msg["Subject"]) == f"Training: {code}"
    assert msg.get_body(("plain",)).get_content().strip() == (
        f"Dear Tariq, {code} expires on {data['expiresOn']} ({data['daysLeft']} days).")
    redeliver(db, "training", event_id)
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.notifications WHERE source_event = %s", (event_id,))
        assert c.fetchone()[0] == 1
    assert len(reminders()) == 1
