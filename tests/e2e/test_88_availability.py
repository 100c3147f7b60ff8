"""Bookings checked against availability (issue 14, ics): a participant's
calendar booked outside its weekly hours (local time, across the March
change), on a closed day or a bank holiday, or past its maxPerDay /
maxPerWeek cap is refused 409 calendar_unavailable naming participants[i]
and the reason; staff may book outside the hours and closed days with
allowOutsideHours, never past a cap; a reschedule is checked the same way;
and of two concurrent bookings against a cap of 1 exactly one is made."""
import threading
import uuid

from conftest import Api, make_client
from scheduling_helpers import case_id, known

MORNINGS = [{"weekday": d, "start": "10:00", "end": "12:00"} for d in range(1, 6)]


def put_calendar(api, owner, authority, **over):
    body = {"authorityId": authority, "ownerKind": "supporter", "weekly": MORNINGS, **over}
    r = api.s.put(f"{api.base}/v1/calendars/{owner}/availability", json=body, timeout=10)
    assert r.status_code == 200, r.text
    known(api, authority)


def body(authority, owner, start, end, **over):
    # The calendar is the second participant: the refusal must name participants[1].
    b = {"authorityId": authority, "caseId": case_id(authority), "kind": "annual_review", "start": start, "end": end,
         "location": {"kind": "in_person", "address": "Riverside School"},
         "participants": [{"kind": "parent", "name": "Ana"},
                          {"kind": "supporter", "calendarOwnerId": owner, "name": "Sam"}]}
    b.update(over)
    return b


def refused(r, reason):
    assert r.status_code == 409, r.text
    p = r.json()
    assert p["code"] == "calendar_unavailable", p
    assert [e["field"] for e in p["errors"]] == ["participants[1]"], p
    assert reason in p["detail"] and reason in p["errors"][0]["message"], p


def test_outside_the_weekly_hours_in_local_time_across_the_march_change(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    # Monday 22 March 2027 (GMT): 10:30Z-11:30Z is 10:30-11:30 local.
    assert cw_a.post("/v1/appointments", body(authority_a, owner, "2027-03-22T10:30:00Z",
                                              "2027-03-22T11:30:00Z")).status_code == 201
    # Monday 5 April (BST): the same clock times in UTC are 11:30-12:30 local, past noon.
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-04-05T10:30:00Z", "2027-04-05T11:30:00Z")),
            "outside its weekly hours")
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-04-05T08:30:00Z", "2027-04-05T09:30:00Z")),
            "outside its weekly hours")
    assert cw_a.post("/v1/appointments", body(authority_a, owner, "2027-04-05T09:00:00Z",
                                              "2027-04-05T11:00:00Z")).status_code == 201
    # A Saturday, and nothing was booked by the refusals: the free slots say so.
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-04-10T09:00:00Z", "2027-04-10T10:00:00Z")),
            "outside its weekly hours")
    slots = cw_a.get(f"/v1/calendars/{owner}/free-slots",
                     params={"from": "2027-04-12T00:00:00Z", "to": "2027-04-13T00:00:00Z"}).json()["slots"]
    assert slots[0]["start"] == "2027-04-12T09:00:00Z"


def test_closed_days_and_bank_holidays_unless_staff_allow_it(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a, exceptions=[{"date": "2027-05-04", "reason": "annual leave"}])
    # Monday 3 May 2027 is the Early May bank holiday; Tuesday 4 May is leave.
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-05-03T09:00:00Z", "2027-05-03T10:00:00Z")),
            "closed on 2027-05-03")
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-05-04T09:00:00Z", "2027-05-04T10:00:00Z")),
            "closed on 2027-05-04")
    # A tribunal date the family cannot move: staff book it anyway, and it says so.
    r = cw_a.post("/v1/appointments", body(authority_a, owner, "2027-05-03T13:00:00Z", "2027-05-03T15:00:00Z",
                                           kind="tribunal_hearing", allowOutsideHours=True))
    assert r.status_code == 201, r.text
    assert r.json()["allowOutsideHours"] is True
    assert cw_a.get(r.headers["Location"]).json()["allowOutsideHours"] is True
    # A calendar that works bank holidays takes the 3rd.
    other = str(uuid.uuid4())
    put_calendar(cw_a, other, authority_a, bankHolidays="none")
    assert cw_a.post("/v1/appointments", body(authority_a, other, "2027-05-03T09:00:00Z",
                                              "2027-05-03T10:00:00Z")).status_code == 201
    # A calendar without weekly hours (a room booked whenever it is free) is checked for nothing but caps.
    room = str(uuid.uuid4())
    put_calendar(cw_a, room, authority_a, weekly=[], ownerKind="room")
    assert cw_a.post("/v1/appointments", body(authority_a, room, "2027-05-02T21:00:00Z",
                                              "2027-05-02T22:00:00Z")).status_code == 201


