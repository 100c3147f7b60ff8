"""Scheduling's text/calendar answers (issue 14, ics): GET
/v1/appointments/{id}.ics as a calendar app reads it (python3-icalendar),
across the 2027-03-28 change, SEQUENCE and METHOD:CANCEL; and a calendar's
feed reached with a revocable token instead of an API key: made, used,
replaced and revoked (refused on the very next request), minimal in what it
carries, one 404 for every miss, never in a log line or an audit row, and
no way into another authority's calendar."""
import datetime
import uuid

import icalendar
import requests

from conftest import ENV, LOG_DIR, Api, make_client
from matching_helpers import make_supporter
from scheduling_helpers import case_id

UTC = datetime.timezone.utc


def put_calendar(api, owner, authority, kind="supporter", **over):
    r = api.s.put(f"{api.base}/v1/calendars/{owner}/availability", timeout=10,
                  json={"authorityId": authority, "ownerKind": kind, **over})
    assert r.status_code == 200, r.text
    return r.json()


def book(api, authority, owner, start, end, **over):
    body = {"authorityId": authority, "caseId": case_id(authority, api), "kind": "annual_review", "start": start,
            "end": end, "zone": "Europe/London", "title": "Annual review",
            "location": {"kind": "in_person", "address": "Riverside School, 1 Mill Lane"},
            "participants": [{"kind": "supporter", "calendarOwnerId": owner, "name": "Sam Supporter"},
                             {"kind": "parent", "name": "Ana Family", "role": "chair"}],
            "accessNeeds": {"interpreterLanguage": "pl", "bsl": True, "notes": "a quiet room"}}
    body.update(over)
    r = api.post("/v1/appointments", body)
    assert r.status_code == 201, r.text
    return r.json()


