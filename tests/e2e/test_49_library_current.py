"""A library and a directory that can be kept current (issue 12, item 4):
PATCH a leaflet or an agency with If-Match, mark a leaflet reviewed, retire
either (kept, readable, no longer offered), automatic signposts that name
every relevant agency marked with whether it serves the family's language,
and follow their stage's date."""
import datetime
import uuid

from conftest import case_body, family_body, london_today
from intake_helpers import agency_body, patch


def resource(key, **over):
    body = {"key": key, "title": "Asking for an EHC needs assessment", "topic": "procedures", "language": "en",
            "format": "standard", "url": f"https://example.org/{key}.pdf", "reviewDueOn": "2030-01-01",
            "summary": "Who can ask, and how."}
    body.update(over)
    return body


def review_due(api):
    ids, token = [], None
    while True:
        r = api.get("/v1/resources/review-due", params={"pageSize": 200, **({"pageToken": token} if token else {})})
        assert r.status_code == 200, r.text
        ids += [x["id"] for x in r.json()["items"]]
        token = r.json().get("nextPageToken")
        if not token:
            return ids


def listed(api, path, **params):
    ids, token = [], None
    while True:
        r = api.get(path, params={"pageSize": 200, **params, **({"pageToken": token} if token else {})})
        assert r.status_code == 200, r.text
        ids += [x["id"] for x in r.json()["items"]]
        token = r.json().get("nextPageToken")
        if not token:
            return ids


def etag(r):
    return r.headers["ETag"]


