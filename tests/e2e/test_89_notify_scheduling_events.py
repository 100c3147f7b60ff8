"""Notify consumes scheduling's events (issue 14, items 3, 5 and 6): an
appointment booked, rescheduled and cancelled sends each person who can be
reached (the case's parent from intake, the supporter from matching, a
participant outside Parley by their own email) an email invitation whose
text/calendar part (method=REQUEST, then CANCEL) is scheduling's own: one
UID throughout, SEQUENCE raised. reminder_due reminds the same people; a
booking promoted from a session's waiting list is told it has a seat; a
cancelled session tells every booking. A redelivery sends nothing twice;
an authority without the template sends nothing."""
import datetime
import uuid
from zoneinfo import ZoneInfo

import icalendar
import pytest

from conftest import Api, case_body, family_body, make_client, new_authorities, stack, wait_for
from matching_helpers import make_supporter
from notify_helpers import delivered_to, mail_sink_and_notify, notify_env, put_template, restart_notify
from young_helpers import young_case_body, young_person_body

LONDON = ZoneInfo("Europe/London")


def tmpl(subject, body):
    return {"translations": [{"language": "en", "subject": subject, "body": body},
                             {"language": "pl", "subject": "PL: " + subject, "body": "PL: " + body}]}


INVITATION = tmpl("Invitation: ((title))", "Dear ((name)), a ((kind)) on ((start)) to ((end)) (((zone))) at ((location)).")
RESCHEDULED = tmpl("Moved: ((title))", "Dear ((name)), the ((kind)) is now on ((start)) at ((location)).")
CANCELLED = tmpl("Cancelled: ((title))", "Dear ((name)), the ((kind)) on ((start)) is cancelled: ((reason)).")
REMINDER = tmpl("Reminder: ((title))", "Dear ((name)), ((title)) starts ((start)) at ((location)) "
                                       "(((minutesBefore)) minutes).")
PLACE = tmpl("A seat for you: ((title))", "Dear ((name)), a seat at ((title)) on ((start)) is yours: ((location)).")
SESSION_CANCELLED = tmpl("Cancelled: ((title))", "Dear ((name)), ((title)) on ((start)) is cancelled: ((reason)).")


@pytest.fixture(scope="module")
def mail():
    yield from mail_sink_and_notify()


@pytest.fixture(scope="module")
def x():
    """An authority of its own, with every template, and one without any."""
    with_templates, bare = new_authorities(2, "Notify scheduling test")
    cw = Api(make_client(["caseworker"], [with_templates], name="notify scheduling caseworker"))
    for key, body in [("appointment_invitation", INVITATION), ("appointment_rescheduled", RESCHEDULED),
                      ("appointment_cancelled", CANCELLED), ("appointment_reminder", REMINDER),
                      ("session_place_offered", PLACE), ("session_cancelled", SESSION_CANCELLED)]:
        put_template(cw, with_templates, key, body)
    bare_cw = Api(make_client(["caseworker"], [bare], name="notify scheduling caseworker, no templates"))
    return {"id": with_templates, "cw": cw, "bare": bare, "bare_cw": bare_cw}


def at(delta):
    return (datetime.datetime.now(datetime.timezone.utc) + delta).replace(microsecond=0)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def local(t):
    return t.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


def family_case(cw, authority):
    """A family with a Polish-reading mother who has an email address and a
    father who has none; a case."""
    body = family_body(authority)
    body["parents"] = [
        {"givenName": "Agnieszka", "familyName": "Nowak", "email": f"agnieszka-{uuid.uuid4().hex[:6]}@example.org",
         "preferredLanguage": "pl", "hasParentalResponsibility": True, "relationship": "mother"},
        {"givenName": "Dave", "familyName": "Nowak", "hasParentalResponsibility": True, "relationship": "father"},
    ]
    r = cw.post("/v1/families", body)
    assert r.status_code == 201, r.text
    fam = r.json()
    r = cw.post("/v1/cases", case_body(authority, fam))
    assert r.status_code == 201, r.text
    return fam, r.json()


