"""Scheduling's iCalendar (issue 14): an appointment across the October
change parsed with python3-icalendar as a calendar app reads it: its
VTIMEZONE, local times, UID, SEQUENCE raised by a reschedule and METHOD:CANCEL
once cancelled, attendees with their roles."""
import datetime
import uuid
from zoneinfo import ZoneInfo

import icalendar

from conftest import Api, make_client
from matching_helpers import make_supporter
from scheduling_helpers import case_id

LONDON = ZoneInfo("Europe/London")


def put_calendar(api, owner, authority, kind="supporter"):
    r = api.s.put(f"{api.base}/v1/calendars/{owner}/availability", timeout=10,
                  json={"authorityId": authority, "ownerKind": kind})
    assert r.status_code == 200, r.text


def book(api, authority, owner, room, start, end):
    r = api.post("/v1/appointments", {
        "authorityId": authority, "caseId": case_id(authority, api), "kind": "tribunal_hearing", "start": start,
        "end": end, "zone": "Europe/London", "title": "Tribunal hearing",
        "location": {"kind": "in_person", "address": "Tribunal centre, 1 Court Road"},
        "participants": [{"kind": "supporter", "calendarOwnerId": owner, "name": "Sam Supporter", "role": "required"},
                         {"kind": "parent", "name": "Ana Family", "role": "chair"},
                         {"kind": "school", "name": "Riverside School", "role": "optional"},
                         {"kind": "room", "calendarOwnerId": room, "name": "Room 2", "role": "non_participant"}],
        "accessNeeds": {"interpreterLanguage": "pl", "bsl": True, "stepFree": True}})
    assert r.status_code == 201, r.text
    return r.json()


def ics(api, appointment_id):
    r = api.get(f"/v1/appointments/{appointment_id}/icalendar")
    assert r.status_code == 200, r.text
    body = r.json()
    cal = icalendar.Calendar.from_ical(body["ics"])
    return body, cal, next(c for c in cal.walk("VEVENT"))


def test_an_appointment_across_the_october_change_reads_right_in_a_calendar_app(cw_a, authority_a):
    owner, room = str(uuid.uuid4()), str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    put_calendar(cw_a, room, authority_a, kind="room")
    # 00:30 BST to 03:30 GMT on 31 October 2027: four hours, across the change.
    made = book(cw_a, authority_a, owner, room, "2027-10-30T23:30:00Z", "2027-10-31T03:30:00Z")
    body, cal, ev = ics(cw_a, made["id"])
    assert body["method"] == "REQUEST" and str(cal["METHOD"]) == "REQUEST"
    assert str(ev["UID"]) == body["uid"] == f"{made['id']}@parley"
    assert int(ev["SEQUENCE"]) == 0
    assert ev["DTSTART"].params["TZID"] == "Europe/London"
    start, end = ev["DTSTART"].dt, ev["DTEND"].dt
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (
        datetime.datetime(2027, 10, 31, 0, 30), datetime.datetime(2027, 10, 31, 3, 30))
    # The VTIMEZONE carries the change the meeting spans: BST to GMT at 02:00 local.
    tz = next(c for c in cal.walk("VTIMEZONE"))
    assert str(tz["TZID"]) == "Europe/London"
    standard = [c for c in tz.walk("STANDARD")]
    assert any(c["DTSTART"].dt == datetime.datetime(2027, 10, 31, 2, 0) and
               c["TZOFFSETFROM"].td == datetime.timedelta(hours=1) and c["TZOFFSETTO"].td == datetime.timedelta(0)
               for c in standard), tz.to_ical()
    # Read with that VTIMEZONE's offsets, the instants are the booked ones and the length is four hours.
    start_utc = datetime.datetime(2027, 10, 31, 0, 30) - datetime.timedelta(hours=1)
    end_utc = datetime.datetime(2027, 10, 31, 3, 30)
    assert end_utc - start_utc == datetime.timedelta(hours=4)
    assert start.replace(tzinfo=LONDON).astimezone(datetime.timezone.utc) == datetime.datetime(
        2027, 10, 30, 23, 30, tzinfo=datetime.timezone.utc)
    roles = {str(a.params.get("CN")): str(a.params.get("ROLE")) for a in ev.get("ATTENDEE")}
    assert roles == {"Sam Supporter": "REQ-PARTICIPANT", "Ana Family": "CHAIR", "Riverside School": "OPT-PARTICIPANT",
                     "Room 2": "NON-PARTICIPANT"}
    assert "interpreter (pl)" in str(ev["DESCRIPTION"]) and "step-free" in str(ev["DESCRIPTION"])
    assert str(ev["ORGANIZER"]).startswith("mailto:")


def test_reschedule_raises_sequence_and_cancel_sends_method_cancel_with_the_same_uid(cw_a, authority_a):
    owner, room = str(uuid.uuid4()), str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    put_calendar(cw_a, room, authority_a, kind="room")
    # Winter, then moved past the March change: 10:00 GMT, then 10:00 BST.
    made = book(cw_a, authority_a, owner, room, "2027-03-22T10:00:00Z", "2027-03-22T11:00:00Z")
    uid = ics(cw_a, made["id"])[2]["UID"]
    r = cw_a.s.patch(f"{cw_a.base}/v1/appointments/{made['id']}", timeout=10, headers={"If-Match": '"1"'},
                     json={"start": "2027-04-05T09:00:00Z", "end": "2027-04-05T10:00:00Z"})
    assert r.status_code == 200, r.text
    body, _, ev = ics(cw_a, made["id"])
    assert (body["method"], int(ev["SEQUENCE"]), str(ev["UID"])) == ("REQUEST", 1, str(uid))
    assert ev["DTSTART"].dt.replace(tzinfo=None) == datetime.datetime(2027, 4, 5, 10, 0)
    r = cw_a.post(f"/v1/appointments/{made['id']}/cancel", {"reason": "settled"})
    assert r.status_code == 200, r.text
    body, cal, ev = ics(cw_a, made["id"])
    assert body["method"] == "CANCEL" and str(cal["METHOD"]) == "CANCEL"
    assert int(ev["SEQUENCE"]) == 2 and str(ev["STATUS"]) == "CANCELLED" and str(ev["UID"]) == str(uid)


def test_icalendar_follows_the_appointment_s_tenancy_and_supporter_binding(cw_a, cw_b, authority_a):
    supporter = make_supporter(cw_a, [authority_a])
    room, other = str(uuid.uuid4()), str(uuid.uuid4())
    put_calendar(cw_a, supporter["id"], authority_a)
    put_calendar(cw_a, room, authority_a, kind="room")
    put_calendar(cw_a, other, authority_a)
    mine = book(cw_a, authority_a, supporter["id"], room, "2027-05-03T09:00:00Z", "2027-05-03T10:00:00Z")
    theirs = book(cw_a, authority_a, other, room, "2027-05-04T09:00:00Z",
                  "2027-05-04T10:00:00Z")
    key = Api(make_client(["supporter"], [authority_a], supporterId=supporter["id"]))
    assert key.get(f"/v1/appointments/{mine['id']}/icalendar").status_code == 200
    assert key.get(f"/v1/appointments/{theirs['id']}/icalendar").status_code == 404
    assert cw_b.get(f"/v1/appointments/{mine['id']}/icalendar").status_code == 404
