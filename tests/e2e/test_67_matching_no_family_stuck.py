"""No family stuck on the waiting list (issue 12, item 1).

A lapsed offer is not a refusal: its supporter is kept out of the request
only for the cool-off (PARLEY_MATCHING_OFFER_COOLOFF_SECONDS, 3 s on the
test stack), then offered the family again; a decline still keeps them out.
A caseworker sees what happened (each offer's outcome and dates), cancels or
retries a request, and lists requests by case and status. A family PATCH or
a supporter PATCH that makes someone fit re-matches the waiting families on
the sweeper's next passes, however many others wait."""
import threading
import uuid
from datetime import datetime

import pytest

from conftest import ENV
from matching_helpers import events, make_case, make_supporter, patch, request_match, tenant, wait_for  # noqa: F401

COOLOFF = int(ENV.get("PARLEY_MATCHING_OFFER_COOLOFF_SECONDS", "172800"))
needs_short_cooloff = pytest.mark.skipif(COOLOFF > 30, reason="needs the test stack's short offer cool-off")


def _get(api, mr_id):
    r = api.get(f"/v1/match-requests/{mr_id}")
    assert r.status_code == 200, r.text
    return r.json()


def _at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _lapse(db, offer_id):
    """The offer's time runs out (as if PARLEY_OFFER_TTL_SECONDS had passed)."""
    with db.cursor() as c:
        c.execute("UPDATE matching.offers SET expires_at = now() - interval '1 second' WHERE id = %s", (offer_id,))


def _problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["code"] == code, r.json()
    return r.json()


@needs_short_cooloff
def test_a_lapsed_offer_is_offered_again_after_the_cool_off_and_the_family_is_matched(tenant, db):
    only = make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, case["id"])
    first = mr["currentOffer"]
    assert first["supporterId"] == only["id"]
    _lapse(db, first["id"])

    # The caseworker sees the lapse, and when the supporter may be offered again.
    lapsed = wait_for(lambda: (lambda m: m if m["offers"][0]["status"] == "expired" else None)(
        _get(tenant.cw_x, mr["id"])))
    assert lapsed, _get(tenant.cw_x, mr["id"])
    gone = lapsed["offers"][0]
    assert gone["answerReason"] == "not answered in time" and gone["answeredAt"] and gone["mayOfferAgainAt"]
    assert _at(gone["mayOfferAgainAt"]) > _at(gone["answeredAt"])
    assert lapsed["lastAttemptAt"]

    # After the cool-off, the same supporter is offered the family again.
    again = wait_for(lambda: (_get(tenant.cw_x, mr["id"]).get("currentOffer") or {}).get("id") not in (None,
                                                                                                   first["id"]),
                     timeout=COOLOFF + 30)
    assert again, _get(tenant.cw_x, mr["id"])
    mr = _get(tenant.cw_x, mr["id"])
    second = mr["currentOffer"]
    assert second["supporterId"] == only["id"]
    assert _at(second["offeredAt"]) >= _at(gone["mayOfferAgainAt"])  # not before the cool-off ended
    r = tenant.cw_x.post(f"/v1/offers/{second['id']}/accept", {})
    assert r.status_code == 200, r.text
    mr = _get(tenant.cw_x, mr["id"])
    assert mr["status"] == "matched"
    assert [(o["supporterId"], o["status"]) for o in mr["offers"]] == [(only["id"], "expired"),
                                                                       (only["id"], "accepted")]


@needs_short_cooloff
def test_a_decline_still_keeps_the_supporter_out_after_the_cool_off(tenant):
    only = make_supporter(tenant.cw_x, [tenant.x])
    mr = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"])
    r = tenant.cw_x.post(f"/v1/offers/{mr['currentOffer']['id']}/decline", {"reason": "no evenings"})
    assert r.status_code == 200, r.text
    declined = _get(tenant.cw_x, mr["id"])
    assert declined["status"] == "waiting" and "mayOfferAgainAt" not in declined["offers"][0]
    # Past the cool-off a retry tries the family now: the decliner is still out.
    assert wait_for(lambda: (datetime.now().astimezone() - _at(declined["offers"][0]["answeredAt"])).total_seconds()
                    > COOLOFF, timeout=COOLOFF + 10)
    r = tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/retry", {})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "waiting" and len(got["offers"]) == 1
    assert _at(got["lastAttemptAt"]) > _at(declined["lastAttemptAt"])
    assert "currentOffer" not in got and got["offers"][0]["supporterId"] == only["id"]