def test_caps_per_day_and_week_are_never_overridden(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a, maxPerDay=1, maxPerWeek=2)
    assert cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-07T09:00:00Z",
                                              "2027-06-07T09:30:00Z")).status_code == 201
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-07T10:00:00Z", "2027-06-07T10:30:00Z")),
            "at its cap of 1 a day")
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-07T10:00:00Z", "2027-06-07T10:30:00Z",
                                               allowOutsideHours=True)), "at its cap of 1 a day")
    assert cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-08T09:00:00Z",
                                              "2027-06-08T09:30:00Z")).status_code == 201
    refused(cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-09T09:00:00Z", "2027-06-09T09:30:00Z")),
            "at its cap of 2 a week")
    # The next ISO week is free again.
    assert cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-14T09:00:00Z",
                                              "2027-06-14T09:30:00Z")).status_code == 201


def test_a_reschedule_is_checked_the_same_way(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a, maxPerDay=1)
    made = cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-21T09:00:00Z", "2027-06-21T10:00:00Z"))
    assert made.status_code == 201, made.text
    other = cw_a.post("/v1/appointments", body(authority_a, owner, "2027-06-22T09:00:00Z", "2027-06-22T10:00:00Z"))
    assert other.status_code == 201, other.text
    url = f"{cw_a.base}{made.headers['Location']}"
    r = cw_a.s.patch(url, json={"start": "2027-06-21T14:00:00Z", "end": "2027-06-21T15:00:00Z"},
                     headers={"If-Match": '"1"'}, timeout=10)
    refused(r, "outside its weekly hours")
    # Moving within its own day is no second booking of that day; onto the other's day is.
    r = cw_a.s.patch(url, json={"start": "2027-06-21T10:00:00Z", "end": "2027-06-21T11:00:00Z"},
                     headers={"If-Match": '"1"'}, timeout=10)
    assert r.status_code == 200, r.text
    r = cw_a.s.patch(url, json={"start": "2027-06-22T10:00:00Z", "end": "2027-06-22T11:00:00Z"},
                     headers={"If-Match": '"2"'}, timeout=10)
    refused(r, "at its cap of 1 a day")
    r = cw_a.s.patch(url, json={"start": "2027-06-21T16:00:00Z", "end": "2027-06-21T17:00:00Z",
                                "allowOutsideHours": True}, headers={"If-Match": '"2"'}, timeout=10)
    assert r.status_code == 200 and r.json()["allowOutsideHours"] is True, r.text


def test_two_concurrent_bookings_against_a_cap_of_one_make_exactly_one(cw_a, authority_a):
    """Different times of one day, so no exclusion constraint decides: the
    calendar's row lock does (each booking counts after the other's commit)."""
    key = make_client(["caseworker"], [authority_a])
    for trial, day in enumerate(("2027-07-05", "2027-07-06", "2027-07-07", "2027-07-08")):
        owner = str(uuid.uuid4())
        put_calendar(cw_a, owner, authority_a, maxPerDay=1)
        apis = [Api(key), Api(key)]
        gate = threading.Barrier(2)
        results = [None, None]

        def go(k):
            start, end = (f"{day}T09:00:00Z", f"{day}T09:30:00Z") if k == 0 else (f"{day}T10:00:00Z",
                                                                                 f"{day}T10:30:00Z")
            gate.wait()
            results[k] = apis[k].post("/v1/appointments", body(authority_a, owner, start, end))

        threads = [threading.Thread(target=go, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 409], (trial, [r.text for r in results])
        refused(next(r for r in results if r.status_code == 409), "at its cap of 1 a day")