def test_a_resource_is_reviewed_and_leaves_review_due(admin, cw_a):
    yesterday = (london_today() - datetime.timedelta(days=1)).isoformat()
    r = cw_a.post("/v1/resources", resource(f"rev-{uuid.uuid4().hex[:6]}", reviewDueOn=yesterday,
                                           reviewIntervalMonths=6))
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["reviewIntervalMonths"] == 6 and res["status"] == "active" and "reviewedOn" not in res
    assert res["id"] in review_due(admin)
    r = cw_a.post(f"/v1/resources/{res['id']}/review", {"reviewedOn": "2099-01-01"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reviewedOn"
    r = cw_a.post(f"/v1/resources/{res['id']}/review", {"reviewedOn": "2024-08-31"})
    assert r.status_code == 200, r.text
    # Six calendar months from 31 August is the last day of February.
    assert r.json()["reviewedOn"] == "2024-08-31" and r.json()["reviewDueOn"] == "2025-02-28"
    assert r.json()["version"] == res["version"] + 1
    r = cw_a.post(f"/v1/resources/{res['id']}/review", {})
    assert r.status_code == 200, r.text
    today = london_today()
    assert r.json()["reviewedOn"] == today.isoformat()
    assert r.json()["reviewDueOn"] > today.isoformat()
    assert res["id"] not in review_due(admin)
    assert cw_a.get(f"/v1/resources/{res['id']}").json()["reviewDueOn"] == r.json()["reviewDueOn"]
    # A stale If-Match is refused, and nothing changes.
    r2 = cw_a.post(f"/v1/resources/{res['id']}/review", {}, headers={"If-Match": f'"{res["version"]}"'})
    assert r2.status_code == 412
    assert cw_a.get(f"/v1/resources/{res['id']}").json()["version"] == r.json()["version"]


def test_patch_a_resource_needs_if_match_and_round_trips(cw_a, cw_b, authority_a):
    res = cw_a.post("/v1/resources", resource(f"pat-{uuid.uuid4().hex[:6]}")).json()
    path = f"/v1/resources/{res['id']}"
    r = patch(cw_a, path, {"title": "New title"})
    assert r.status_code == 428 and r.json()["code"] == "precondition_required"
    got = cw_a.get(path)
    assert got.json()["title"] == res["title"]
    # What GET answers, PATCH takes back: nothing changes, the version stays.
    r = patch(cw_a, path, got.json(), **{"If-Match": etag(got)})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == res["version"] and etag(r) == etag(got)
    r = patch(cw_a, path, {"title": "Asking for an assessment", "summary": None, "reviewIntervalMonths": 24},
              **{"If-Match": etag(got)})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["title"] == "Asking for an assessment" and "summary" not in changed
    assert changed["reviewIntervalMonths"] == 24 and changed["version"] == res["version"] + 1
    assert changed["key"] == res["key"] and changed["url"] == res["url"]
    # The version read before the change is stale now.
    r = patch(cw_a, path, {"title": "Again"}, **{"If-Match": etag(got)})
    assert r.status_code == 412 and r.json()["code"] == "stale_version"
    r = patch(cw_a, path, {"status": "retired"}, **{"If-Match": etag(cw_a.get(path))})
    assert r.status_code == 400 and r.json()["code"] == "read_only_field"
    r = patch(cw_a, path, {"url": None}, **{"If-Match": etag(cw_a.get(path))})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "url"
    r = patch(cw_a, path, {"reviewIntervalMonths": 61}, **{"If-Match": etag(cw_a.get(path))})
    assert r.status_code == 400
    assert cw_a.get(path).json() == changed
    # Local information of A is another authority's to B: 404.
    local = cw_a.post("/v1/resources", resource(f"loc-{uuid.uuid4().hex[:6]}", authorityIds=[authority_a])).json()
    r = patch(cw_b, f"/v1/resources/{local['id']}", {"title": "x"}, **{"If-Match": '"1"'})
    assert r.status_code == 404


def test_a_retired_resource_is_not_listed_but_readable(cw_a, partner_a):
    key = f"ret-{uuid.uuid4().hex[:6]}"
    res = cw_a.post("/v1/resources", resource(key, topic="other")).json()
    assert res["id"] in listed(cw_a, "/v1/resources", topic="other")
    r = cw_a.post(f"/v1/resources/{res['id']}/retire", {})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "retired" and r.json()["retiredAt"]
    assert res["id"] not in listed(cw_a, "/v1/resources", topic="other")
    assert res["id"] not in listed(partner_a, "/v1/resources", topic="other", language="en")
    assert res["id"] in listed(cw_a, "/v1/resources", topic="other", status="retired")
    got = partner_a.get(f"/v1/resources/{res['id']}")
    assert got.status_code == 200 and got.json()["status"] == "retired"
    # Retiring again changes nothing; a retired leaflet is not reviewed.
    again = cw_a.post(f"/v1/resources/{res['id']}/retire", {})
    assert again.status_code == 200 and again.json()["version"] == r.json()["version"]
    assert cw_a.post(f"/v1/resources/{res['id']}/review", {}).status_code == 409
    # Its key is free again for the leaflet that replaces it; only one is active.
    new = cw_a.post("/v1/resources", resource(key, topic="other"))
    assert new.status_code == 201, new.text
    assert cw_a.post("/v1/resources", resource(key, topic="other")).status_code == 409
    assert patch(cw_a, f"/v1/resources/{res['id']}", {"title": "Old"}, **{"If-Match": etag(got)}).status_code == 200


def test_patch_an_agency_with_if_match_round_trip_and_others_authorities_kept(
        tenancy, cw_a, cw_b, admin, authority_a, authority_b):
    shared = admin.post("/v1/agencies", agency_body([authority_a, authority_b], name="Shared Hub")).json()
    path = f"/v1/agencies/{shared['id']}"
    assert patch(cw_a, path, {"name": "x"}).status_code == 428
    got = cw_a.get(path)
    r = patch(cw_a, path, got.json(), **{"If-Match": etag(got)})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == shared["version"]
    # A's caseworker changes what A may: B's authority stays though not sent.
    r = patch(cw_a, path, {"name": "Shared Hub North", "authorityIds": [authority_a], "languages": ["en", "so"],
                           "contact": {"phone": None}}, **{"If-Match": etag(got)})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["name"] == "Shared Hub North" and set(g["authorityIds"]) == {authority_a, authority_b}
    assert g["languages"] == ["en", "so"] and "phone" not in g["contact"]
    assert g["contact"]["email"] == shared["contact"]["email"] and g["version"] == shared["version"] + 1
    assert patch(cw_a, path, {"name": "Stale"}, **{"If-Match": etag(got)}).status_code == 412
    r = patch(cw_a, path, {"authorityIds": []}, **{"If-Match": etag(cw_a.get(path))})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "authorityIds"
    assert cw_a.get(path).json() == g
    # An agency of A alone is another authority's to B.
    own = admin.post("/v1/agencies", agency_body([authority_a])).json()
    assert patch(cw_b, f"/v1/agencies/{own['id']}", {"name": "x"}, **{"If-Match": '"1"'}).status_code == 404
    assert cw_b.post(f"/v1/agencies/{own['id']}/retire", {}).status_code == 404


def test_a_retired_agency_is_not_signposted_but_readable(admin, cw_a, authority_a):
    need = f"need-{uuid.uuid4().hex[:6]}"
    body = family_body(authority_a)
    body["children"][0]["needs"] = [need]
    fam = cw_a.post("/v1/families", body).json()
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    kept = admin.post("/v1/agencies", agency_body([authority_a], needs=[need])).json()
    gone = admin.post("/v1/agencies", agency_body([authority_a], needs=[need])).json()
    r = cw_a.post(f"/v1/agencies/{gone['id']}/retire", {})
    assert r.status_code == 200 and r.json()["status"] == "retired"
    assert cw_a.get(f"/v1/agencies/{gone['id']}").json()["status"] == "retired"
    assert gone["id"] not in listed(cw_a, "/v1/agencies", need=need)
    assert gone["id"] in listed(cw_a, "/v1/agencies", need=need, status="retired")
    r = cw_a.post(f"/v1/cases/{case['id']}/signposts", {"agencyId": gone["id"], "on": "2025-02-03", "method": "email"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "agencyId"
    assert cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "draft_plan_issued", "on": "2025-05-12"}).status_code == 201
    got = {s["agencyId"] for s in cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]}
    assert kept["id"] in got and gone["id"] not in got


def test_automatic_signposts_name_agencies_not_serving_the_language_marked_and_follow_the_stage(
        admin, cw_a, authority_a):
    need = f"need-{uuid.uuid4().hex[:6]}"
    body = family_body(authority_a)                      # parents speak so and en
    body["parents"][1]["preferredLanguage"] = "so"
    body["children"][0]["needs"] = [need]
    fam = cw_a.post("/v1/families", body).json()
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    somali = admin.post("/v1/agencies", agency_body([authority_a], needs=[need], languages=["so"])).json()
    english = admin.post("/v1/agencies", agency_body([authority_a], needs=[need], languages=["en"])).json()
    r = cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "draft_plan_issued", "on": "2025-05-12"})
    assert r.status_code == 201, r.text
    stage = r.json()
    items = {s["agencyId"]: s for s in cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]}
    assert set(items) == {somali["id"], english["id"]}
    assert items[somali["id"]]["servesLanguage"] is True
    assert items[english["id"]]["servesLanguage"] is False
    # The stage's date is corrected: its automatic signposts move with it.
    r = patch(cw_a, f"/v1/cases/{case['id']}/stages/{stage['id']}", {"on": "2025-05-14"})
    assert r.status_code == 200, r.text
    after = cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]
    assert len(after) == 2 and all(s["on"] == "2025-05-14" for s in after)
    # A signpost a caseworker recorded keeps its own date.
    other = admin.post("/v1/agencies", agency_body([authority_a], needs=["x-" + need])).json()
    r = cw_a.post(f"/v1/cases/{case['id']}/signposts", {"agencyId": other["id"], "on": "2025-05-01", "method": "phone"})
    assert r.status_code == 201 and r.json()["servesLanguage"] is False
    assert patch(cw_a, f"/v1/cases/{case['id']}/stages/{stage['id']}", {"on": "2025-05-15"}).status_code == 200
    dates = {s["agencyId"]: s["on"] for s in cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]}
    assert dates == {somali["id"]: "2025-05-15", english["id"]: "2025-05-15", other["id"]: "2025-05-01"}