def test_cancel_ends_the_request_withdraws_its_offer_and_releases_the_place(tenant, db):
    s = make_supporter(tenant.cw_x, [tenant.x], capacity=1)
    case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, case["id"])
    offer = mr["currentOffer"]["id"]
    assert tenant.cw_x.get(f"/v1/supporters/{s['id']}").json()["pendingOffers"] == 1

    # Another authority's caseworker: 404, as for an id that does not exist.
    assert tenant.cw_y.post(f"/v1/match-requests/{mr['id']}/cancel", {}).status_code == 404
    assert tenant.cw_y.post(f"/v1/match-requests/{mr['id']}/retry", {}).status_code == 404
    assert tenant.cw_x.post(f"/v1/match-requests/{uuid.uuid4()}/cancel", {}).status_code == 404
    # A stale If-Match: 412, nothing changed.
    r = tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/cancel", {}, headers={"If-Match": f'"{mr["version"] + 5}"'})
    _problem(r, 412, "stale_version")
    assert _get(tenant.cw_x, mr["id"])["status"] == "offered"

    r = tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/cancel", {"reason": "The family moved away."},
                         headers={"If-Match": f'"{mr["version"]}"'})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status"], got["cancelledBy"], got["cancelReason"]) == ("cancelled", "caseworker",
                                                                          "The family moved away.")
    assert got["version"] == mr["version"] + 1 and "currentOffer" not in got
    assert [o["status"] for o in got["offers"]] == ["withdrawn"]
    assert tenant.cw_x.get(f"/v1/supporters/{s['id']}").json()["pendingOffers"] == 0
    (data,) = [d for _, d in events(db, case["id"], "match.cancelled")]
    assert (data["matchRequestId"], data["withdrawnOfferId"]) == (mr["id"], offer)

    # Ended: cancelling again is 409, and the case may ask again.
    _problem(tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/cancel", {}), 409, "match_request_ended")
    assert _get(tenant.cw_x, mr["id"]) == got
    request_match(tenant.cw_x, case["id"])


def test_retry_reopens_a_cancelled_request_and_refuses_what_it_cannot_retry(tenant):
    s = make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    mr = request_match(tenant.cw_x, case["id"])
    # While an offer awaits an answer: 409.
    body = _problem(tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/retry", {}), 409, "match_request_offered")
    assert mr["currentOffer"]["id"] in body["detail"]
    assert tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/cancel", {}).status_code == 200

    # A request a caseworker cancelled is reopened and tried now: offered.
    r = tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/retry", {})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "offered" and got["currentOffer"]["supporterId"] == s["id"]
    assert "cancelledBy" not in got and "cancelReason" not in got
    assert [o["status"] for o in got["offers"]] == ["withdrawn", "pending"]

    # Matched: 409 for both.
    assert tenant.cw_x.post(f"/v1/offers/{got['currentOffer']['id']}/accept", {}).status_code == 200
    _problem(tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/retry", {}), 409, "match_request_ended")
    _problem(tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/cancel", {}), 409, "match_request_ended")


def test_retry_of_a_cancelled_request_whose_case_has_another_or_was_closed_is_409(tenant):
    make_supporter(tenant.cw_x, [tenant.x], languages=["kw"])  # nobody speaks the families' Somali
    case = make_case(tenant.cw_x, tenant.x, language="so")
    old = request_match(tenant.cw_x, case["id"])
    assert old["status"] == "waiting"
    assert tenant.cw_x.post(f"/v1/match-requests/{old['id']}/cancel", {}).status_code == 200
    new = request_match(tenant.cw_x, case["id"])
    body = _problem(tenant.cw_x.post(f"/v1/match-requests/{old['id']}/retry", {}), 409, "match_request_open")
    assert new["id"] in body["detail"]

    # A waiting request is tried now (still no one): 200, tried again.
    r = tenant.cw_x.post(f"/v1/match-requests/{new['id']}/retry", {})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting" and _at(r.json()["lastAttemptAt"]) >= _at(new["lastAttemptAt"])

    # The case closed in intake: its request is cancelled for good.
    assert tenant.cw_x.post(f"/v1/cases/{case['id']}/close", {"outcome": "information_provided"}).status_code == 200
    closed = wait_for(lambda: _get(tenant.cw_x, new["id"]).get("cancelledBy") == "case_closed")
    assert closed, _get(tenant.cw_x, new["id"])
    _problem(tenant.cw_x.post(f"/v1/match-requests/{new['id']}/retry", {}), 409, "case_closed")
    _problem(tenant.cw_x.post(f"/v1/match-requests/{old['id']}/retry", {}), 409, "case_closed")


def test_list_by_case_and_status_keyset_paged_and_bounded_by_tenancy(tenant):
    make_supporter(tenant.cw_x, [tenant.x], languages=["kw"])
    case = make_case(tenant.cw_x, tenant.x, language="so")
    other = make_case(tenant.cw_x, tenant.x, language="so")
    ids = []
    for _ in range(3):
        mr = request_match(tenant.cw_x, case["id"])
        ids.append(mr["id"])
        if len(ids) < 3:
            assert tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/cancel", {}).status_code == 200
    other_mr = request_match(tenant.cw_x, other["id"])

    page = tenant.cw_x.get("/v1/match-requests", params={"caseId": case["id"], "pageSize": 2})
    assert page.status_code == 200, page.text
    page = page.json()
    assert [m["id"] for m in page["items"]] == ids[:2] and page["nextPageToken"]
    assert page["items"][0] == _get(tenant.cw_x, ids[0])  # each as GET answers it
    rest = tenant.cw_x.get("/v1/match-requests", params={"caseId": case["id"], "pageSize": 2,
                                                          "pageToken": page["nextPageToken"]}).json()
    assert [m["id"] for m in rest["items"]] == ids[2:] and "nextPageToken" not in rest

    def listed(**params):
        r = tenant.cw_x.get("/v1/match-requests", params=params)
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["items"]]

    assert listed(caseId=case["id"], status="cancelled") == ids[:2]
    assert listed(caseId=case["id"], status="waiting") == ids[2:]
    assert listed(caseId=other["id"], status="waiting") == [other_mr["id"]]
    # Another authority's caseworker sees none of them.
    r = tenant.cw_y.get("/v1/match-requests", params={"caseId": case["id"]})
    assert r.status_code == 200 and r.json()["items"] == []
    r = tenant.cw_x.get("/v1/match-requests", params={"caseId": "nope"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "caseId"


def test_a_family_patch_that_makes_a_supporter_fit_re_matches_its_waiting_request(tenant):
    polish = make_supporter(tenant.cw_x, [tenant.x], languages=["pl"])
    case = make_case(tenant.cw_x, tenant.x, language="so", comm=["interpreter"])
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["status"] == "waiting"
    fam = tenant.cw_x.get(f"/v1/families/{case['familyId']}").json()
    parents = [{k: v for k, v in p.items() if k != "id"} | {"parentId": p["id"]} for p in fam["parents"]]
    parents[0]["preferredLanguage"] = "pl"
    r = patch(tenant.cw_x, f"/v1/families/{fam['id']}", {"parents": parents})
    assert r.status_code == 200, r.text
    got = wait_for(lambda: _get(tenant.cw_x, mr["id"]).get("currentOffer"), timeout=20)
    assert got and got["supporterId"] == polish["id"], _get(tenant.cw_x, mr["id"])


@pytest.fixture
def backlog(db, tenant):
    """150 families of Y waiting for a Somali speaker nobody is, longer than
    anyone: stored as intake's events would store them."""
    ids = []
    with db.cursor() as c:
        for _ in range(150):
            case_id, family_id, mr_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            c.execute("INSERT INTO matching.case_profiles (case_id, authority_id, family_id, languages, source)"
                      " VALUES (%s, %s, %s, '{so}', 'event')", (str(case_id), tenant.y, str(family_id)))
            c.execute("INSERT INTO matching.match_requests (id, authority_id, case_id, family_id, status,"
                      " waiting_since, source) VALUES (%s, %s, %s, %s, 'waiting', now() - interval '30 days', 'event')",
                      (str(mr_id), tenant.y, str(case_id), str(family_id)))
            ids.append(str(mr_id))
    yield ids
    with db.cursor() as c:
        c.execute("UPDATE matching.match_requests SET status = 'cancelled', cancelled_by = 'api'"
                  " WHERE id = ANY (%s::uuid[])", (ids,))


def _churn(api, supporter):
    """Changes supporter's areas every 0.2 s until the returned event is set:
    capacity 'appears' all the time, so every pass finds every family due."""
    stop = threading.Event()

    def run():
        n = 0
        while not stop.is_set():
            n += 1
            patch(api, f"/v1/supporters/{supporter['id']}", {"areas": [f"E{n % 20 + 1}"]})
            stop.wait(0.2)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return stop, t


def test_a_new_supporter_is_offered_the_newest_family_however_many_wait_longer(tenant, backlog):
    """No family is marked due here (a new supporter only signals capacity):
    the passes take the least recently tried first, so the newest family is
    tried within a few passes, not never."""
    busy = make_supporter(tenant.cw_y, [tenant.y], languages=["kw"])
    case = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"])
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["status"] == "waiting"
    stop, t = _churn(tenant.cw_y, busy)
    try:
        polish = make_supporter(tenant.cw_x, [tenant.x], languages=["pl"])
        got = wait_for(lambda: _get(tenant.cw_x, mr["id"]).get("currentOffer"), timeout=30)
    finally:
        stop.set()
        t.join(timeout=10)
    assert got and got["supporterId"] == polish["id"], _get(tenant.cw_x, mr["id"])


def test_a_supporter_patch_re_matches_within_the_sweep_interval_however_many_wait(tenant, backlog):
    """More families wait than a pass takes (PARLEY_MATCHING_BATCH, 100), and
    capacity keeps appearing (another supporter's areas change all the
    time): every pass finds them all due. The newest family is still tried
    in turn, not left behind the longest-waiting ones for ever."""
    busy = make_supporter(tenant.cw_y, [tenant.y], languages=["kw"])
    english = make_supporter(tenant.cw_x, [tenant.x], languages=["en"])
    case = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"])
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["status"] == "waiting"

    stop, t = _churn(tenant.cw_y, busy)
    try:
        r = patch(tenant.cw_x, f"/v1/supporters/{english['id']}", {"languages": ["en", "pl"]})
        assert r.status_code == 200, r.text
        got = wait_for(lambda: _get(tenant.cw_x, mr["id"]).get("currentOffer"), timeout=30)
    finally:
        stop.set()
        t.join(timeout=10)
    assert got and got["supporterId"] == english["id"], _get(tenant.cw_x, mr["id"])
