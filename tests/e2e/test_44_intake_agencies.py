"""The agencies directory across the consortium's authorities, and
signposting: recorded by a caseworker, or automatic when a draft plan or
proposed statement is issued."""
import uuid

from conftest import case_body, family_body
from intake_helpers import agency_body, count, deliveries, outbox


def all_agencies(api, **params):
    out, token = [], None
    while True:
        r = api.get("/v1/agencies", params={**params, "pageSize": 200, **({"pageToken": token} if token else {})})
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        token = r.json().get("nextPageToken")
        if not token:
            return out


def test_an_agency_serving_both_authorities_is_seen_by_both(admin, cw_a, cw_b, authority_a, authority_b):
    r = admin.post("/v1/agencies", agency_body([authority_a, authority_b], kind="parent_carer_forum"))
    assert r.status_code == 201, r.text
    shared = r.json()
    assert shared["authorityIds"] == [authority_a, authority_b] and shared["kind"] == "parent_carer_forum"
    assert r.headers["Location"] == f"/v1/agencies/{shared['id']}"
    assert cw_a.get(f"/v1/agencies/{shared['id']}").json() == shared
    assert cw_b.get(f"/v1/agencies/{shared['id']}").json() == shared
    only_a = cw_a.post("/v1/agencies", agency_body([authority_a])).json()
    assert cw_b.get(f"/v1/agencies/{only_a['id']}").status_code == 404
    assert only_a["id"] not in [g["id"] for g in all_agencies(cw_b)]
    assert only_a["id"] in [g["id"] for g in all_agencies(cw_a, need="AUTISM", kind="voluntary")]
    assert only_a["id"] not in [g["id"] for g in all_agencies(cw_a, need="hearing")]


def test_an_agency_for_an_authority_the_caller_does_not_serve_is_400(cw_a, authority_a, authority_b, db):
    before = count(db, "SELECT count(*) FROM intake.agencies")
    r = cw_a.post("/v1/agencies", agency_body([authority_a, authority_b]))
    assert r.status_code == 400, \
        f"tenancy: an agency naming an authority the client does not serve was answered {r.status_code}"
    assert [e["field"] for e in r.json()["errors"]] == ["authorityIds[1]"]
    for body, field in [(agency_body([]), "authorityIds"), (agency_body([authority_a], kind="circus"), "kind"),
                        (agency_body([authority_a], languages=["Somali"]), "languages[0]"),
                        (agency_body([authority_a], contact={"website": "ftp://x"}), "contact.website"),
                        (agency_body([authority_a], name=""), "name")]:
        r = cw_a.post("/v1/agencies", body)
        assert r.status_code == 400, body
        assert field in [e["field"] for e in r.json()["errors"]]
    assert count(db, "SELECT count(*) FROM intake.agencies") == before


def test_a_caseworker_records_a_signpost(cw_a, cw_b, case_a, authority_a, authority_b, admin, db):
    ours = cw_a.post("/v1/agencies", agency_body([authority_a], name="Hearing Support", needs=["hearing"])).json()
    theirs = admin.post("/v1/agencies", agency_body([authority_b])).json()
    r = cw_a.post(f"/v1/cases/{case_a['id']}/signposts",
                  {"agencyId": ours["id"], "on": "2025-02-03", "method": "leaflet", "note": "Gave the leaflet at home."})
    assert r.status_code == 201, r.text
    sp = r.json()
    assert (sp["agencyName"], sp["method"], sp["on"]) == ("Hearing Support", "leaflet", "2025-02-03")
    page = cw_a.get(f"/v1/cases/{case_a['id']}/signposts").json()
    assert [s["id"] for s in page["items"]] == [sp["id"]]
    data = outbox(db, case_a["id"], "case.signposted")[0][1]
    assert data["automatic"] is False and data["signposts"][0]["agencyId"] == ours["id"]
    # Another authority's agency, an unknown one, an automatic method: 400, nothing stored.
    for body, field in [({"agencyId": theirs["id"], "on": "2025-02-03", "method": "email"}, "agencyId"),
                        ({"agencyId": str(uuid.uuid4()), "on": "2025-02-03", "method": "email"}, "agencyId"),
                        ({"agencyId": ours["id"], "on": "2025-02-03", "method": "automatic"}, "method"),
                        ({"agencyId": ours["id"], "on": "2025-02-03", "method": "pigeon"}, "method")]:
        r = cw_a.post(f"/v1/cases/{case_a['id']}/signposts", body)
        assert r.status_code == 400, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert count(db, "SELECT count(*) FROM intake.signposts WHERE case_id = %s", case_a["id"]) == 1
    assert cw_b.get(f"/v1/cases/{case_a['id']}/signposts").status_code == 404
    assert cw_b.post(f"/v1/cases/{case_a['id']}/signposts",
                     {"agencyId": theirs["id"], "on": "2025-02-03", "method": "email"}).status_code == 404


