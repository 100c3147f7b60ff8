"""Errors a program can act on: every problem carries a stable `code`, listed
with its meaning at /docs/problems, and a `detail` in words; causes that
share an HTTP status have codes of their own.

(tests/e2e/recorder.py checks, after every test of the suite, that each
problem received has a listed code and a detail.)
"""
import re
import uuid

import requests

from conftest import ENV, Api, case_body, family_body, make_client
from intake_helpers import patch
from matching_helpers import make_case, make_supporter, tenant  # noqa: F401


def problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == code, body
    assert body["detail"].strip(), body
    return body


def listed_codes(anon):
    page = anon.get("/docs/problems")
    assert page.status_code == 200
    return page.text, set(re.findall(r'<dt id="([a-z_]+)">', page.text))


def test_docs_problems_lists_each_code_under_its_status_with_its_meaning(anon):
    text, codes = listed_codes(anon)
    for code in ["invalid_request", "read_only_field", "child_has_cases", "unauthenticated", "invalid_key",
                 "forbidden", "not_found", "no_route", "method_not_allowed", "already_closed", "case_closed",
                 "consent_already_withdrawn", "duplicate_reference", "offer_not_pending", "capacity_full",
                 "stale_version", "invalid_page_token", "rate_limited", "internal", "unavailable", "timeout"]:
        assert code in codes, code
    # Each under the section of its status.
    sections = re.split(r'<section id="', text)[1:]
    where = {c: s.split('"', 1)[0] for s in sections for c in re.findall(r'<dt id="([a-z_]+)">', s)}
    assert where["capacity_full"] == "conflict" and where["stale_version"] == "precondition-failed"
    assert where["not_found"] == "not-found" and where["timeout"] == "gateway-timeout"


def test_the_gateways_own_problems_have_codes_and_details(cw_a, anon):
    problem(anon.get("/v1/cases"), 401, "unauthenticated")
    problem(Api("pk_" + "1" * 32 + "_" + "y" * 43).get("/v1/cases", headers={"X-Forwarded-For": "10.9.8.7"}), 401,
            "invalid_key")
    problem(Api(ENV["PARLEY_KEY_PARTNER_A"]).get("/v1/cases"), 403, "forbidden")
    problem(cw_a.get("/v1/nothing-here"), 404, "no_route")
    problem(cw_a.get(f"/v1/cases/{uuid.uuid4()}"), 404, "not_found")
    problem(cw_a.get("/v1/cases/not-an-id"), 404, "not_found")
    r = cw_a.s.put(cw_a.base + "/v1/cases", json={}, timeout=10)
    body = problem(r, 405, "method_not_allowed")
    assert "PUT" in body["detail"] and set(r.headers["Allow"].split(", ")) == {"GET", "POST"}
    problem(anon.s.post(anon.base + "/v1/openapi.json", timeout=10), 405, "method_not_allowed")
    problem(cw_a.post("/v1/cases", {"needs": ["nonsense"]}), 400, "invalid_request")
    problem(cw_a.s.post(cw_a.base + "/v1/cases", data="{}", headers={"Content-Type": "text/plain"}, timeout=10),
            415, "unsupported_media_type")


def test_a_childs_cases_closing_and_consent_each_have_their_code(cw_a, case_a, family_a):
    new_child = {"givenName": "Other", "familyName": "Yusuf", "dateOfBirth": "2018-01-01"}
    body = problem(patch(cw_a, f"/v1/families/{family_a['id']}", {"children": [new_child]}), 400, "child_has_cases")
    assert [e["field"] for e in body["errors"]] == ["children"]
    path = f"/v1/cases/{case_a['id']}"
    assert cw_a.post(path + "/consent/withdraw", {"reason": "asked", "withdrawnBy": "Amina"}).status_code == 200
    problem(cw_a.post(path + "/consent/withdraw", {"reason": "again", "withdrawnBy": "Amina"}), 409,
            "consent_already_withdrawn")
    assert cw_a.post(path + "/close", {"outcome": "resolved", "reason": "done"}).status_code == 200
    # Closed twice, and a stage on a closed case: two causes, two codes.
    problem(cw_a.post(path + "/close", {"outcome": "resolved", "reason": "again"}), 409, "already_closed")
    problem(cw_a.post(path + "/stages", {"stage": "assessment_requested", "on": "2024-01-10"}), 409, "case_closed")
    problem(cw_a.post(path + "/stages", {"stage": "assessment_requested", "on": "2024-01-10"},
                      headers={"If-Match": '"999"'}), 412, "stale_version")