def book(cw, authority, case_id, supporter_id, school_email, start, end):
    r = cw.s.put(f"{cw.base}/v1/calendars/{supporter_id}/availability", timeout=10,
                 json={"authorityId": authority, "ownerKind": "supporter"})
    assert r.status_code == 200, r.text
    r = cw.post("/v1/appointments", {
        "authorityId": authority, "caseId": case_id, "kind": "annual_review", "start": rfc3339(start),
        "end": rfc3339(end), "zone": "Europe/London", "title": "Annual review",
        "location": {"kind": "in_person", "address": "Riverside School, 1 Mill Lane"},
        "participants": [{"kind": "supporter", "calendarOwnerId": supporter_id, "name": "Sam Supporter"},
                         {"kind": "parent", "name": "Agnieszka Nowak", "role": "chair"},
                         {"kind": "school", "name": "Riverside SENCO", "email": school_email, "role": "optional"}]})
    assert r.status_code == 201, r.text
    return r.json()


def notes(cw, case_id, template):
    items = cw.get(f"/v1/notifications?caseId={case_id}").json()["items"]
    return [n for n in items if n["template"] == template]


def sent(mail, cw, case_id, template, emails):
    got = wait_for(lambda: len(notes(cw, case_id, template)) >= len(emails) and notes(cw, case_id, template),
                   timeout=40)
    assert got, f"{template}: {notes(cw, case_id, template)}"
    by = {delivered_to(mail, n): n for n in got}
    assert set(by) == set(emails), by
    return by


def calendar_of(msg):
    """The message's text/calendar alternative and invite.ics attachment."""
    cal = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    att = [p for p in msg.walk() if p.get_filename() == "invite.ics"]
    assert len(cal) == 1 and len(att) == 1, [p.get_content_type() for p in msg.walk()]
    assert cal[0].get_param("charset").upper() == "UTF-8"
    assert msg.get_content_type() == "multipart/mixed"
    alt = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alt.iter_parts()][-1] == "text/calendar"
    assert att[0].get_content() in (cal[0].get_content(), cal[0].get_content().encode())
    return cal[0].get_param("method"), icalendar.Calendar.from_ical(cal[0].get_content())


def invitations(mail, by):
    """{email: (content-type method, calendar, its VEVENT)} of each delivered message."""
    out = {}
    for email_addr, n in by.items():
        got = mail.wait_for(n["id"])
        assert len(got) == 1 and str(got[0]["To"]) == email_addr
        method, cal = calendar_of(got[0])
        out[email_addr] = (method, cal, next(c for c in cal.walk("VEVENT")))
    return out


def outbox(db, subject, type_):
    with db.cursor() as c:
        c.execute("SELECT o.id::text, d.attempts, d.delivered_at IS NOT NULL FROM scheduling.outbox o"
                  " JOIN scheduling.outbox_deliveries d ON d.event_id = o.id AND d.subscriber = 'notify'"
                  " WHERE o.subject_id = %s AND o.type = %s ORDER BY o.seq", (subject, type_))
        return c.fetchall()


def delivered(db, subject, type_):
    got = wait_for(lambda: [e for e in outbox(db, subject, type_) if e[2]], timeout=40)
    assert got, f"{type_} of {subject} was not taken by notify: {outbox(db, subject, type_)}"
    return got[0]