def test_a_draft_plan_signposts_matching_agencies_automatically_in_the_familys_language(
        admin, cw_a, authority_a, authority_b, db):
    need = f"rare-syndrome-{uuid.uuid4().hex[:6]}"
    body = family_body(authority_a)
    body["children"][0]["needs"] = [need.upper(), "sleep"]
    fam = cw_a.post("/v1/families", body).json()                       # parents speak so and en
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    somali = admin.post("/v1/agencies", agency_body([authority_a], name="Somali Families Network",
                                                    needs=[need], languages=["so", "en"])).json()
    english = admin.post("/v1/agencies", agency_body([authority_a], name="Syndrome Trust", needs=[need],
                                                     languages=["en"])).json()
    elsewhere = admin.post("/v1/agencies", agency_body([authority_b], needs=[need], languages=["so"])).json()
    unrelated = admin.post("/v1/agencies", agency_body([authority_a], needs=["dyslexia"], languages=["so"])).json()
    assert cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": "2025-01-06"}).status_code == 201
    r = cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "draft_plan_issued", "on": "2025-05-12"})
    assert r.status_code == 201, r.text
    items = cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]
    got = {s["agencyId"]: s for s in items}
    # Both speak a parent's language; the English-only one is left out because some do.
    assert somali["id"] in got and english["id"] in got
    assert elsewhere["id"] not in got and unrelated["id"] not in got
    assert all(s["method"] == "automatic" and s["triggerStage"] == "draft_plan_issued" and s["on"] == "2025-05-12"
               for s in items)
    data = outbox(db, case["id"], "case.signposted")[0][1]
    assert data["automatic"] is True and data["triggerStage"] == "draft_plan_issued"
    assert {s["agencyId"] for s in data["signposts"]} == set(got)
    assert ("case.signposted", "notify") in deliveries(db, case["id"])
    # Moving the draft's date signposts nobody again.
    assert cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "draft_plan_issued", "on": "2025-05-13"}).status_code == 201
    assert len(cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]) == len(items)
    assert len(outbox(db, case["id"], "case.signposted")) == 1


def test_language_preference_falls_back_to_every_matching_agency(admin, cw_a, authority_a, db):
    need = f"need-{uuid.uuid4().hex[:6]}"
    body = family_body(authority_a)
    body["children"][0]["needs"] = [need]
    body["children"][0]["dateOfBirth"] = "2003-01-01"   # statements were the 2001 code's
    fam = cw_a.post("/v1/families", body).json()
    case = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    a = admin.post("/v1/agencies", agency_body([authority_a], needs=[need], languages=["pl"])).json()
    b = admin.post("/v1/agencies", agency_body([authority_a], needs=[need], languages=[])).json()
    r = cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "proposed_statement_issued", "on": "2010-03-01"})
    assert r.status_code == 201, r.text
    got = {s["agencyId"] for s in cw_a.get(f"/v1/cases/{case['id']}/signposts").json()["items"]}
    assert {a["id"], b["id"]} <= got
