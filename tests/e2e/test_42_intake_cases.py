"""Cases: referrer agency from the directory, consent and its withdrawal,
closing with an outcome, filters, and the events a case emits."""
import uuid

from conftest import case_body, family_body
from intake_helpers import agency_body, count, deliveries, outbox


def test_a_new_case_wanting_a_supporter_emits_opened_and_supporter_requested(cw_a, authority_a, family_a, db):
    r = cw_a.post("/v1/cases", case_body(authority_a, family_a, wantsSupporter=True))
    assert r.status_code == 201, r.text
    case = r.json()
    events = outbox(db, case["id"])
    assert [t for t, _ in events] == ["case.opened", "case.supporter_requested"]
    data = events[1][1]
    assert data["caseId"] == case["id"] and data["authorityId"] == authority_a
    assert data["familyId"] == family_a["id"] and data["childId"] == family_a["children"][0]["id"]
    assert data["languages"] == ["so", "en"]
    assert sorted(data["communicationNeeds"]) == ["easy_read", "interpreter"]
    assert data["childNeeds"] == ["asd", "slcn"]  # the types of "autism", "speech and language"
    assert data["childDateOfBirth"] == "2016-03-14"
    assert data["postcode"] == "W1 1AA"
    assert data["requestedAt"].endswith("Z")
    assert deliveries(db, case["id"]) == {("case.opened", "notify"), ("case.supporter_requested", "matching")}


def test_a_case_not_wanting_a_supporter_requests_none(cw_a, authority_a, family_a, db):
    case = cw_a.post("/v1/cases", case_body(authority_a, family_a, needs=["information"])).json()
    assert [t for t, _ in outbox(db, case["id"])] == ["case.opened"]


def test_duplicate_languages_are_listed_once(cw_a, authority_a, db):
    body = family_body(authority_a)
    body["parents"][1]["preferredLanguage"] = "so"
    body["parents"][0].pop("address")
    fam = cw_a.post("/v1/families", body).json()
    case = cw_a.post("/v1/cases", case_body(authority_a, fam, wantsSupporter=True)).json()
    data = outbox(db, case["id"], "case.supporter_requested")[0][1]
    assert data["languages"] == ["so"] and data["postcode"] is None


def test_referrer_agency_must_be_in_the_directory_for_the_authority(admin, cw_a, authority_a, authority_b, family_a, db):
    ours = admin.post("/v1/agencies", agency_body([authority_a])).json()
    theirs = admin.post("/v1/agencies", agency_body([authority_b])).json()
    r = cw_a.post("/v1/cases", case_body(authority_a, family_a, source="health", referrerAgencyId=ours["id"]))
    assert r.status_code == 201, r.text
    assert r.json()["referrerAgencyId"] == ours["id"]
    before = count(db, "SELECT count(*) FROM intake.cases WHERE family_id = %s", family_a["id"])
    for agency in (theirs["id"], str(uuid.uuid4())):
        r = cw_a.post("/v1/cases", case_body(authority_a, family_a, referrerAgencyId=agency))
        assert r.status_code == 400
        assert [e["field"] for e in r.json()["errors"]] == ["referrerAgencyId"]
    assert count(db, "SELECT count(*) FROM intake.cases WHERE family_id = %s", family_a["id"]) == before


def test_consent_is_withdrawn_once_and_reported(cw_a, cw_b, case_a):
    r = cw_a.post(f"/v1/cases/{case_a['id']}/consent/withdraw",
                  {"reason": "Mother no longer wants the school told.", "withdrawnBy": "Amina Yusuf"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["consent"]["shareWithAgencies"] is False
    assert got["consent"]["withdrawnAt"] and got["consent"]["withdrawnBy"] == "Amina Yusuf"
    assert got["version"] == case_a["version"] + 1
    assert cw_a.get(f"/v1/cases/{case_a['id']}").json() == got
    r = cw_a.post(f"/v1/cases/{case_a['id']}/consent/withdraw", {})
    assert r.status_code == 409
    assert cw_b.post(f"/v1/cases/{case_a['id']}/consent/withdraw", {}).status_code == 404


def test_a_closed_case_reports_its_outcome_and_emits_closed(cw_a, case_a, db):
    r = cw_a.post(f"/v1/cases/{case_a['id']}/close", {"outcome": "resolved", "reason": "Plan agreed at review."},
                  headers={"If-Match": f'"{case_a["version"]}"'})
    assert r.status_code == 200, r.text
    got = cw_a.get(f"/v1/cases/{case_a['id']}").json()
    assert got["status"] == "closed" and got["outcome"] == "resolved"
    assert got["closeReason"] == "Plan agreed at review." and got["closedAt"]
    data = outbox(db, case_a["id"], "case.closed")[0][1]
    assert data["outcome"] == "resolved" and data["languages"] == ["so", "en"]
    assert ("case.closed", "feedback") in deliveries(db, case_a["id"])
    assert ("case.closed", "notify") in deliveries(db, case_a["id"])
    # Closed: no second close, no new stage.
    assert cw_a.post(f"/v1/cases/{case_a['id']}/close", {"outcome": "other"}).status_code == 409
    assert cw_a.post(f"/v1/cases/{case_a['id']}/stages", {"stage": "sen_support", "on": "2025-01-06"}).status_code == 409
    assert len(outbox(db, case_a["id"], "case.closed")) == 1


def test_close_needs_an_outcome_and_a_current_version(cw_a, case_a, db):
    r = cw_a.post(f"/v1/cases/{case_a['id']}/close", {"reason": "x"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "outcome"
    assert cw_a.post(f"/v1/cases/{case_a['id']}/close", {"outcome": "adjourned"}).status_code == 400
    r = cw_a.post(f"/v1/cases/{case_a['id']}/close", {"outcome": "resolved"}, headers={"If-Match": '"99"'})
    assert r.status_code == 412
    assert cw_a.get(f"/v1/cases/{case_a['id']}").json()["status"] == "open"
    assert outbox(db, case_a["id"], "case.closed") == []


def test_cases_filter_by_status_stage_and_authority(admin, cw_a, authority_a, authority_b, family_a):
    a1 = cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()
    a2 = cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()
    assert cw_a.post(f"/v1/cases/{a1['id']}/stages", {"stage": "assessment_requested", "on": "2025-03-03"}).status_code == 201
    assert cw_a.post(f"/v1/cases/{a2['id']}/close", {"outcome": "information_provided"}).status_code == 200

    def ids(api, **params):
        out, token = [], None
        while True:
            page = api.get("/v1/cases", params={**params, "pageSize": 200, **({"pageToken": token} if token else {})})
            assert page.status_code == 200, page.text
            out += page.json()["items"]
            token = page.json().get("nextPageToken")
            if not token:
                return out
    staged = ids(cw_a, stage="assessment_requested")
    assert a1["id"] in [c["id"] for c in staged] and all(c["stage"] == "assessment_requested" for c in staged)
    closed = ids(cw_a, status="closed")
    assert a2["id"] in [c["id"] for c in closed] and a1["id"] not in [c["id"] for c in closed]
    assert all(c["authorityId"] == authority_b for c in ids(admin, authorityId=authority_b))
    assert cw_a.get("/v1/cases", params={"stage": "limbo"}).status_code == 400