def redeliver(db, event_id):
    """The relay sends the event again (an acknowledgement lost)."""
    with db.cursor() as c:
        c.execute("SELECT attempts FROM scheduling.outbox_deliveries WHERE event_id = %s AND subscriber = 'notify'",
                  (event_id,))
        attempts = c.fetchone()[0]
        c.execute("UPDATE scheduling.outbox_deliveries SET delivered_at = NULL, next_attempt_at = now()"
                  " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))

    def again():
        with db.cursor() as c:
            c.execute("SELECT attempts, delivered_at IS NOT NULL FROM scheduling.outbox_deliveries"
                      " WHERE event_id = %s AND subscriber = 'notify'", (event_id,))
            return c.fetchone() == (attempts + 1, True)
    assert wait_for(again, timeout=30), f"the relay did not deliver {event_id} again"
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.inbox WHERE event_id = %s", (event_id,))
        assert c.fetchone()[0] == 1


def test_an_appointment_invites_reminds_moves_and_cancels_everyone_reachable_with_one_uid(mail, x, db):
    cw, authority = x["cw"], x["id"]
    fam, case = family_case(cw, authority)
    parent = fam["parents"][0]["email"]
    supporter = make_supporter(cw, [authority], email=f"sam-{uuid.uuid4().hex[:6]}@example.org")
    school = f"senco-{uuid.uuid4().hex[:6]}@example.org"
    everyone = {parent, supporter["email"], school}
    start = at(datetime.timedelta(days=3))
    made = book(cw, authority, case["id"], supporter["id"], school, start, start + datetime.timedelta(hours=1))
    uid = f"{made['id']}@parley"

    booked = sent(mail, cw, case["id"], "appointment_invitation", everyone)
    assert booked[parent]["language"] == "pl" and booked[supporter["email"]]["language"] == "en"
    assert booked[parent]["body"] == (f"PL: Dear Agnieszka, a annual review on {local(start)} to "
                                      f"{local(start + datetime.timedelta(hours=1))} (Europe/London) at "
                                      "Riverside School, 1 Mill Lane.")
    assert booked[school]["body"].startswith("Dear Riverside SENCO,")
    first = invitations(mail, booked)
    for method, cal, ev in first.values():
        assert method == "REQUEST" and str(cal["METHOD"]) == "REQUEST"
        assert str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 0
        assert ev["DTSTART"].params["TZID"] == "Europe/London" and cal.walk("VTIMEZONE")
        assert ev["DTSTART"].dt.replace(tzinfo=None) == start.astimezone(LONDON).replace(tzinfo=None)
    attendees = [str(a) for a in first[school][2].get("ATTENDEE")]
    assert f"mailto:{school}" in attendees, attendees
    # Each person's own invitation names them at the address it was sent to
    # (scheduling keeps none: notify puts it in when it sends), so their
    # calendar finds its user on it; the others as scheduling wrote them.
    for who in (parent, supporter["email"]):
        mine = [str(a) for a in first[who][2].get("ATTENDEE")]
        assert f"mailto:{who}" in mine, (who, mine)
        assert len(mine) == len(attendees) + (1 if who == parent else 0), (who, mine, attendees)
    assert f"mailto:{parent}" not in attendees and f"mailto:{supporter['email']}" not in attendees
    # The invitation is stored with the notification: a retry sends the same one.
    with db.cursor() as c:
        c.execute("SELECT ics_method, ics LIKE %s FROM notify.notifications WHERE id = %s",
                  (f"%UID:{uid}%", booked[parent]["id"]))
        assert c.fetchone() == ("REQUEST", True)

    # A redelivery of the booking sends nothing again.
    event_id = delivered(db, made["id"], "appointment.booked")[0]
    redeliver(db, event_id)
    assert {n["id"] for n in notes(cw, case["id"], "appointment_invitation")} == {n["id"] for n in booked.values()}
    assert all(len(mail.for_notification(n["id"])) == 1 for n in booked.values())

    # Moved to 24 hours and a few seconds from now: the 24-hour reminder falls due at once.
    moved = at(datetime.timedelta(hours=24, seconds=5))
    r = cw.s.patch(f"{cw.base}/v1/appointments/{made['id']}", timeout=10, headers={"If-Match": '"1"'},
                   json={"start": rfc3339(moved), "end": rfc3339(moved + datetime.timedelta(hours=1))})
    assert r.status_code == 200, r.text
    again = sent(mail, cw, case["id"], "appointment_rescheduled", everyone)
    assert again[supporter["email"]]["body"] == (f"Dear Sam, the annual review is now on {local(moved)} at "
                                                 "Riverside School, 1 Mill Lane.")
    for method, cal, ev in invitations(mail, again).values():
        assert method == "REQUEST" and str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 1
        assert ev["DTSTART"].dt.replace(tzinfo=None) == moved.astimezone(LONDON).replace(tzinfo=None)

    reminded = sent(mail, cw, case["id"], "appointment_reminder", everyone)
    assert reminded[school]["body"] == (f"Dear Riverside SENCO, Annual review starts {local(moved)} at "
                                        "Riverside School, 1 Mill Lane (1440 minutes).")
    for n in reminded.values():  # a reminder carries no calendar part
        got = mail.wait_for(n["id"])
        assert not [p for p in got[0].walk() if p.get_content_type() == "text/calendar"]

    r = cw.post(f"/v1/appointments/{made['id']}/cancel", {"reason": "the review is postponed"})
    assert r.status_code == 200, r.text
    gone = sent(mail, cw, case["id"], "appointment_cancelled", everyone)
    assert gone[parent]["body"].endswith("is cancelled: the review is postponed.")
    for method, cal, ev in invitations(mail, gone).values():
        assert method == "CANCEL" and str(cal["METHOD"]) == "CANCEL"
        assert str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 2 and str(ev["STATUS"]) == "CANCELLED"


def test_an_authority_without_the_templates_sends_nothing_and_takes_the_events(mail, x, db):
    cw, authority = x["bare_cw"], x["bare"]
    fam, case = family_case(cw, authority)
    supporter = make_supporter(cw, [authority], email=f"sam-{uuid.uuid4().hex[:6]}@example.org")
    start = at(datetime.timedelta(days=4))
    made = book(cw, authority, case["id"], supporter["id"], f"senco-{uuid.uuid4().hex[:6]}@example.org", start,
                start + datetime.timedelta(hours=1))
    assert cw.post(f"/v1/appointments/{made['id']}/cancel", {"reason": "no"}).status_code == 200
    taken = [delivered(db, made["id"], t)[0] for t in ("appointment.booked", "appointment.cancelled")]
    assert cw.get(f"/v1/notifications?caseId={case['id']}").json()["items"] == []
    # Taken all the same (claimed): a template written later does not reach them.
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.inbox WHERE event_id = ANY (%s::uuid[])", (taken,))
        assert c.fetchone()[0] == 2


def session_body(authority, capacity):
    start = at(datetime.timedelta(days=10))
    return start, {"authorityId": authority, "title": "Preparing for an annual review", "kind": "workshop",
                   "audience": ["parents"], "language": "pl", "capacity": capacity, "start": rfc3339(start),
                   "end": rfc3339(start + datetime.timedelta(hours=2)),
                   "location": {"kind": "video", "link": "https://meet.example.org/review"}}


def mails_to(mail, address):
    return [m for m in mail.all() if str(m["To"]) == address]


def cancelled_to(mail, address):
    return [m for m in mails_to(mail, address) if "Cancelled" in str(m["Subject"])]


def test_a_promoted_booking_is_told_its_seat_and_a_cancelled_session_tells_every_booking(mail, x, db):
    cw, authority = x["cw"], x["id"]
    fam, case = family_case(cw, authority)
    start, body = session_body(authority, 1)
    s = cw.post("/v1/sessions", body)
    assert s.status_code == 201, s.text
    s = s.json()
    emails = [f"{n}-{uuid.uuid4().hex[:6]}@example.org" for n in ("first", "second", "third")]
    seat = cw.post(f"/v1/sessions/{s['id']}/bookings", {"name": "First", "email": emails[0]}).json()
    waiting = cw.post(f"/v1/sessions/{s['id']}/bookings", {"name": "Agnieszka", "email": emails[1],
                                                           "caseId": case["id"]}).json()
    third = cw.post(f"/v1/sessions/{s['id']}/bookings", {"name": "Third", "email": emails[2]}).json()
    assert (seat["status"], waiting["status"], third["status"]) == ("confirmed", "waitlisted", "waitlisted")
    assert cw.post(f"/v1/bookings/{seat['id']}/cancel", {}).status_code == 200

    # The promoted booking is told (in the session's language), on its case.
    offered = sent(mail, cw, case["id"], "session_place_offered", {emails[1]})[emails[1]]
    assert offered["body"] == (f"PL: Dear Agnieszka, a seat at Preparing for an annual review on {local(start)} "
                               "is yours: Video: https://meet.example.org/review.")
    assert len(mail.wait_for(offered["id"])) == 1
    event_id = delivered(db, s["id"], "session.booking_promoted")[0]
    redeliver(db, event_id)
    assert len(notes(cw, case["id"], "session_place_offered")) == 1

    # Cancelled whole: the two bookings it cancelled are told; the one cancelled before is not.
    assert cw.post(f"/v1/sessions/{s['id']}/cancel", {"reason": "the venue is closed"}).status_code == 200
    delivered(db, s["id"], "session.cancelled")
    told = wait_for(lambda: all(cancelled_to(mail, e) for e in emails[1:]), timeout=40)
    assert told, [(e, len(mails_to(mail, e))) for e in emails]
    for e in emails[1:]:
        (msg,) = cancelled_to(mail, e)
        assert "the venue is closed" in msg.get_body(("plain",)).get_content()
    assert mails_to(mail, emails[0]) == []
    assert len(notes(cw, case["id"], "session_cancelled")) == 1


def test_events_overtaken_while_notify_was_away_send_the_appointment_as_it_is_once(mail, x, db):
    """Booked and moved while notify is stopped: when it returns, the
    booking's event (sequence 0) is overtaken and sends nothing; the move's
    sends each person one invitation, SEQUENCE 1, at the new time."""
    cw, authority = x["cw"], x["id"]
    fam, case = family_case(cw, authority)
    parent = fam["parents"][0]["email"]
    supporter = make_supporter(cw, [authority], email=f"sam-{uuid.uuid4().hex[:6]}@example.org")
    school = f"senco-{uuid.uuid4().hex[:6]}@example.org"
    start, moved = at(datetime.timedelta(days=5)), at(datetime.timedelta(days=6))
    stack("stop", "notify")
    try:
        made = book(cw, authority, case["id"], supporter["id"], school, start, start + datetime.timedelta(hours=1))
        r = cw.s.patch(f"{cw.base}/v1/appointments/{made['id']}", timeout=10, headers={"If-Match": '"1"'},
                       json={"start": rfc3339(moved), "end": rfc3339(moved + datetime.timedelta(hours=1))})
        assert r.status_code == 200, r.text
    finally:
        restart_notify(1, notify_env(mail))
    again = sent(mail, cw, case["id"], "appointment_rescheduled", {parent, supporter["email"], school})
    for method, cal, ev in invitations(mail, again).values():
        assert method == "REQUEST" and int(ev["SEQUENCE"]) == 1
        assert ev["DTSTART"].dt.replace(tzinfo=None) == moved.astimezone(LONDON).replace(tzinfo=None)
    event_id = delivered(db, made["id"], "appointment.booked")[0]
    assert notes(cw, case["id"], "appointment_invitation") == []
    with db.cursor() as c:  # taken, not left to be retried
        c.execute("SELECT count(*) FROM notify.inbox WHERE event_id = %s", (event_id,))
        assert c.fetchone()[0] == 1


def test_a_young_person_s_own_case_invites_the_young_person(mail, x, db):
    cw, authority = x["cw"], x["id"]
    r = cw.post("/v1/young-people", young_person_body(authority, email=f"leah-{uuid.uuid4().hex[:6]}@example.org",
                                                      preferredLanguage="pl"))
    assert r.status_code == 201, r.text
    young = r.json()
    r = cw.post("/v1/cases", young_case_body(authority, young))
    assert r.status_code == 201, r.text
    case = r.json()
    supporter = make_supporter(cw, [authority], email=f"sam-{uuid.uuid4().hex[:6]}@example.org")
    school = f"senco-{uuid.uuid4().hex[:6]}@example.org"
    start = at(datetime.timedelta(days=7))
    book(cw, authority, case["id"], supporter["id"], school, start, start + datetime.timedelta(hours=1))
    by = sent(mail, cw, case["id"], "appointment_invitation", {young["email"], supporter["email"], school})
    leah = by[young["email"]]
    # In her language; Easy Read asked for, and standard sent (the template has no Easy Read), saying so.
    assert (leah["language"], leah["format"], leah["formatFallback"]) == ("pl", "standard", True), leah
    assert leah["body"].startswith("PL: Dear Leah, a annual review on ")
    method, _, ev = invitations(mail, {young["email"]: leah})[young["email"]]
    assert method == "REQUEST" and int(ev["SEQUENCE"]) == 0
