"""The caseworker's views (issue 12, item 6, intake's parts): the week's
deadlines across open cases, and the child's views on the timeline and in
the case."""
import datetime

from conftest import case_body, family_body, london_today


def all_deadlines(api, **params):
    items, token = [], None
    for _ in range(200):                     # a bound: a cursor that does not move fails, not hangs
        r = api.get("/v1/deadlines", params={**params, **({"pageToken": token} if token else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        token = r.json().get("nextPageToken")
        if not token:
            return items
    raise AssertionError("the deadlines' pages never ended")


def open_case(cw, authority, requested_on, *more):
    fam = cw.post("/v1/families", family_body(authority)).json()
    case = cw.post("/v1/cases", case_body(authority, fam)).json()
    for stage, on in ((("assessment_requested", requested_on),) + more):
        r = cw.post(f"/v1/cases/{case['id']}/stages", {"stage": stage, "on": on})
        assert r.status_code == 201, r.text
    return case


def test_deadlines_across_cases_filtered_and_paged_never_another_authoritys(cw_a, cw_b, authority_a, authority_b):
    today = london_today()
    recent = (today - datetime.timedelta(days=7)).isoformat()       # decision due in 5 weeks: upcoming
    old = (today - datetime.timedelta(days=70)).isoformat()         # decision overdue
    a1 = open_case(cw_a, authority_a, recent)
    a2 = open_case(cw_a, authority_a, old, ("draft_plan_issued", today.isoformat()))
    b1 = open_case(cw_b, authority_b, recent)
    closed = open_case(cw_a, authority_a, recent)
    assert cw_a.post(f"/v1/cases/{closed['id']}/close", {"outcome": "resolved", "reason": "done"}).status_code == 200

    items = all_deadlines(cw_a, pageSize=1)                          # one a page: the keyset holds
    cases = {x["caseId"] for x in items}
    assert cases == {a1["id"], a2["id"]}
    assert all(x["authorityId"] == authority_a for x in items)
    dues = [x["deadline"]["dueOn"] for x in items]
    assert dues == sorted(dues)
    assert all(x["deadline"]["rule"] for x in items)
    kinds = {(x["caseId"], x["deadline"]["kind"]) for x in items}
    assert (a2["id"], "draft_plan_response") in kinds and (a1["id"], "final_plan") in kinds
    assert len(items) == len({(x["caseId"], x["deadline"]["kind"], x["deadline"]["startsOn"]) for x in items})

    overdue = all_deadlines(cw_a, status="overdue")
    assert {(x["caseId"], x["deadline"]["kind"]) for x in overdue} == {(a2["id"], "assessment_decision")}
    family = all_deadlines(cw_a, party="family")
    assert {x["deadline"]["kind"] for x in family} == {"draft_plan_response"}
    assert all(x["deadline"]["party"] == "family" for x in family)
    week = (today + datetime.timedelta(days=7)).isoformat()
    soon = all_deadlines(cw_a, dueBefore=week)
    assert soon and all(x["deadline"]["dueOn"] < week for x in soon)
    assert (a1["id"], "assessment_decision") not in {(x["caseId"], x["deadline"]["kind"]) for x in soon}
    assert all_deadlines(cw_a, authorityId=authority_b) == []

    # B sees only B's; a page token goes on only with its filters.
    assert {x["caseId"] for x in all_deadlines(cw_b)} == {b1["id"]}
    r = cw_a.get("/v1/deadlines", params={"pageSize": 1})
    token = r.json()["nextPageToken"]
    assert cw_a.get("/v1/deadlines", params={"pageSize": 1, "pageToken": token, "party": "family"}).status_code == 400
    for bad in ({"dueBefore": "soon"}, {"party": "tribunal"}, {"status": "late"}, {"authorityId": "x"}):
        assert cw_a.get("/v1/deadlines", params=bad).status_code == 400


def test_views_on_the_timeline_and_last_sought_in_the_case(cw_a, partner_a, authority_a):
    fam = cw_a.post("/v1/families", family_body(authority_a)).json()
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    t = cw_a.get(f"/v1/cases/{case['id']}/timeline").json()
    assert t.get("views", []) == [] and "viewsLastRecordedOn" not in t
    child = fam["children"][0]["id"]
    for on, summary in (("2024-03-01", "Drew the classroom: too loud."), ("2024-01-10", "Likes the quiet room.")):
        r = cw_a.post(f"/v1/children/{child}/views",
                      {"recordedOn": on, "method": "drawing", "summary": summary, "recordedBy": "J. Patel"})
        assert r.status_code == 201, r.text
    t = cw_a.get(f"/v1/cases/{case['id']}/timeline").json()
    assert [v["recordedOn"] for v in t["views"]] == ["2024-01-10", "2024-03-01"]
    assert t["views"][1]["summary"] == "Drew the classroom: too loud."
    assert t["viewsLastRecordedOn"] == "2024-03-01"
    c = cw_a.get(f"/v1/cases/{case['id']}").json()
    assert c["viewsSought"] is True and c["viewsLastRecordedOn"] == "2024-03-01"
    # Staff only: a partner agency never reads the timeline.
    assert partner_a.get(f"/v1/cases/{case['id']}/timeline").status_code == 403
