"""Scheduling's reminders (issue 14): appointment.reminder_due 24 h (and
2 h) before an appointment, emitted once with three scheduling processes
sweeping; none for a cancelled appointment."""
import datetime
import time
import uuid

from conftest import scale, wait_for
from scheduling_helpers import case_id


def at(delta):
    t = datetime.datetime.now(datetime.timezone.utc) + delta
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def book(api, authority, owner, start, end):
    r = api.post("/v1/appointments", {
        "authorityId": authority, "caseId": case_id(authority, api), "kind": "one_to_one", "start": start, "end": end,
        "location": {"kind": "phone", "phone": "0113 496 0000"},
        "participants": [{"kind": "supporter", "calendarOwnerId": owner, "name": "Sam"}]})
    assert r.status_code == 201, r.text
    return r.json()


def reminders(db, appointment_id):
    with db.cursor() as c:
        c.execute("SELECT data FROM scheduling.outbox WHERE type = 'appointment.reminder_due' AND subject_id = %s",
                  (appointment_id,))
        return [r[0] for r in c.fetchall()]


def test_the_24_hour_reminder_is_emitted_once_by_three_sweeping_processes(cw_a, authority_a, db):
    owner = str(uuid.uuid4())
    r = cw_a.s.put(f"{cw_a.base}/v1/calendars/{owner}/availability", timeout=10,
                   json={"authorityId": authority_a, "ownerKind": "supporter"})
    assert r.status_code == 200, r.text
    scale("scheduling", 3)
    try:
        # Its 24-hour reminder falls due a few seconds from now; the 2-hour one tomorrow.
        soon = book(cw_a, authority_a, owner, at(datetime.timedelta(hours=24, seconds=4)),
                    at(datetime.timedelta(hours=25)))
        cancelled = book(cw_a, authority_a, owner, at(datetime.timedelta(hours=25, seconds=4)),
                         at(datetime.timedelta(hours=26)))
        assert cw_a.post(f"/v1/appointments/{cancelled['id']}/cancel", {"reason": "no longer needed"}).status_code == 200
        assert wait_for(lambda: reminders(db, soon["id"]), timeout=30), "no reminder_due within 30 s of it falling due"
        # Every process sweeps at least twice more (PARLEY_SCHEDULING_REMINDER_SWEEP_MS, 1 s) before the count.
        time.sleep(3)
        assert reminders(db, soon["id"]) == [{"appointmentId": soon["id"], "minutesBefore": 1440}]
    finally:
        scale("scheduling", 1)
    with db.cursor() as c:
        c.execute("SELECT minutes_before, sent_at IS NOT NULL FROM scheduling.appointment_reminders"
                  " WHERE appointment_id = %s ORDER BY minutes_before", (soon["id"],))
        assert c.fetchall() == [(120, False), (1440, True)]
        c.execute("SELECT count(*) FROM scheduling.appointment_reminders WHERE appointment_id = %s",
                  (cancelled["id"],))
        assert c.fetchone()[0] == 0
    assert reminders(db, cancelled["id"]) == []
