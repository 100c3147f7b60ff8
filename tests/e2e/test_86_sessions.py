"""Group sessions (issue 14): capacity and the waiting list under
concurrency over three scheduling processes, a cancellation promoting the
first waiting booking exactly once, a session cancelled whole, tenancy."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import scale


def session_body(authority, capacity=25, **over):
    body = {"authorityId": authority, "title": "Preparing for an annual review", "kind": "workshop",
            "audience": ["parents"], "language": "pl", "capacity": capacity,
            "start": "2027-06-15T17:00:00Z", "end": "2027-06-15T19:00:00Z",
            "location": {"kind": "video", "link": "https://meet.example.org/review"}}
    body.update(over)
    return body


def make_session(api, authority, **over):
    r = api.post("/v1/sessions", session_body(authority, **over))
    assert r.status_code == 201, r.text
    return r.json()


def concurrently(api, calls):
    """[(path, body)] posted at once; the answers in the same order."""
    gate = threading.Barrier(len(calls))

    def one(call):
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {api.key}"
        gate.wait(timeout=30)
        return s.post(api.base + call[0], json=call[1], timeout=30)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def test_thirty_bookings_for_25_seats_then_one_cancellation_promotes_the_first_waiting_once(cw_a, authority_a, db):
    session = make_session(cw_a, authority_a)
    scale("scheduling", 3)
    try:
        answers = concurrently(cw_a, [(f"/v1/sessions/{session['id']}/bookings", {"name": f"Parent {i}"})
                                      for i in range(30)])
        assert all(r.status_code == 201 for r in answers), [r.text[:200] for r in answers if r.status_code != 201]
        bookings = [r.json() for r in answers]
        confirmed = [b for b in bookings if b["status"] == "confirmed"]
        waiting = [b for b in bookings if b["status"] == "waitlisted"]
        assert len(confirmed) == 25 and len(waiting) == 5
        # Positions 1..5 in the order the waiting bookings were made.
        waiting.sort(key=lambda b: b["position"])
        assert [b["position"] for b in waiting] == [1, 2, 3, 4, 5]
        assert [b["createdAt"] for b in waiting] == sorted(b["createdAt"] for b in waiting)
        got = cw_a.get(f"/v1/sessions/{session['id']}").json()
        assert (got["confirmed"], got["waitlisted"]) == (25, 5)

        # The same cancellation sent five times at once, over three processes.
        seat = confirmed[0]["id"]
        tries = concurrently(cw_a, [(f"/v1/bookings/{seat}/cancel", {})] * 5)
        codes = sorted(r.status_code for r in tries)
        assert codes == [200, 409, 409, 409, 409], [(r.status_code, r.text[:200]) for r in tries]
        done = next(r.json() for r in tries if r.status_code == 200)
        assert done["status"] == "cancelled" and done["promotedBookingId"] == waiting[0]["id"]
        assert all(r.json()["code"] == "booking_cancelled" for r in tries if r.status_code == 409)
    finally:
        scale("scheduling", 1)
    first = cw_a.get(f"/v1/bookings/{waiting[0]['id']}").json()
    assert first["status"] == "confirmed" and first["position"] == 0 and first.get("promotedAt")
    assert [cw_a.get(f"/v1/bookings/{b['id']}").json()["position"] for b in waiting[1:]] == [1, 2, 3, 4]
    got = cw_a.get(f"/v1/sessions/{session['id']}").json()
    assert (got["confirmed"], got["waitlisted"]) == (25, 4)
    with db.cursor() as c:
        c.execute("SELECT data FROM scheduling.outbox WHERE type = 'session.booking_promoted' AND subject_id = %s",
                  (session["id"],))
        rows = [r[0] for r in c.fetchall()]
    assert rows == [{"sessionId": session["id"], "bookingId": waiting[0]["id"]}]


def test_a_waiting_booking_cancelled_promotes_nobody(cw_a, authority_a):
    session = make_session(cw_a, authority_a, capacity=1)
    seat = cw_a.post(f"/v1/sessions/{session['id']}/bookings", {"name": "A"}).json()
    w1 = cw_a.post(f"/v1/sessions/{session['id']}/bookings", {"name": "B"}).json()
    w2 = cw_a.post(f"/v1/sessions/{session['id']}/bookings", {"name": "C"}).json()
    assert (seat["status"], w1["status"], w1["position"], w2["position"]) == ("confirmed", "waitlisted", 1, 2)
    r = cw_a.post(f"/v1/bookings/{w1['id']}/cancel", {})
    assert r.status_code == 200 and "promotedBookingId" not in r.json(), r.text
    assert cw_a.get(f"/v1/bookings/{w2['id']}").json()["position"] == 1
    assert cw_a.get(f"/v1/bookings/{seat['id']}").json()["status"] == "confirmed"


def test_a_cancelled_session_cancels_its_bookings_and_takes_no_more(cw_a, authority_a, db):
    session = make_session(cw_a, authority_a, capacity=2)
    b = cw_a.post(f"/v1/sessions/{session['id']}/bookings", {"name": "A", "email": "a@example.org"}).json()
    r = cw_a.post(f"/v1/sessions/{session['id']}/cancel", {"reason": "the venue is closed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["confirmed"] == 0
    assert cw_a.get(f"/v1/bookings/{b['id']}").json()["status"] == "cancelled"
    r = cw_a.post(f"/v1/sessions/{session['id']}/bookings", {"name": "Late"})
    assert r.status_code == 409 and r.json()["code"] == "session_cancelled", r.text
    assert cw_a.post(f"/v1/sessions/{session['id']}/cancel", {"reason": "again"}).status_code == 409
    with db.cursor() as c:
        c.execute("SELECT data FROM scheduling.outbox WHERE type = 'session.cancelled' AND subject_id = %s",
                  (session["id"],))
        assert [r[0] for r in c.fetchall()] == [{"sessionId": session["id"]}]


def test_sessions_check_their_fields_and_list_soonest_first(cw_a, authority_a):
    for over, field in (({"capacity": 0}, "capacity"), ({"capacity": 501}, "capacity"),
                        ({"end": "2027-06-15T16:00:00Z"}, "end"), ({"location": {"kind": "in_person"}}, "location.address"),
                        ({"audience": []}, "audience")):
        r = cw_a.post("/v1/sessions", session_body(authority_a, **over))
        assert r.status_code == 400, (over, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (over, r.text)
    later = make_session(cw_a, authority_a, start="2027-07-01T10:00:00Z", end="2027-07-01T11:00:00Z")
    sooner = make_session(cw_a, authority_a, start="2027-06-01T10:00:00Z", end="2027-06-01T11:00:00Z")
    r = cw_a.get("/v1/sessions", params={"authorityId": authority_a, "pageSize": 1})
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["items"]] == [sooner["id"]]
    r = cw_a.get("/v1/sessions", params={"authorityId": authority_a, "pageSize": 1,
                                         "pageToken": r.json()["nextPageToken"]})
    assert [s["id"] for s in r.json()["items"]] == [later["id"]]


def test_another_authority_gets_404_on_sessions_and_bookings(cw_a, cw_b, authority_a):
    session = make_session(cw_a, authority_a, capacity=1)
    b = cw_a.post(f"/v1/sessions/{session['id']}/bookings", {"name": "A"}).json()
    assert cw_b.get(f"/v1/sessions/{session['id']}").status_code == 404
    assert cw_b.get(f"/v1/bookings/{b['id']}").status_code == 404
    assert cw_b.post(f"/v1/sessions/{session['id']}/bookings", {"name": "B"}).status_code == 404
    assert cw_b.post(f"/v1/bookings/{b['id']}/cancel", {}).status_code == 404
    assert cw_b.post(f"/v1/sessions/{session['id']}/cancel", {"reason": "x"}).status_code == 404
    assert [s["id"] for s in cw_b.get("/v1/sessions").json()["items"]] == []
    assert cw_a.get(f"/v1/bookings/{b['id']}").json()["status"] == "confirmed"
    assert cw_a.get(f"/v1/sessions/{session['id']}").json()["status"] == "scheduled"
