"""Caseworkers' views of matching (issue 12, items 1, 6 and 7): unmet demand
by postcode district as well as language and need; a family waiting while a
fitting supporter is free is a matching failure to look at, not "not short";
a supporter ruled out shows what they would have scored; and asking for a
case's candidates (a POST) is audited as the read it is."""
import time
import uuid

from matching_helpers import candidates, make_case, make_supporter, patch, request_match, tenant  # noqa: F401


def _demand(api, authority):
    r = api.get("/v1/matching/unmet-demand", params={"authorityId": authority})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_family_waiting_while_a_fitting_supporter_is_free_is_a_matching_failure(tenant, db):
    somali = make_supporter(tenant.cw_x, [tenant.x], languages=["kw"], specialisms=["autism"])
    case = make_case(tenant.cw_x, tenant.x, language="so", needs=("autism",))
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["status"] == "waiting"
    before = _demand(tenant.cw_x, tenant.x)
    assert before["authorities"][0]["matchingFailures"] == 0 and not before.get("matchingFailures")
    # The request is stuck as the lapse bug left families: not due for the
    # sweeper (tried "later" than any capacity change), while a supporter
    # who fits now has places.
    with db.cursor() as c:
        c.execute("UPDATE matching.match_requests SET last_attempt_at = now() + interval '1 hour' WHERE id = %s",
                  (mr["id"],))
    r = patch(tenant.cw_x, f"/v1/supporters/{somali['id']}", {"languages": ["kw", "so"]})
    assert r.status_code == 200, r.text

    got = _demand(tenant.cw_x, tenant.x)
    (group,) = [g for g in got["items"] if g["need"] == "asd"]
    # Not "not short": a matching failure, in the group, the district and the authority.
    assert (group["waitingFamilies"], group["freePlaces"], group["placesShort"]) == (1, 3, 0)
    assert group["matchingFailures"] == 1
    assert got["authorities"][0]["matchingFailures"] == 1
    (district,) = got["districts"]
    assert (district["district"], district["matchingFailures"]) == ("N1", 1)
    (failure,) = got["matchingFailures"]
    assert (failure["matchRequestId"], failure["caseId"], failure["fittingSupporters"]) == (mr["id"], case["id"], 1)
    assert failure["lastAttemptAt"]
    # An analyst sees no matching failures.
    seen = _demand(tenant.analyst_x, tenant.x)
    assert not seen.get("matchingFailures") and seen["authorities"][0]["matchingFailures"] == 0

    # Retried, the family is offered; it is no longer a failure.
    r = tenant.cw_x.post(f"/v1/match-requests/{mr['id']}/retry", {})
    assert r.status_code == 200 and r.json()["currentOffer"]["supporterId"] == somali["id"], r.text
    after = _demand(tenant.cw_x, tenant.x)
    assert not after.get("matchingFailures") and after["authorities"][0]["waitingFamilies"] == 0


def test_unmet_demand_by_postcode_district(tenant):
    make_supporter(tenant.cw_x, [tenant.x], languages=["kw"], areas=["N1"], capacity=4)
    make_supporter(tenant.cw_x, [tenant.x], languages=["kw"], areas=["SE"], capacity=2, vettingExpiresOn="2020-01-01")
    for postcode in ("N1 7AA", "n1 9gu", "SE15 4QT"):
        mr = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x, language="so", postcode=postcode)["id"])
        assert mr["status"] == "waiting"
    got = _demand(tenant.cw_x, tenant.x)
    districts = {d["district"]: d for d in got["districts"]}
    assert set(districts) == {"N1", "SE15"}
    n1, se15 = districts["N1"], districts["SE15"]
    assert (n1["waitingFamilies"], n1["servingSupporters"], n1["freePlaces"]) == (2, 1, 4)
    # The supporter serving all of SE has lapsed vetting: not counted.
    assert (se15["waitingFamilies"], se15.get("servingSupporters", 0), se15.get("freePlaces", 0)) == (1, 0, 0)
    assert all(d["authorityId"] == tenant.x and d["longestWaitDays"] >= 0 for d in got["districts"])
    assert not any(d.get("matchingFailures") for d in got["districts"])  # nobody speaks Somali: a shortage
    # An analyst: districts of fewer than five families are suppressed, the total with them.
    seen = _demand(tenant.analyst_x, tenant.x)
    assert all(d["suppressed"] and not d.get("waitingFamilies") for d in seen["districts"])
    assert {d["district"] for d in seen["districts"]} == {"N1", "SE15"}


def test_a_supporter_ruled_out_shows_what_they_would_have_scored(tenant):
    lapsed = make_supporter(tenant.cw_x, [tenant.x], areas=["N1"], specialisms=["autism"],
                            vettingExpiresOn="2020-01-01")
    twin = make_supporter(tenant.cw_x, [tenant.x], areas=["N1"], specialisms=["autism"])
    case = make_case(tenant.cw_x, tenant.x, postcode="N1 7AA", needs=("autism",))
    got = candidates(tenant.cw_x, case["id"], includeIneligible=True)
    by_id = {c["supporterId"]: c for c in got["items"]}
    ruled, fine = by_id[lapsed["id"]], by_id[twin["id"]]
    assert fine["eligible"] and not fine.get("wouldHaveScored") and not fine.get("wouldHaveReasons")
    assert not ruled.get("eligible") and not ruled.get("score") and not ruled.get("reasons")
    assert ruled["ruledOut"] == ["not eligible: DBS vetting expired on 2020-01-01"]
    # The same facts as the eligible twin: the same score, from the same parts.
    assert ruled["wouldHaveScored"] == fine["score"] == sum(x["points"] for x in ruled["wouldHaveReasons"])
    assert [x["factor"] for x in ruled["wouldHaveReasons"]] == [x["factor"] for x in fine["reasons"]]


def test_asking_for_candidates_is_audited_as_a_read(tenant, db):
    make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    rid = f"candidates-read-{uuid.uuid4().hex[:12]}"
    r = tenant.cw_x.post(f"/v1/cases/{case['id']}/candidates", {"limit": 5}, headers={"X-Request-Id": rid})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    rows = []
    while not rows and time.monotonic() < deadline:
        with db.cursor() as c:
            c.execute("SELECT action, record_type, record_id, authority_id::text, outcome FROM audit.events"
                      " WHERE client_request_id = %s", (rid,))
            rows = c.fetchall()
        if not rows:
            time.sleep(0.05)
    assert rows == [("read", "cases", case["id"], tenant.x, 200)], rows
