"""Match requests, offers and assignments: the best candidate is offered;
accept makes an assignment, decline and expiry move to the next candidate;
with none the family waits and is matched again when capacity appears,
longest-waiting first; every step is an event in the outbox for notify."""
import os
import uuid
from datetime import datetime

from matching_helpers import (count, events, make_case, make_supporter, patch, request_match,  # noqa: F401
                              tenant, wait_for)


def _ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _request(api, mr_id):
    r = api.get(f"/v1/match-requests/{mr_id}")
    assert r.status_code == 200, r.text
    return r.json()


def test_a_request_offers_the_best_candidate_and_accepting_makes_an_assignment(tenant, db):
    best = make_supporter(tenant.cw_x, [tenant.x], specialisms=["autism"], areas=["N1"])
    make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    r = tenant.cw_x.post("/v1/match-requests", {"caseId": case["id"]})
    assert r.status_code == 201, r.text
    mr = r.json()
    assert r.headers["Location"] == f"/v1/match-requests/{mr['id']}"
    assert mr["status"] == "offered" and mr["caseId"] == case["id"] and mr["authorityId"] == tenant.x
    offer = mr["currentOffer"]
    assert offer["supporterId"] == best["id"] and offer["status"] == "pending"
    ttl = int(os.environ.get("PARLEY_OFFER_TTL_SECONDS", 72 * 3600))
    assert abs((_ts(offer["expiresAt"]) - _ts(offer["offeredAt"])).total_seconds() - ttl) < 2
    assert tenant.cw_x.get(f"/v1/supporters/{best['id']}").json()["pendingOffers"] == 1

    r = tenant.supporter_x.post(f"/v1/offers/{offer['id']}/accept", {})
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["status"] == "accepted" and accepted["assignmentId"]
    # Accepting again changes nothing.
    assert tenant.supporter_x.post(f"/v1/offers/{offer['id']}/accept", {}).json() == accepted
    mr = _request(tenant.cw_x, mr["id"])
    assert mr["status"] == "matched" and mr["assignmentId"] == accepted["assignmentId"]
    assert "currentOffer" not in mr
    s = tenant.cw_x.get(f"/v1/supporters/{best['id']}").json()
    assert (s["activeAssignments"], s["pendingOffers"], s["freePlaces"]) == (1, 0, 2)
    items = tenant.cw_x.get("/v1/assignments", params={"caseId": case["id"]}).json()["items"]
    assert [a["id"] for a in items] == [accepted["assignmentId"]]
    assert items[0]["status"] == "active" and items[0]["supporterId"] == best["id"]
    assert [t for t, _ in events(db, case["id"])] == ["match.offered", "match.accepted"]
    data = dict(events(db, case["id"], "match.accepted"))["match.accepted"]
    assert data["assignmentId"] == accepted["assignmentId"] and data["supporterId"] == best["id"]
    # A second request for a case that has its supporter is refused.
    again = tenant.cw_x.post("/v1/match-requests", {"caseId": case["id"]})
    assert again.status_code == 409


def test_declining_moves_to_the_next_candidate_and_never_back(tenant, db):
    first = make_supporter(tenant.cw_x, [tenant.x], areas=["N1"])
    second = make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["currentOffer"]["supporterId"] == first["id"]
    r = tenant.supporter_x.post(f"/v1/offers/{mr['currentOffer']['id']}/decline", {"reason": "too far to travel"})
    assert r.status_code == 200, r.text
    declined = r.json()
    assert declined["status"] == "declined" and declined["answerReason"] == "too far to travel"
    mr = _request(tenant.cw_x, mr["id"])
    assert mr["currentOffer"]["supporterId"] == second["id"]
    assert declined["nextOfferId"] == mr["currentOffer"]["id"]
    # Declined twice over: nobody is left, and the first is not asked again.
    r = tenant.cw_x.post(f"/v1/offers/{mr['currentOffer']['id']}/decline", {})
    assert r.status_code == 200 and "nextOfferId" not in r.json()
    mr = _request(tenant.cw_x, mr["id"])
    assert mr["status"] == "waiting"
    assert [o["status"] for o in mr["offers"]] == ["declined", "declined"]
    # A declined offer cannot then be accepted.
    assert tenant.cw_x.post(f"/v1/offers/{declined['id']}/accept", {}).status_code == 409
    assert [t for t, _ in events(db, case["id"])] == [
        "match.offered", "match.declined", "match.offered", "match.declined", "match.waiting"]


def test_with_no_candidate_the_family_waits_until_a_supporter_joins(tenant, db):
    case = make_case(tenant.cw_x, tenant.x, language="so", comm=["interpreter"])
    make_supporter(tenant.cw_x, [tenant.x], languages=["en"])
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["status"] == "waiting" and mr["offers"] == []
    assert [t for t, _ in events(db, case["id"])] == ["match.waiting"]
    somali = make_supporter(tenant.cw_x, [tenant.x], languages=["so", "en"])
    got = wait_for(lambda: _request(tenant.cw_x, mr["id"]).get("currentOffer"))
    assert got and got["supporterId"] == somali["id"]


