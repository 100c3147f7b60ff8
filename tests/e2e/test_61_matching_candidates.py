"""Candidates: ranked eligible supporters for a case, each score explained
by reasons that add up to it; no side effects; bounded to the caller's
authorities; weights per consortium."""
import uuid

from matching_helpers import (candidates, count, make_case, make_supporter, patch, put, request_match,  # noqa: F401
                              tenant)


def _sum(c):
    return sum(r["points"] for r in c["reasons"])


def test_polish_speaker_is_chosen_over_a_closer_english_only_supporter_and_the_reasons_say_so(tenant):
    near_english = make_supporter(tenant.cw_x, [tenant.x], languages=["en"], areas=["N1"], specialisms=["autism"])
    far_polish = make_supporter(tenant.cw_x, [tenant.x], languages=["pl", "en"], areas=["SE15"],
                                specialisms=["autism"])
    case = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"], postcode="N1 7AA")
    got = candidates(tenant.cw_x, case["id"])
    assert got["requiredLanguage"] == "pl"
    assert [c["supporterId"] for c in got["items"]] == [far_polish["id"]]
    best = got["items"][0]
    assert best["eligible"] is True
    assert _sum(best) == best["score"]
    language = next(r for r in best["reasons"] if r["factor"] == "language")
    assert language["points"] == 30 and "speaks Polish (pl)" in language["detail"]
    proximity = next(r for r in best["reasons"] if r["factor"] == "proximity")
    assert proximity["points"] == 0
    # Asked for, the closer English-only supporter is listed after, ruled out for the language.
    got = candidates(tenant.cw_x, case["id"], includeIneligible=True)
    assert [c["supporterId"] for c in got["items"]] == [far_polish["id"], near_english["id"]]
    ruled = got["items"][1]
    assert ruled["eligible"] is False
    assert ruled["ruledOut"] == ["does not speak Polish (pl), which the family needs"]
    # And a match request offers the Polish speaker.
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["currentOffer"]["supporterId"] == far_polish["id"]
    assert mr["currentOffer"]["reasons"] == best["reasons"]


def test_polish_wins_on_the_language_weight_when_english_would_also_do(tenant):
    near_english = make_supporter(tenant.cw_x, [tenant.x], languages=["en"], areas=["N1"])
    far_polish = make_supporter(tenant.cw_x, [tenant.x], languages=["pl"], areas=["SE15"])
    case = make_case(tenant.cw_x, tenant.x, language="pl", second_language="en", postcode="N1 7AA")
    got = candidates(tenant.cw_x, case["id"])
    assert "requiredLanguage" not in got
    ids = [c["supporterId"] for c in got["items"]]
    assert ids == [far_polish["id"], near_english["id"]]
    first, second = got["items"]
    assert first["score"] > second["score"]
    assert all(_sum(c) == c["score"] for c in got["items"])
    near = {r["factor"]: r for r in second["reasons"]}
    assert near["proximity"]["points"] == 15 and "N1" in near["proximity"]["detail"]
    assert "but not Polish (pl)" in near["language"]["detail"]


def test_expired_vetting_is_never_a_candidate(tenant):
    expired = make_supporter(tenant.cw_x, [tenant.x], languages=["en"], areas=["N1"], vettingExpiresOn="2021-01-01")
    ok = make_supporter(tenant.cw_x, [tenant.x], languages=["en"])
    case = make_case(tenant.cw_x, tenant.x)
    got = candidates(tenant.cw_x, case["id"])
    assert [c["supporterId"] for c in got["items"]] == [ok["id"]]
    got = candidates(tenant.cw_x, case["id"], includeIneligible=True)
    ruled = next(c for c in got["items"] if c["supporterId"] == expired["id"])
    assert ruled["ruledOut"] == ["not eligible: DBS vetting expired on 2021-01-01"]
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["currentOffer"]["supporterId"] == ok["id"]


def test_a_supporter_serving_only_x_is_never_offered_for_y(tenant, db):
    only_x = make_supporter(tenant.admin, [tenant.x], languages=["en"], areas=["N1"], capacity=10)
    case_y = make_case(tenant.cw_y, tenant.y)
    got = candidates(tenant.admin, case_y["id"], includeIneligible=True)
    assert only_x["id"] not in {c["supporterId"] for c in got["items"]}
    assert got["considered"] == 0
    mr = request_match(tenant.cw_y, case_y["id"])
    assert mr["status"] == "waiting" and "currentOffer" not in mr
    assert count(db, "SELECT count(*) FROM matching.offers WHERE supporter_id = %s", only_x["id"]) == 0
    # A supporter serving both is offered for Y.
    both = make_supporter(tenant.admin, [tenant.x, tenant.y], languages=["en"])
    got = candidates(tenant.cw_y, case_y["id"])
    assert [c["supporterId"] for c in got["items"]] == [both["id"]]


def test_candidates_have_no_side_effects(tenant, db):
    make_supporter(tenant.cw_x, [tenant.x])
    case = make_case(tenant.cw_x, tenant.x)
    # This test's authorities only: the sweeper works for other tests' meanwhile.
    ours = [tenant.x, tenant.y]

    def rows():
        return [count(db, f"SELECT count(*) FROM matching.{t} WHERE authority_id = ANY (%s::uuid[])", ours)
                for t in ("offers", "match_requests", "assignments")]
    before = rows()
    candidates(tenant.cw_x, case["id"])
    candidates(tenant.cw_x, case["id"], includeIneligible=True, limit=5)
    after = rows()
    assert before == after


