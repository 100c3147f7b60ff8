"""Notify consumes intake's case.signposted, case.stage_changed and
case.deadline_due: each parent with an email address is told, in their
language, from the authority's template, with the event's facts in its
variables; a redelivery sends nothing twice; an authority without the
template sends nothing and the event is still taken. Every message is
listed on its case (GET /v1/notifications?caseId=)."""
import datetime
import uuid

import pytest

from conftest import case_body, family_body, london_today, scale, wait_for
from intake_helpers import agency_body
from notify_helpers import mail_sink_and_notify, parts, put_template

SIGNPOSTED = {"translations": [
    {"language": "en", "subject": "Help for ((child_name))",
     "body": "Dear ((name)), these agencies can help:\n((agencies))\n(\u2713: works in your language)",
     "html": "<p>Dear ((name)), these agencies can help:</p><pre>((agencies))</pre>"},
    {"language": "pl", "subject": "Pomoc dla ((child_name))",
     "body": "Drogi/a ((name)), te organizacje mogą pomóc:\n((agencies))\n(\u2713: pracuje w Twoim języku)",
     "html": "<p>Drogi/a ((name)), te organizacje mogą pomóc:</p><pre>((agencies))</pre>"},
]}
DRAFT = {"translations": [
    {"language": "en", "subject": "The draft plan for ((child_name))",
     "body": "Dear ((name)), the draft was issued on ((on)). Please reply by ((respondBy)): 15 days."},
    {"language": "pl", "subject": "Projekt planu dla ((child_name))",
     "body": "Drogi/a ((name)), projekt wydano ((on)). Odpowiedz do ((respondBy)) (15 dni)."},
]}
DEADLINE = {"translations": [
    {"language": "en", "subject": "A deadline for you: ((dueOn))",
     "body": "Dear ((name)), ((kind)) is due on ((dueOn)) (((daysRemaining)) days). The rule: ((rule))"},
    {"language": "pl", "subject": "Termin: ((dueOn))",
     "body": "Drogi/a ((name)), termin (((kind))) mija ((dueOn)). Przepis: ((rule))"},
]}


@pytest.fixture(scope="module")
def mail():
    yield from mail_sink_and_notify()


def family(cw, authority, need=None):
    """A Polish-reading mother and an English-reading father, both with an
    email address, and a third parent without one."""
    body = family_body(authority)
    body["parents"] = [
        {"givenName": "Agnieszka", "familyName": "Nowak", "email": f"agnieszka-{uuid.uuid4().hex[:6]}@example.org",
         "preferredLanguage": "pl", "hasParentalResponsibility": True, "relationship": "mother"},
        {"givenName": "Dave", "familyName": "Nowak", "email": f"dave-{uuid.uuid4().hex[:6]}@example.org",
         "preferredLanguage": "en", "hasParentalResponsibility": True, "relationship": "father"},
        {"givenName": "Ewa", "familyName": "Nowak", "hasParentalResponsibility": True, "relationship": "other"},
    ]
    if need:
        body["children"][0]["needs"] = [need]
    r = cw.post("/v1/families", body)
    assert r.status_code == 201, r.text
    return r.json()


def open_case(cw, authority, need=None):
    fam = family(cw, authority, need)
    r = cw.post("/v1/cases", case_body(authority, fam))
    assert r.status_code == 201, r.text
    return fam, r.json()


def stage(cw, case, name, on):
    r = cw.post(f"/v1/cases/{case['id']}/stages", {"stage": name, "on": on})
    assert r.status_code == 201, r.text


def notifications(cw, case_id, template):
    items = cw.get(f"/v1/notifications?caseId={case_id}").json()["items"]
    return [n for n in items if n["template"] == template]


def events(db, case_id, type_):
    """[(event id, attempts, delivered, data)] of the case's events of that type to notify."""
    with db.cursor() as c:
        c.execute("SELECT o.id::text, d.attempts, d.delivered_at IS NOT NULL, o.data FROM intake.outbox o"
                  " JOIN intake.outbox_deliveries d ON d.event_id = o.id AND d.subscriber = 'notify'"
                  " WHERE o.subject_id = %s AND o.type = %s ORDER BY o.seq", (case_id, type_))
        return c.fetchall()


def delivered(db, case_id, type_, n=1):
    got = wait_for(lambda: len([e for e in events(db, case_id, type_) if e[2]]) >= n, timeout=30)
    assert got, f"{type_} of case {case_id} was not taken by notify: {events(db, case_id, type_)}"
    return events(db, case_id, type_)


def sent_to_parents(cw, fam, case_id, template):
    """The notifications of the case from template, once one reached each
    parent with an email address: {email: notification}."""
    emails = {p["email"] for p in fam["parents"] if p.get("email")}
    got = wait_for(lambda: len(notifications(cw, case_id, template)) == len(emails)
                   and notifications(cw, case_id, template), timeout=30)
    assert got, notifications(cw, case_id, template)
    # contacts: each parent is named by id, their address read from intake when it is sent.
    email_of = {p["id"]: p.get("email") for p in fam["parents"]}
    by_email = {email_of[n["recipient"]["personId"]]: n for n in got}
    assert set(by_email) == emails
    return by_email


