"""Unmet demand: waiting families by authority, language and need, how long
they have waited, and the places and supporters short: the recruitment gap."""
from matching_helpers import make_case, make_supporter, request_match, tenant  # noqa: F401


def _groups(payload, authority):
    return {(g["language"], g["need"]): g for g in payload["items"] if g["authorityId"] == authority}


def test_waiting_families_are_counted_by_language_and_need_with_the_supporters_short(tenant, db):
    # X has English-speaking supporters with autism knowledge, and no one who speaks Polish.
    make_supporter(tenant.cw_x, [tenant.x], languages=["en"], specialisms=["autism"], capacity=4)
    full = make_supporter(tenant.cw_x, [tenant.x], languages=["pl"], specialisms=["adhd"], capacity=0)
    polish = [request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"],
                                                   needs=("autism", "ADHD"))["id"]) for _ in range(3)]
    somali = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x, language="so", comm=["interpreter"],
                                                  needs=())["id"])
    english = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"])
    assert all(m["status"] == "waiting" for m in polish + [somali])
    assert english["status"] == "offered"
    with db.cursor() as c:  # the first Polish family has waited three weeks
        c.execute("UPDATE matching.match_requests SET waiting_since = now() - interval '21 days' WHERE id = %s",
                  (polish[0]["id"],))

    r = tenant.cw_x.get("/v1/matching/unmet-demand", params={"authorityId": tenant.x})
    assert r.status_code == 200, r.text
    got = r.json()
    groups = _groups(got, tenant.x)
    assert set(groups) == {("pl", "asd"), ("pl", "semh"), ("so", "general")}
    pl_autism = groups[("pl", "asd")]
    assert pl_autism["waitingFamilies"] == 3
    assert pl_autism["longestWaitDays"] == 21 and pl_autism["medianWaitDays"] == 0
    assert (pl_autism["fittingSupporters"], pl_autism["freePlaces"]) == (0, 0)
    assert (pl_autism["placesShort"], pl_autism["supportersShort"]) == (3, 1)  # typical capacity 4
    pl_adhd = groups[("pl", "semh")]
    assert pl_adhd["fittingSupporters"] == 1 and pl_adhd["freePlaces"] == 0  # `full` has no place
    assert groups[("so", "general")]["waitingFamilies"] == 1
    (summary,) = [a for a in got["authorities"] if a["authorityId"] == tenant.x]
    assert summary["waitingFamilies"] == 4 and summary["longestWaitDays"] == 21
    assert summary["eligibleSupporters"] == 2 and summary["freePlaces"] == 3  # one place promised to `english`
    assert got["asOf"]
    assert full["id"]

    # Y's caseworker sees none of it, and may not ask for X.
    assert _groups(tenant.cw_y.get("/v1/matching/unmet-demand").json(), tenant.x) == {}
    r = tenant.cw_y.get("/v1/matching/unmet-demand", params={"authorityId": tenant.x})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "authorityId"

    # An analyst sees groups of fewer than five families suppressed.
    r = tenant.analyst_x.get("/v1/matching/unmet-demand", params={"authorityId": tenant.x})
    assert r.status_code == 200
    suppressed = _groups(r.json(), tenant.x)[("pl", "asd")]
    assert suppressed["suppressed"] is True and suppressed["waitingFamilies"] == 0
    assert tenant.supporter_x.get("/v1/matching/unmet-demand").status_code == 403


def test_an_authority_with_nobody_waiting_still_reports_its_supporters(tenant):
    make_supporter(tenant.cw_x, [tenant.x], capacity=2)
    got = tenant.cw_x.get("/v1/matching/unmet-demand", params={"authorityId": tenant.x}).json()
    assert got["items"] == []
    assert got["authorities"] == [{"authorityId": tenant.x, "waitingFamilies": 0, "longestWaitDays": 0,
                                   "eligibleSupporters": 1, "freePlaces": 2, "suppressed": False,
                                   "matchingFailures": 0}]