def test_ending_an_assignment_offers_the_place_to_the_longest_waiting_family(tenant, db):
    s = make_supporter(tenant.cw_x, [tenant.x], capacity=1)
    first_case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, first_case["id"])
    assignment = tenant.cw_x.post(f"/v1/offers/{mr['currentOffer']['id']}/accept", {}).json()["assignmentId"]
    older = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"])
    newer = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"])
    assert older["status"] == newer["status"] == "waiting"

    r = tenant.cw_x.post(f"/v1/assignments/{assignment}/end", {"reason": "family's tribunal settled"})
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["status"] == "ended" and ended["endedAt"] and ended["endReason"] == "family's tribunal settled"
    assert tenant.cw_x.post(f"/v1/assignments/{assignment}/end", {}).json() == ended  # again: unchanged
    assert [t for t, _ in events(db, first_case["id"])][-1] == "assignment.ended"
    got = wait_for(lambda: _request(tenant.cw_x, older["id"]).get("currentOffer"))
    assert got and got["supporterId"] == s["id"]
    assert _request(tenant.cw_x, newer["id"])["status"] == "waiting"
    listed = tenant.cw_x.get("/v1/assignments", params={"supporterId": s["id"], "status": "ended"}).json()["items"]
    assert [a["id"] for a in listed] == [assignment]


def test_an_unanswered_offer_lapses_and_moves_to_the_next_candidate(tenant, db):
    first = make_supporter(tenant.cw_x, [tenant.x], areas=["N1"])
    second = make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, case["id"])
    offer = mr["currentOffer"]
    assert offer["supporterId"] == first["id"]
    # The offer's time runs out (as if PARLEY_OFFER_TTL_SECONDS had passed).
    with db.cursor() as c:
        c.execute("UPDATE matching.offers SET expires_at = now() - interval '1 second' WHERE id = %s", (offer["id"],))
    got = wait_for(
        lambda: (_request(tenant.cw_x, mr["id"]).get("currentOffer") or {}).get("supporterId") == second["id"])
    assert got
    mr = _request(tenant.cw_x, mr["id"])
    assert [o["status"] for o in mr["offers"]] == ["expired", "pending"]
    assert mr["offers"][0]["answerReason"] == "not answered in time"
    lapsed = [d for t, d in events(db, case["id"], "match.declined")]
    assert lapsed and lapsed[0]["expired"] is True and lapsed[0]["offerId"] == offer["id"]
    assert tenant.cw_x.post(f"/v1/offers/{offer['id']}/accept", {}).status_code == 409
    assert tenant.cw_x.get(f"/v1/supporters/{first['id']}").json()["pendingOffers"] == 0


def test_one_open_request_a_case(tenant):
    make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, case["id"])
    r = tenant.cw_x.post("/v1/match-requests", {"caseId": case["id"]})
    assert r.status_code == 409 and mr["id"] in r.json()["detail"]


def test_another_authoritys_requests_offers_and_assignments_are_404(tenant):
    make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, case["id"])
    offer = mr["currentOffer"]["id"]
    assert tenant.cw_y.get(f"/v1/match-requests/{mr['id']}").status_code == 404
    assert tenant.cw_y.post(f"/v1/offers/{offer}/decline", {}).status_code == 404
    assert tenant.cw_y.post(f"/v1/offers/{offer}/accept", {}).status_code == 404
    assignment = tenant.cw_x.post(f"/v1/offers/{offer}/accept", {}).json()["assignmentId"]
    assert tenant.cw_y.post(f"/v1/assignments/{assignment}/end", {}).status_code == 404
    assert tenant.cw_y.get("/v1/assignments", params={"caseId": case["id"]}).json()["items"] == []
    assert tenant.cw_x.get(f"/v1/match-requests/{uuid.uuid4()}").status_code == 404
    assert tenant.cw_x.post(f"/v1/offers/{uuid.uuid4()}/accept", {}).status_code == 404


def test_bad_requests_are_400_naming_the_field(tenant):
    r = tenant.cw_x.post("/v1/match-requests", {"caseId": "nope", "preferences": {"excludeSupporterIds": ["x"]}})
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"caseId", "preferences.excludeSupporterIds[0]"}
    r = tenant.cw_x.post("/v1/match-requests", {"caseId": str(uuid.uuid4()), "status": "matched"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "status"
    r = tenant.cw_x.get("/v1/assignments", params={"supporterId": "x"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "supporterId"


def test_a_family_asking_intake_for_a_supporter_is_put_on_the_list_and_offered(tenant, db):
    s = make_supporter(tenant.cw_x, [tenant.x], languages=["pl", "en"])
    case = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"], wants_supporter=True)
    # intake's case.supporter_requested reaches matching through intake's relay.
    found = wait_for(lambda: count(db, "SELECT count(*) FROM matching.offers WHERE case_id = %s AND status = 'pending'",
                                   case["id"]))
    assert found == 1
    with db.cursor() as c:
        c.execute("SELECT id, source FROM matching.match_requests WHERE case_id = %s", (case["id"],))
        (mr_id, source), = c.fetchall()
    assert source == "event"
    mr = _request(tenant.cw_x, mr_id)
    assert mr["currentOffer"]["supporterId"] == s["id"]
    assert count(db, "SELECT languages::text FROM matching.case_profiles WHERE case_id = %s", case["id"]) == "{pl}"
    # The event is handled once, however often it comes.
    assert count(db, "SELECT count(*) FROM matching.inbox i JOIN intake.outbox o ON o.id = i.event_id"
                     " WHERE o.subject_id = %s", case["id"]) == 1