def redeliver_changes_nothing(db, mail, cw, case_id, event_id, template):
    """The relay sends the event again (an acknowledgement lost): nothing new
    is queued or sent."""
    before = notifications(cw, case_id, template)
    with db.cursor() as c:
        c.execute("SELECT attempts FROM intake.outbox_deliveries WHERE event_id = %s AND subscriber = 'notify'",
                  (event_id,))
        attempts = c.fetchone()[0]
        c.execute("UPDATE intake.outbox_deliveries SET delivered_at = NULL, next_attempt_at = now()"
                  " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))

    def again():
        with db.cursor() as c:
            c.execute("SELECT attempts, delivered_at IS NOT NULL FROM intake.outbox_deliveries"
                      " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))
            return c.fetchone() == (attempts + 1, True)
    assert wait_for(again, timeout=30), f"the relay did not deliver {event_id} to notify again"
    assert [n["id"] for n in notifications(cw, case_id, template)] == [n["id"] for n in before]
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.inbox WHERE event_id = %s", (event_id,))
        assert c.fetchone()[0] == 1
        c.execute("SELECT count(*) FROM notify.notifications WHERE source_event = %s", (event_id,))
        assert c.fetchone()[0] == len(before)
    assert all(len(mail.for_notification(n["id"])) == 1 for n in before)


def test_signposted_agencies_reach_each_parent_in_their_language_once(mail, admin, cw_a, cw_b, authority_a,
                                                                        authority_b, db):
    put_template(cw_a, authority_a, "case_signposted", SIGNPOSTED)
    need = f"rare-{uuid.uuid4().hex[:6]}"
    polish = admin.post("/v1/agencies", agency_body([authority_a, authority_b], name="Rodzice & Dzieci",
                                                    kind="voluntary", needs=[need], languages=["pl"])).json()
    french = admin.post("/v1/agencies", agency_body([authority_a, authority_b], name="Aide Familles",
                                                    kind="parent_carer_forum", needs=[need], languages=["fr"],
                                                    contact={"phone": "020 7946 0999"})).json()
    assert "id" in polish and "id" in french, (polish, french)
    fam, case = open_case(cw_a, authority_a, need)
    stage(cw_a, case, "draft_plan_issued", "2026-03-02")  # signposts both automatically
    (event_id, _, _, data), = delivered(db, case["id"], "case.signposted")
    assert {s["agencyId"]: s["servesLanguage"] for s in data["signposts"]} == {polish["id"]: True, french["id"]: False}

    sent = sent_to_parents(cw_a, fam, case["id"], "case_signposted")
    pl = sent[fam["parents"][0]["email"]]
    en = sent[fam["parents"][1]["email"]]
    assert (pl["language"], pl["subject"], en["language"]) == ("pl", "Pomoc dla Sami", "en"), (pl, en)
    lines = ["\u2713 Rodzice & Dzieci (voluntary): help@example.org, 020 7946 0001, https://example.org",
             "\u2013 Aide Familles (parent carer forum): 020 7946 0999"]
    assert pl["body"] == ("Drogi/a Agnieszka, te organizacje mogą pomóc:\n" + "\n".join(lines)
                          + "\n(\u2713: pracuje w Twoim języku)"), pl["body"]
    for n, parent in ((pl, fam["parents"][0]), (en, fam["parents"][1])):
        msg = mail.wait_for(n["id"])
        assert len(msg) == 1 and str(msg[0]["To"]) == parent["email"]
        plain, html = parts(msg[0])
        assert "\n".join(lines) in plain.replace("\r\n", "\n")
        assert "Rodzice &amp; Dzieci" in html and "Rodzice & Dzieci" not in html
    assert str(mail.wait_for(pl["id"])[0]["Subject"]) == "Pomoc dla Sami"

    redeliver_changes_nothing(db, mail, cw_a, case["id"], event_id, "case_signposted")

    # Authority B has no case_signposted template: nothing sent, the event taken.
    fam_b, case_b = open_case(cw_b, authority_b, need)
    stage(cw_b, case_b, "draft_plan_issued", "2026-03-02")
    delivered(db, case_b["id"], "case.signposted")
    assert cw_b.get(f"/v1/notifications?caseId={case_b['id']}").json()["items"] == []


def test_a_draft_plan_explains_the_15_day_window_once_and_other_stages_say_nothing(mail, cw_a, cw_b, authority_a,
                                                                                  authority_b, db):
    put_template(cw_a, authority_a, "draft_plan_issued", DRAFT)
    fam, case = open_case(cw_a, authority_a)
    stage(cw_a, case, "assessment_requested", "2026-01-05")
    stage(cw_a, case, "draft_plan_issued", "2026-03-02")
    changes = delivered(db, case["id"], "case.stage_changed", n=2)
    sent = sent_to_parents(cw_a, fam, case["id"], "draft_plan_issued")
    pl, en = sent[fam["parents"][0]["email"]], sent[fam["parents"][1]["email"]]
    assert pl["body"] == "Drogi/a Agnieszka, projekt wydano 2026-03-02. Odpowiedz do 2026-03-17 (15 dni)."
    assert en["body"] == "Dear Dave, the draft was issued on 2026-03-02. Please reply by 2026-03-17: 15 days."
    assert pl["critical"] and pl["category"] == "statutory_notices"
    for n in (pl, en):
        msg = mail.wait_for(n["id"])
        assert len(msg) == 1 and msg[0]["List-Unsubscribe"] is None  # a statutory notice
        assert n["body"] in parts(msg[0])[0].replace("\r\n", "\n")
    # Only the draft plan told the family: assessment_requested sent nothing.
    assert len(cw_a.get(f"/v1/notifications?caseId={case['id']}").json()["items"]) == 2

    draft_event = changes[1][0]
    assert changes[1][3]["stage"] == "draft_plan_issued"
    redeliver_changes_nothing(db, mail, cw_a, case["id"], draft_event, "draft_plan_issued")

    fam_b, case_b = open_case(cw_b, authority_b)
    stage(cw_b, case_b, "draft_plan_issued", "2026-03-02")
    delivered(db, case_b["id"], "case.stage_changed")
    assert cw_b.get(f"/v1/notifications?caseId={case_b['id']}").json()["items"] == []


@pytest.mark.parametrize("on, respond_by", [("2026-01-20", "2026-02-04"), ("2024-02-20", "2024-03-06"),
                                             ("2025-12-20", "2026-01-04")])
def test_the_window_to_respond_runs_across_a_month_end(mail, cw_a, authority_a, db, on, respond_by):
    put_template(cw_a, authority_a, "draft_plan_issued", DRAFT)
    fam, case = open_case(cw_a, authority_a)
    stage(cw_a, case, "draft_plan_issued", on)
    sent = sent_to_parents(cw_a, fam, case["id"], "draft_plan_issued")
    en = sent[fam["parents"][1]["email"]]
    assert en["body"] == f"Dear Dave, the draft was issued on {on}. Please reply by {respond_by}: 15 days."
    assert respond_by in parts(mail.wait_for(en["id"])[0])[0]


@pytest.mark.timeout(240)
def test_a_deadline_the_family_owes_reminds_the_parents_and_the_authoritys_tells_nobody(mail, cw_a, cw_b,
                                                                                       authority_a, authority_b, db):
    put_template(cw_a, authority_a, "deadline_due", DEADLINE)
    today = london_today()
    # The draft plan issued 10 days ago: the family's 15 days end in 5.
    fam, ours = open_case(cw_a, authority_a)
    stage(cw_a, ours, "draft_plan_issued", (today - datetime.timedelta(days=10)).isoformat())
    # Requested 40 days ago: the authority's decision is due in 2 days.
    _, theirs = open_case(cw_a, authority_a)
    stage(cw_a, theirs, "assessment_requested", (today - datetime.timedelta(days=40)).isoformat())
    # Authority B has no deadline_due template.
    _, no_template = open_case(cw_b, authority_b)
    stage(cw_b, no_template, "draft_plan_issued", (today - datetime.timedelta(days=10)).isoformat())
    try:
        scale("intake", 2, env={"PARLEY_DEADLINE_SWEEP_MS": "100"})  # the second sweeps at once
        got = [delivered(db, c["id"], "case.deadline_due") for c in (ours, theirs, no_template)]
    finally:
        scale("intake", 1)
    (event_id, _, _, data), = got[0]
    assert (data["party"], data["kind"]) == ("family", "draft_plan_response"), data
    due = (today + datetime.timedelta(days=5)).isoformat()
    sent = sent_to_parents(cw_a, fam, ours["id"], "deadline_due")
    pl, en = sent[fam["parents"][0]["email"]], sent[fam["parents"][1]["email"]]
    assert pl["subject"] == f"Termin: {due}" and pl["language"] == "pl"
    assert pl["body"] == f"Drogi/a Agnieszka, termin (draft plan response) mija {due}. Przepis: {data['rule']}"
    assert en["body"] == (f"Dear Dave, draft plan response is due on {due} (5 days). The rule: {data['rule']}")
    assert "15 calendar days" in data["rule"]
    assert pl["critical"] and en["critical"]
    for n in (pl, en):
        assert len(mail.wait_for(n["id"])) == 1
    redeliver_changes_nothing(db, mail, cw_a, ours["id"], event_id, "deadline_due")

    # The authority's deadline: taken, and no family message.
    assert got[1][0][3]["party"] == "authority"
    assert notifications(cw_a, theirs["id"], "deadline_due") == []
    # No template: taken, nothing sent.
    assert got[2][0][3]["party"] == "family"
    assert cw_b.get(f"/v1/notifications?caseId={no_template['id']}").json()["items"] == []
