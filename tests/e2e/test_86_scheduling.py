"""Scheduling (issue 14): calendars and free slots across the clocks
changing, appointments never double-booked (PostgreSQL's exclusion
constraint, whichever process books), reschedule and cancel with history,
tenancy and a supporter's key seeing only its own appointments."""
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Api, make_client, scale
from matching_helpers import make_supporter
from scheduling_helpers import case_id, known

MON_TO_FRI_MORNINGS = [{"weekday": d, "start": "10:00", "end": "12:00"} for d in range(1, 6)]


def put_calendar(api, owner, authority, **over):
    body = {"authorityId": authority, "ownerKind": "supporter", "weekly": MON_TO_FRI_MORNINGS, **over}
    r = api.s.put(f"{api.base}/v1/calendars/{owner}/availability", json=body, timeout=10)
    assert r.status_code == 200, r.text
    known(api, authority)
    return r.json()


def free_slots(api, owner, start, end, minutes=60):
    return api.get(f"/v1/calendars/{owner}/free-slots", params={"from": start, "to": end, "minutes": minutes})


def appointment_body(authority, owner, at, until, **over):
    body = {"authorityId": authority, "caseId": case_id(authority), "kind": "annual_review", "start": at,
            "end": until, "title": "Annual review",
            "location": {"kind": "in_person", "address": "Riverside School, 1 Mill Lane"},
            "participants": [{"kind": "supporter", "calendarOwnerId": owner, "name": "Sam", "role": "required"},
                             {"kind": "parent", "name": "Ana", "role": "required"}],
            "accessNeeds": {"interpreterLanguage": "pl", "stepFree": True}}
    body.update(over)
    return body


def book(api, body):
    return api.post("/v1/appointments", body)


@pytest.fixture
def owner():
    return str(uuid.uuid4())


def starts(r):
    assert r.status_code == 200, r.text
    return [s["start"] for s in r.json()["slots"]]


def test_free_slots_are_10z_before_the_march_change_and_09z_after(cw_a, authority_a, owner):
    put_calendar(cw_a, owner, authority_a)
    # Monday 22 March 2027 (GMT) and Monday 5 April 2027 (BST); Good Friday
    # 26 March and Easter Monday 29 March are bank holidays: no slots.
    got = starts(free_slots(cw_a, owner, "2027-03-22T00:00:00Z", "2027-04-06T00:00:00Z"))
    assert got[:5] == [f"2027-03-22T{h}Z" for h in ("10:00:00", "10:15:00", "10:30:00", "10:45:00", "11:00:00")]
    # 10:00-12:00 BST is 09:00-11:00Z: hour-long slots start 09:00Z to 10:00Z.
    assert [s for s in got if s.startswith("2027-04-05")] == [
        f"2027-04-05T{h}Z" for h in ("09:00:00", "09:15:00", "09:30:00", "09:45:00", "10:00:00")]
    assert not [s for s in got if s.startswith("2027-03-26") or s.startswith("2027-03-29")]
    # A calendar that works bank holidays has them.
    put_calendar(cw_a, owner, authority_a, bankHolidays="none")
    got = starts(free_slots(cw_a, owner, "2027-03-29T00:00:00Z", "2027-03-30T00:00:00Z"))
    assert got[0] == "2027-03-29T09:00:00Z"


def test_free_slots_take_bookings_and_buffers_away_when_read(cw_a, authority_a, owner):
    put_calendar(cw_a, owner, authority_a, bufferAfterMinutes=15, exceptions=[{"date": "2027-06-08"}])
    span = ("2027-06-07T00:00:00Z", "2027-06-09T00:00:00Z")
    before = starts(free_slots(cw_a, owner, *span, minutes=30))
    assert before[0] == "2027-06-07T09:00:00Z" and len(before) == 7  # Monday; Tuesday 8th on leave
    r = book(cw_a, appointment_body(authority_a, owner, "2027-06-07T09:30:00Z", "2027-06-07T10:00:00Z"))
    assert r.status_code == 201, r.text
    after = starts(free_slots(cw_a, owner, *span, minutes=30))
    assert after == ["2027-06-07T09:00:00Z", "2027-06-07T10:15:00Z", "2027-06-07T10:30:00Z"]