def test_an_offer_answered_and_a_full_supporter_have_their_codes(tenant):
    sup = make_supporter(tenant.cw_x, [tenant.x], capacity=2)
    cases = [make_case(tenant.cw_x, tenant.x) for _ in range(3)]
    offers = []
    for case in cases:
        r = tenant.cw_x.post("/v1/match-requests", {"caseId": case["id"]})
        assert r.status_code == 201, r.text
        offers.append(r.json().get("currentOffer"))
    # Two places: two families offered, the third waits.
    assert [o and o["supporterId"] for o in offers] == [sup["id"], sup["id"], None], offers
    problem(tenant.cw_x.post("/v1/match-requests", {"caseId": cases[0]["id"]}), 409, "match_request_open")
    assert tenant.cw_x.post(f"/v1/offers/{offers[0]['id']}/accept", {}).status_code == 200
    problem(tenant.cw_x.post(f"/v1/offers/{offers[0]['id']}/decline", {}), 409, "offer_not_pending")
    # The supporter's capacity drops to the one family it supports: the other
    # offer can no longer be taken.
    r = patch(tenant.cw_x, f"/v1/supporters/{sup['id']}", {"capacity": 1})
    assert r.status_code == 200, r.text
    body = problem(tenant.cw_x.post(f"/v1/offers/{offers[1]['id']}/accept", {}), 409, "capacity_full")
    assert "no place left" in body["detail"]
    problem(tenant.cw_x.post(f"/v1/offers/{offers[1]['id']}/accept", {}), 409, "offer_not_pending")


def test_every_code_a_problem_carries_is_listed(cw_a, anon, authority_a):
    """Codes of a spread of failures, from services and from the gateway,
    all on the page (the recorder checks every problem of the suite)."""
    _, codes = listed_codes(anon)
    seen = set()
    for r in [cw_a.get(f"/v1/families/{uuid.uuid4()}"), cw_a.post("/v1/families", {"authorityId": authority_a}),
              cw_a.get("/v1/cases", params={"pageToken": "x.y"}), cw_a.get("/v1/cases", params={"pageSize": 500}),
              anon.get("/v1/cases"), requests.get(ENV["PARLEY_URL"] + "/v1/", timeout=10)]:
        assert r.status_code >= 400
        seen.add(r.json()["code"])
    assert seen <= codes, seen - codes
    assert len(seen) >= 4, seen


def test_a_duplicate_reference_names_the_first(authority_a):
    partner = Api(make_client(["partner_agency"], [authority_a]))
    ref = f"SCH-{uuid.uuid4().hex[:8]}"
    first = partner.post("/v1/families", family_body(authority_a, externalReference=ref))
    assert first.status_code == 201, first.text
    body = problem(partner.post("/v1/families", family_body(authority_a, externalReference=ref)), 409,
                   "duplicate_reference")
    assert first.json()["id"] in body["detail"]
    case = partner.post("/v1/cases", case_body(authority_a, first.json(), externalReference=ref))
    assert case.status_code == 201, case.text
    body = problem(partner.post("/v1/cases", case_body(authority_a, first.json(), externalReference=ref)), 409,
                   "duplicate_reference")
    assert case.json()["id"] in body["detail"]