def test_automatic_signposts_offer_the_agencies_relevant_to_the_stage(admin, cw_a, authority_a):
    """Relevant to the child's needs and to the stage (issue 12, item 4): an
    agency naming the stages it helps with is signposted only at those; one
    naming none, at every stage."""
    body = family_body(authority_a)
    body["children"][0]["needs"] = [{"type": "hi", "detail": "cochlear implant"}]
    fam = cw_a.post("/v1/families", body).json()
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()

    def agency(**over):
        r = admin.post("/v1/agencies", agency_body([authority_a], needs=["hi"], **over))
        assert r.status_code == 201, r.text
        return r.json()
    drafts = agency(stages=["draft_plan_issued", "proposed_statement_issued"])
    tribunal = agency(stages=["tribunal_appeal"])
    always = agency()
    assert drafts["stages"] == ["draft_plan_issued", "proposed_statement_issued"] and not always.get("stages")
    r = admin.post("/v1/agencies", agency_body([authority_a], stages=["mediation", "mediation"]))
    assert r.status_code == 400 and "stages[1]" in {e["field"] for e in r.json()["errors"]}, r.text

    r = cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "draft_plan_issued", "on": "2025-05-12"})
    assert r.status_code == 201, r.text
    got = {s["agencyId"] for s in cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]}
    assert got == {drafts["id"], always["id"]}, got

    # The stages are kept current like the rest of the agency.
    r = cw_a.get(f"/v1/agencies/{tribunal['id']}")
    r = patch(cw_a, f"/v1/agencies/{tribunal['id']}", {"stages": ["tribunal_appeal", "draft_plan_issued"]},
              **{"If-Match": r.headers["ETag"]})
    assert r.status_code == 200 and r.json()["stages"] == ["tribunal_appeal", "draft_plan_issued"], r.text