def at(days, hour=10):
    """An instant `days` from now at hour:00Z (inside the feed's window)."""
    d = datetime.datetime.now(UTC).date() + datetime.timedelta(days=days)
    return datetime.datetime(d.year, d.month, d.day, hour, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ics(api, appointment_id, **kw):
    return api.get(f"/v1/appointments/{appointment_id}.ics", **kw)


def feed(owner, token, **kw):
    """The feed as a calendar app asks for it: no API key."""
    return requests.get(f"{ENV['PARLEY_URL']}/v1/calendars/{owner}.ics", params={"token": token}, timeout=10, **kw)


def event(text):
    cal = icalendar.Calendar.from_ical(text)
    return cal, next(c for c in cal.walk("VEVENT"))


def test_the_ics_route_is_text_calendar_across_the_march_change(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    # 00:30 GMT to 03:30 BST on 28 March 2027: two hours, across the change at 01:00 GMT.
    made = book(cw_a, authority_a, owner, "2027-03-28T00:30:00Z", "2027-03-28T02:30:00Z")
    r = ics(cw_a, made["id"])
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert r.headers["Cache-Control"] == "private, no-cache"
    cal, ev = event(r.content)
    assert str(cal["METHOD"]) == "REQUEST" and str(ev["UID"]) == f"{made['id']}@parley"
    assert int(ev["SEQUENCE"]) == 0 and ev["DTSTART"].params["TZID"] == "Europe/London"
    assert (ev["DTSTART"].dt.replace(tzinfo=None), ev["DTEND"].dt.replace(tzinfo=None)) == (
        datetime.datetime(2027, 3, 28, 0, 30), datetime.datetime(2027, 3, 28, 3, 30))
    tz = next(c for c in cal.walk("VTIMEZONE"))
    assert str(tz["TZID"]) == "Europe/London"
    assert any(c["DTSTART"].dt == datetime.datetime(2027, 3, 28, 1, 0) and
               c["TZOFFSETFROM"].td == datetime.timedelta(0) and c["TZOFFSETTO"].td == datetime.timedelta(hours=1)
               for c in tz.walk("DAYLIGHT")), tz.to_ical()
    # The body is the JSON form's ics, byte for byte.
    assert r.text == cw_a.get(f"/v1/appointments/{made['id']}/icalendar").json()["ics"]

    # Revalidated by its ETag while unchanged; a reschedule changes it and raises SEQUENCE.
    etag = r.headers["ETag"]
    assert ics(cw_a, made["id"], headers={"If-None-Match": etag}).status_code == 304
    moved = cw_a.s.patch(f"{cw_a.base}/v1/appointments/{made['id']}", timeout=10, headers={"If-Match": '"1"'},
                         json={"start": "2027-03-29T09:00:00Z", "end": "2027-03-29T10:00:00Z"})
    assert moved.status_code == 200, moved.text
    r = ics(cw_a, made["id"], headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    _, ev = event(r.content)
    assert int(ev["SEQUENCE"]) == 1 and ev["DTSTART"].dt.replace(tzinfo=None) == datetime.datetime(2027, 3, 29, 10)
    assert cw_a.post(f"/v1/appointments/{made['id']}/cancel", {"reason": "settled"}).status_code == 200
    cal, ev = event(ics(cw_a, made["id"]).content)
    assert str(cal["METHOD"]) == "CANCEL" and str(ev["STATUS"]) == "CANCELLED" and int(ev["SEQUENCE"]) == 2


def test_ics_errors_are_problems_and_the_suffix_is_never_part_of_the_id(cw_a, cw_b, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    made = book(cw_a, authority_a, owner, "2027-05-10T09:00:00Z", "2027-05-10T10:00:00Z")
    # The id decoded once, in any case; ".ics" is never part of it.
    assert ics(cw_a, made["id"].upper()).status_code == 200
    for path in (f"/v1/appointments/{made['id']}%252Eics", f"/v1/appointments/{made['id']}%2500.ics",
                 f"/v1/appointments/{made['id']}.ics.ics", "/v1/appointments/.ics", "/v1/appointments/x.ics",
                 f"/v1/appointments/{uuid.uuid4()}.ics"):
        r = cw_a.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.headers["Content-Type"] == "application/problem+json", path
    r = ics(cw_b, made["id"])
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"
    assert Api(None).get(f"/v1/appointments/{made['id']}.ics").status_code == 401


def test_a_feed_token_is_made_used_replaced_and_revoked(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    booked = book(cw_a, authority_a, owner, at(7), at(7, 11))
    phoned = book(cw_a, authority_a, owner, at(8), at(8, 11), kind="school_meeting", title="",
                  location={"kind": "phone", "phone": "0113 496 0000"})
    dropped = book(cw_a, authority_a, owner, at(9), at(9, 11), title="Tribunal preparation")
    assert cw_a.post(f"/v1/appointments/{dropped['id']}/cancel", {"reason": "moved"}).status_code == 200
    assert feed(owner, "ft_" + "A" * 43).status_code == 404  # no token made yet

    r = cw_a.post(f"/v1/calendars/{owner}/feed-token", {})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert token.startswith("ft_") and len(token) >= 3 + 43  # 256 random bits, base64url
    r = feed(owner, token)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert r.headers["Cache-Control"] == "private, no-cache" and "RateLimit-Policy" in r.headers
    cal = icalendar.Calendar.from_ical(r.content)
    assert "METHOD" not in cal
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{x['id']}@parley" for x in (booked, phoned, dropped)}
    assert str(events[f"{booked['id']}@parley"]["SUMMARY"]) == "Annual review"
    assert str(events[f"{booked['id']}@parley"]["LOCATION"]) == "Riverside School, 1 Mill Lane"
    assert str(events[f"{phoned['id']}@parley"]["SUMMARY"]) == "School meeting"
    assert str(events[f"{phoned['id']}@parley"]["LOCATION"]) == "Telephone"
    assert str(events[f"{dropped['id']}@parley"]["STATUS"]) == "CANCELLED"
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"
    # Only times, what and where: no participant, no access need, no phone number.
    for word in ("ATTENDEE", "DESCRIPTION", "Ana Family", "Sam Supporter", "quiet room", "0113", "interpreter",
                 "BSL", "caseId", booked["caseId"]):
        assert word not in r.text, word
    assert feed(owner, token, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304

    # A new token replaces the old one at once; a revoked one is refused on the very next request.
    r = cw_a.post(f"/v1/calendars/{owner}/feed-token", {})
    assert r.status_code == 200, r.text
    second = r.json()["token"]
    assert second != token
    assert feed(owner, token).status_code == 404
    assert feed(owner, second).status_code == 200
    r = cw_a.s.delete(f"{cw_a.base}/v1/calendars/{owner}/feed-token", timeout=10)
    assert r.status_code == 200 and r.json()["revoked"] is True, r.text
    assert feed(owner, second).status_code == 404
    r = cw_a.s.delete(f"{cw_a.base}/v1/calendars/{owner}/feed-token", timeout=10)
    assert r.status_code == 200 and r.json()["revoked"] is False


def test_a_replay_of_the_post_never_shows_the_token_again(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = cw_a.post(f"/v1/calendars/{owner}/feed-token", {}, headers=key)
    again = cw_a.post(f"/v1/calendars/{owner}/feed-token", {}, headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    token = first.json()["token"]
    assert "token" not in again.json() and "not kept" in again.json()["tokenNotice"]
    assert token not in again.text
    assert feed(owner, token).status_code == 200  # the replay made no new token


def test_every_miss_is_the_same_404(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    token = cw_a.post(f"/v1/calendars/{owner}/feed-token", {}).json()["token"]
    misses = {
        "wrong token": feed(owner, token[:-1] + ("A" if token[-1] != "A" else "B")),
        "no such calendar": feed(str(uuid.uuid4()), token),
        "a calendar without a token": feed(str(uuid.uuid4()), "ft_" + "A" * 43),
        "no token at all": requests.get(f"{ENV['PARLEY_URL']}/v1/calendars/{owner}.ics", timeout=10),
    }

    def shape(r):
        body = r.json()
        return r.status_code, r.headers["Content-Type"], {k: v for k, v in body.items()
                                                           if k not in ("requestId", "instance")}
    shapes = {name: shape(r) for name, r in misses.items()}
    assert len({repr(s) for s in shapes.values()}) == 1, shapes
    assert shapes["wrong token"][0] == 404


def test_the_token_is_in_no_log_line_and_no_audit_row(cw_a, authority_a, admin):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    book(cw_a, authority_a, owner, at(3), at(3, 11))
    token = cw_a.post(f"/v1/calendars/{owner}/feed-token", {}).json()["token"]
    assert feed(owner, token).status_code == 200
    assert feed(owner, token + "x").status_code == 404
    for path in LOG_DIR.glob("*.log"):
        assert token not in path.read_text(errors="replace"), f"the feed token is in {path}"
    rows = admin.get("/v1/audit", params={"recordId": owner}).json()["items"]
    routes = [row.get("route") for row in rows]
    assert "GET /v1/calendars/{ownerId}.ics" in routes and "POST /v1/calendars/{ownerId}/feed-token" in routes
    assert token not in repr(rows) and token[3:] not in repr(rows)


def test_another_authority_s_calendar_is_unreachable(cw_a, cw_b, authority_a, authority_b):
    supporter = make_supporter(cw_a, [authority_a])
    owner = supporter["id"]
    put_calendar(cw_a, owner, authority_a)
    own_key = Api(make_client(["supporter"], [authority_a], supporterId=owner))
    other = make_supporter(cw_a, [authority_a])
    put_calendar(cw_a, other["id"], authority_a)
    # B's staff can neither make nor revoke A's token; a supporter only its own.
    assert cw_b.post(f"/v1/calendars/{owner}/feed-token", {}).status_code == 404
    assert cw_b.s.delete(f"{cw_b.base}/v1/calendars/{owner}/feed-token", timeout=10).status_code == 404
    assert own_key.post(f"/v1/calendars/{other['id']}/feed-token", {}).status_code == 404
    r = own_key.post(f"/v1/calendars/{owner}/feed-token", {})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert feed(owner, token).status_code == 200
    # The token opens that calendar's feed and nothing else.
    assert feed(other["id"], token).status_code == 404
    b_owner = str(uuid.uuid4())
    put_calendar(cw_b, b_owner, authority_b)
    assert feed(b_owner, token).status_code == 404
    # An API key is no way in either: the feed asks for its token alone.
    r = requests.get(f"{ENV['PARLEY_URL']}/v1/calendars/{b_owner}.ics", params={"token": token}, timeout=10,
                     headers={"Authorization": cw_a.s.headers["Authorization"]})
    assert r.status_code == 404