def test_another_authoritys_case_is_404(tenant):
    case = make_case(tenant.cw_x, tenant.x)
    assert tenant.cw_y.post(f"/v1/cases/{case['id']}/candidates", {}).status_code == 404
    assert tenant.cw_y.post("/v1/match-requests", {"caseId": case["id"]}).status_code == 404
    assert tenant.cw_x.post(f"/v1/cases/{uuid.uuid4()}/candidates", {}).status_code == 404


def test_preferences_and_limits(tenant):
    a = make_supporter(tenant.cw_x, [tenant.x], languages=["en", "so"])
    b = make_supporter(tenant.cw_x, [tenant.x], languages=["en"], specialisms=["tribunal"])
    case = make_case(tenant.cw_x, tenant.x, needs=())
    got = candidates(tenant.cw_x, case["id"], preferences={"specialisms": ["tribunal"]})
    assert got["items"][0]["supporterId"] == b["id"]
    assert got["wantedSpecialisms"] == ["tribunal"]
    got = candidates(tenant.cw_x, case["id"], preferences={"languages": ["so"], "requireLanguage": True})
    assert [c["supporterId"] for c in got["items"]] == [a["id"]]
    got = candidates(tenant.cw_x, case["id"], preferences={"excludeSupporterIds": [a["id"]]}, limit=1)
    assert [c["supporterId"] for c in got["items"]] == [b["id"]]
    r = tenant.cw_x.post(f"/v1/cases/{case['id']}/candidates", {"limit": 51, "preferences": {"languages": ["??"]}})
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"limit", "preferences.languages[0]"}


def test_weights_are_per_consortium_read_and_replaced_with_if_match(tenant):
    near_english = make_supporter(tenant.cw_x, [tenant.x], languages=["en"], areas=["N1"])
    far_polish = make_supporter(tenant.cw_x, [tenant.x], languages=["pl"], areas=["SE15"])
    case = make_case(tenant.cw_x, tenant.x, language="pl", second_language="en", postcode="N1 7AA")
    w = tenant.cw_x.get("/v1/matching/weights")
    assert w.status_code == 200
    original = w.json()
    etag = w.headers["ETag"]
    body = {k: original[k] for k in ("language", "specialism", "continuity", "proximity", "capacity", "fairness",
                                     "waitingPerWeek")}
    assert put(tenant.cw_x, "/v1/matching/weights", body).status_code == 403  # admins only
    try:
        r = put(tenant.admin, "/v1/matching/weights", {**body, "proximity": 100}, **{"If-Match": etag})
        assert r.status_code == 200, r.text
        assert r.json()["customised"] is True and r.json()["proximity"] == 100
        assert put(tenant.admin, "/v1/matching/weights", body, **{"If-Match": etag}).status_code == 412
        got = candidates(tenant.cw_x, case["id"])
        assert [c["supporterId"] for c in got["items"]] == [near_english["id"], far_polish["id"]]
        near = {x["factor"]: x["points"] for x in got["items"][0]["reasons"]}
        assert near["proximity"] == 100
        bad = put(tenant.admin, "/v1/matching/weights", {**body, "fairness": 101})
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "fairness"
    finally:
        put(tenant.admin, "/v1/matching/weights", body)
    got = candidates(tenant.cw_x, case["id"])
    assert got["items"][0]["supporterId"] == far_polish["id"]


def test_a_change_to_a_supporter_shows_in_the_next_ranking(tenant):
    # Each matching process keeps a copy of the supporters' facts per
    # authority; PostgreSQL's generation says when it is stale.
    s = make_supporter(tenant.cw_x, [tenant.x], languages=["en"], capacity=2)
    case = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"])
    assert candidates(tenant.cw_x, case["id"])["items"] == []
    r = patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"languages": ["en", "pl"]})
    assert r.status_code == 200
    got = candidates(tenant.cw_x, case["id"])["items"]
    assert [c["supporterId"] for c in got] == [s["id"]] and got[0]["freePlaces"] == 2
    newcomer = make_supporter(tenant.cw_x, [tenant.x], languages=["pl"], areas=["N1"])
    got = candidates(tenant.cw_x, case["id"])["items"]
    assert [c["supporterId"] for c in got] == [newcomer["id"], s["id"]]
    # Places are read fresh: an offer takes one, a lower capacity takes more.
    request_match(tenant.cw_x, case["id"])
    assert patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"capacity": 1}).status_code == 200
    other = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"])
    got = {c["supporterId"]: c["freePlaces"] for c in candidates(tenant.cw_x, other["id"])["items"]}
    assert got == {newcomer["id"]: 2, s["id"]: 1}
    # A supporter who stops serving X, or pauses, drops out.
    assert patch(tenant.admin, f"/v1/supporters/{newcomer['id']}", {"status": "paused"}).status_code == 200
    got = [c["supporterId"] for c in candidates(tenant.cw_x, other["id"])["items"]]
    assert newcomer["id"] not in got