def test_free_slots_refuse_bad_bounds_naming_the_parameter(cw_a, authority_a, owner):
    put_calendar(cw_a, owner, authority_a)
    for params, field in (({"minutes": 10}, "minutes"), ({"minutes": 600}, "minutes"),
                          ({"from": "2027-01-01T00:00:00Z", "to": "2027-06-01T00:00:00Z"}, "to"),
                          ({"from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, "to"),
                          ({"from": "soon"}, "from")):
        r = cw_a.get(f"/v1/calendars/{owner}/free-slots", params=params)
        assert r.status_code == 400, (params, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (params, r.text)


def test_calendar_refuses_overlapping_hours_and_unknown_zones(cw_a, authority_a, owner):
    for over, field in (({"zone": "Europe/Atlantis"}, "zone"),
                        ({"weekly": [{"weekday": 1, "start": "10:00", "end": "12:00"},
                                     {"weekday": 1, "start": "11:00", "end": "13:00"}]}, "weekly"),
                        ({"weekly": [{"weekday": 2, "start": "12:00", "end": "10:00"}]}, "weekly[0].end")):
        body = {"authorityId": authority_a, "ownerKind": "room", **over}
        r = cw_a.s.put(f"{cw_a.base}/v1/calendars/{owner}/availability", json=body, timeout=10)
        assert r.status_code == 400, r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.text
    assert cw_a.get(f"/v1/calendars/{owner}/availability").status_code == 404


def test_twenty_concurrent_bookings_of_one_slot_exactly_one_wins_over_three_processes(cw_a, authority_a, owner, db):
    put_calendar(cw_a, owner, authority_a)
    scale("scheduling", 3)
    try:
        body = appointment_body(authority_a, owner, "2027-05-10T09:00:00Z", "2027-05-10T10:00:00Z")
        gate = threading.Barrier(20)
        key = cw_a.key

        def one(_):
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {key}"
            gate.wait(timeout=30)
            return s.post(cw_a.base + "/v1/appointments", json=body, timeout=30)

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(one, range(20)))
    finally:
        scale("scheduling", 1)
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * 19, [(r.status_code, r.text[:200]) for r in answers]
    for r in answers:
        if r.status_code == 409:
            p = r.json()
            assert p["code"] == "calendar_clash", p
            assert "participants[0]" in p["detail"] and owner in p["detail"], p
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM scheduling.calendar_bookings WHERE owner_id = %s AND active", (owner,))
        assert c.fetchone()[0] == 1
        c.execute("SELECT count(*) FROM scheduling.appointments WHERE authority_id = %s", (authority_a,))
        assert c.fetchone()[0] == 1


def test_overlap_is_a_clash_and_touching_is_not(cw_a, authority_a, owner):
    put_calendar(cw_a, owner, authority_a)
    assert book(cw_a, appointment_body(authority_a, owner, "2027-05-11T09:00:00Z", "2027-05-11T10:00:00Z")).status_code == 201
    r = book(cw_a, appointment_body(authority_a, owner, "2027-05-11T09:59:00Z", "2027-05-11T10:30:00Z"))
    assert r.status_code == 409 and r.json()["code"] == "calendar_clash", r.text
    assert book(cw_a, appointment_body(authority_a, owner, "2027-05-11T10:00:00Z", "2027-05-11T10:30:00Z")).status_code == 201
    # A calendar the caller's authorities do not hold is named, not booked.
    r = book(cw_a, appointment_body(authority_a, str(uuid.uuid4()), "2027-05-11T12:00:00Z", "2027-05-11T13:00:00Z"))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "participants[0].calendarOwnerId", r.text


def test_appointment_checks_its_fields(cw_a, authority_a, owner):
    put_calendar(cw_a, owner, authority_a)
    cases = [({"end": "2027-05-12T08:00:00Z"}, "end"),
             ({"location": {"kind": "video"}}, "location.link"),
             ({"location": {"kind": "phone"}}, "location.phone"),
             ({"zone": "Mars/Olympus"}, "zone"),
             ({"participants": [{"kind": "school", "role": "required"}]}, "participants[0].name"),
             ({"participants": [{"kind": "supporter", "calendarOwnerId": owner},
                                {"kind": "room", "calendarOwnerId": owner}]}, "participants[1].calendarOwnerId")]
    for over, field in cases:
        r = book(cw_a, appointment_body(authority_a, owner, "2027-05-12T09:00:00Z", "2027-05-12T10:00:00Z", **over))
        assert r.status_code == 400, (over, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (over, r.text)


def test_reschedule_keeps_identity_raises_sequence_and_moves_the_booking(cw_a, authority_a, owner):
    put_calendar(cw_a, owner, authority_a)
    made = book(cw_a, appointment_body(authority_a, owner, "2027-05-13T09:00:00Z", "2027-05-13T10:00:00Z")).json()
    url = f"{cw_a.base}/v1/appointments/{made['id']}"
    move = {"start": "2027-05-13T10:00:00Z", "end": "2027-05-13T11:00:00Z", "reason": "the school asked"}
    assert cw_a.s.patch(url, json=move, timeout=10).status_code == 428
    assert cw_a.s.patch(url, json=move, headers={"If-Match": '"7"'}, timeout=10).status_code == 412
    r = cw_a.s.patch(url, json=move, headers={"If-Match": '"1"'}, timeout=10)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["id"] == made["id"] and moved["sequence"] == 1 and moved["version"] == 2
    assert moved["start"] == "2027-05-13T10:00:00Z"
    assert [h["action"] for h in moved["history"]] == ["booked", "rescheduled"]
    assert moved["history"][0]["start"] == "2027-05-13T09:00:00Z" and moved["history"][1]["reason"] == "the school asked"
    # The old hour is free again, the new one taken.
    assert book(cw_a, appointment_body(authority_a, owner, "2027-05-13T09:00:00Z", "2027-05-13T10:00:00Z")).status_code == 201
    r = book(cw_a, appointment_body(authority_a, owner, "2027-05-13T10:30:00Z", "2027-05-13T11:30:00Z"))
    assert r.status_code == 409, r.text
    # Moving onto a booked hour changes nothing.
    r = cw_a.s.patch(url, json={"start": "2027-05-13T09:00:00Z", "end": "2027-05-13T09:30:00Z"},
                     headers={"If-Match": '"2"'}, timeout=10)
    assert r.status_code == 409 and r.json()["code"] == "calendar_clash", r.text
    assert cw_a.get(f"/v1/appointments/{made['id']}").json()["start"] == "2027-05-13T10:00:00Z"


def test_cancel_frees_the_calendar_once_and_keeps_the_history(cw_a, authority_a, owner, db):
    put_calendar(cw_a, owner, authority_a)
    made = book(cw_a, appointment_body(authority_a, owner, "2027-05-14T09:00:00Z", "2027-05-14T10:00:00Z")).json()
    r = cw_a.post(f"/v1/appointments/{made['id']}/cancel", {"reason": "the parent is unwell"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "cancelled" and got["cancelReason"] == "the parent is unwell" and got["sequence"] == 1
    assert [h["action"] for h in got["history"]] == ["booked", "cancelled"]
    again = cw_a.post(f"/v1/appointments/{made['id']}/cancel", {"reason": "twice"})
    assert again.status_code == 409 and again.json()["code"] == "appointment_cancelled", again.text
    assert book(cw_a, appointment_body(authority_a, owner, "2027-05-14T09:00:00Z", "2027-05-14T10:00:00Z")).status_code == 201
    # Events carry ids only, in the transaction of each change.
    with db.cursor() as c:
        c.execute("SELECT type, data FROM scheduling.outbox WHERE subject_id = %s ORDER BY seq", (made["id"],))
        rows = c.fetchall()
    assert [t for t, _ in rows] == ["appointment.booked", "appointment.cancelled"]
    for _, data in rows:
        assert set(data) == {"appointmentId", "caseId", "sequence"}, data


def test_another_authority_gets_404(cw_a, cw_b, authority_a, owner):
    put_calendar(cw_a, owner, authority_a)
    made = book(cw_a, appointment_body(authority_a, owner, "2027-05-17T09:00:00Z", "2027-05-17T10:00:00Z")).json()
    assert cw_b.get(f"/v1/appointments/{made['id']}").status_code == 404
    assert cw_b.get(f"/v1/calendars/{owner}/availability").status_code == 404
    assert cw_b.get(f"/v1/calendars/{owner}/free-slots").status_code == 404
    assert cw_b.post(f"/v1/appointments/{made['id']}/cancel", {"reason": "x"}).status_code == 404
    r = cw_b.s.put(f"{cw_b.base}/v1/calendars/{owner}/availability", json={"ownerKind": "room"}, timeout=10)
    assert r.status_code == 404, r.text
    assert cw_a.get(f"/v1/appointments/{made['id']}").json()["status"] == "booked"
    assert cw_a.get(f"/v1/calendars/{owner}/availability").json()["ownerKind"] == "supporter"


def test_a_supporter_key_sees_only_its_own_appointments_and_calendar(cw_a, authority_a):
    supporter = make_supporter(cw_a, [authority_a])
    mine = supporter["id"]
    other = str(uuid.uuid4())
    put_calendar(cw_a, mine, authority_a)
    put_calendar(cw_a, other, authority_a)
    own = book(cw_a, appointment_body(authority_a, mine, "2027-05-18T09:00:00Z", "2027-05-18T10:00:00Z")).json()
    theirs = book(cw_a, appointment_body(authority_a, other, "2027-05-18T09:00:00Z", "2027-05-18T10:00:00Z")).json()
    key = Api(make_client(["supporter"], [authority_a], supporterId=mine))
    assert key.get(f"/v1/appointments/{own['id']}").status_code == 200
    assert key.get(f"/v1/appointments/{theirs['id']}").status_code == 404
    assert key.get(f"/v1/calendars/{mine}/availability").status_code == 200
    assert key.get(f"/v1/calendars/{other}/availability").status_code == 404
    assert key.get(f"/v1/calendars/{other}/free-slots").status_code == 404
    assert key.post("/v1/appointments", appointment_body(authority_a, mine, "2027-05-19T09:00:00Z",
                                                         "2027-05-19T10:00:00Z")).status_code == 403


def test_a_partner_agency_sees_no_appointment_and_no_calendar(cw_a, partner_a, authority_a, owner):
    """A partner agency is never a calendar participant in Parley (an agency
    taking part is named, with an email for its invitation), so no route
    shows it an appointment or a calendar of its authority: each is 403,
    including one where an agency is a participant."""
    put_calendar(cw_a, owner, authority_a)
    made = book(cw_a, appointment_body(authority_a, owner, "2027-05-20T09:00:00Z", "2027-05-20T10:00:00Z",
                                       participants=[{"kind": "supporter", "calendarOwnerId": owner, "name": "Sam"},
                                                     {"kind": "agency", "name": "Parent carer forum",
                                                      "email": "forum@example.org"}]))
    assert made.status_code == 201, made.text
    appointment = made.json()["id"]
    for path in (f"/v1/appointments/{appointment}", f"/v1/appointments/{appointment}.ics",
                 f"/v1/appointments/{appointment}/icalendar", f"/v1/calendars/{owner}/availability",
                 f"/v1/calendars/{owner}/free-slots"):
        r = partner_a.get(path)
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
    assert partner_a.post("/v1/appointments", appointment_body(authority_a, owner, "2027-05-21T09:00:00Z",
                                                               "2027-05-21T10:00:00Z")).status_code == 403
    assert partner_a.post(f"/v1/calendars/{owner}/feed-token", {}).status_code == 403
