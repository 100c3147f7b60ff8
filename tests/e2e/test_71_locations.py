"""Every 201's Location answers 200 to GET with the new object, for every
route that creates one, with the key that created it (a partner agency's
too). tests/e2e/recorder.py checks the same of every 201 the suite gets."""
import uuid

import pytest

from conftest import Api, case_body, family_body, make_client
from intake_helpers import agency_body
from webhook_helpers import sweep_url
from young_helpers import LINK_BODY, young_person_body


def created(api, path, body):
    r = api.post(path, body)
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    got = api.get(location)
    assert got.status_code == 200, (path, location, got.text)
    assert got.json()["id"] == r.json()["id"], (path, location)
    return r.json(), location


def test_the_location_of_every_kind_of_201_gets_the_new_object(cw_a, admin, authority_a, anon):
    doc = anon.get("/v1/openapi.json").json()
    creates = {p for p, item in doc["paths"].items() if "201" in item.get("post", {}).get("responses", {})}
    made = set()

    def make(api, path, body, template=None):
        made.add(template or path)
        return created(api, path, body)

    fam, _ = make(cw_a, "/v1/families", family_body(authority_a))
    case, _ = make(cw_a, "/v1/cases", case_body(authority_a, fam))
    child = fam["children"][0]["id"]
    make(cw_a, f"/v1/children/{child}/views", {"recordedOn": "2024-01-10", "method": "drawing", "summary": "A house.",
                                                "recordedBy": "B"}, "/v1/children/{id}/views")
    make(cw_a, f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": "2024-01-10"},
         "/v1/cases/{id}/stages")
    agency, _ = make(cw_a, "/v1/agencies", agency_body([authority_a]))
    make(cw_a, f"/v1/cases/{case['id']}/signposts", {"agencyId": agency["id"], "on": "2024-01-10", "method": "email"},
         "/v1/cases/{id}/signposts")
    make(cw_a, "/v1/resources", {"key": f"loc-{uuid.uuid4().hex[:8]}", "title": "Your rights", "topic": "rights",
                                 "language": "en", "format": "standard", "body": "Text.",
                                 "reviewDueOn": "2030-01-01"})
    make(cw_a, "/v1/supporters", {"givenName": "Loc", "familyName": "Ation", "authorityIds": [authority_a],
                                  "languages": ["en"], "capacity": 1, "vettingExpiresOn": "2035-01-01",
                                  "status": "paused"})
    make(cw_a, "/v1/match-requests", {"caseId": case["id"]})
    code = "E0%07d" % (uuid.uuid4().int % 10**7)
    make(admin, "/v1/authorities", {"code": code, "name": f"Location test {code}"})
    make(admin, "/v1/clients", {"name": "location test", "roles": ["caseworker"], "authorityIds": [authority_a]})
    yp, _ = make(cw_a, "/v1/young-people", young_person_body(authority_a))
    make(cw_a, f"/v1/young-people/{yp['id']}/parents", LINK_BODY, "/v1/young-people/{id}/parents")
    make(cw_a, f"/v1/young-people/{yp['id']}/views", {"recordedOn": "2024-01-10", "method": "conversation",
                                                      "summary": "College.", "recordedBy": "B"},
         "/v1/young-people/{id}/views")
    owner = str(uuid.uuid4())
    assert cw_a.s.put(f"{cw_a.base}/v1/calendars/{owner}/availability", timeout=10,
                      json={"authorityId": authority_a, "ownerKind": "room"}).status_code == 200
    make(cw_a, "/v1/appointments", {"authorityId": authority_a, "caseId": case["id"], "kind": "school_meeting",
                                    "start": "2027-02-02T10:00:00Z", "end": "2027-02-02T11:00:00Z",
                                    "location": {"kind": "in_person", "address": "Room 1"},
                                    "participants": [{"kind": "room", "calendarOwnerId": owner, "name": "Room 1"}]})
    session, _ = make(cw_a, "/v1/sessions", {"authorityId": authority_a, "title": "Location", "kind": "drop_in",
                                             "audience": ["parents"], "capacity": 2, "start": "2027-02-03T10:00:00Z",
                                             "end": "2027-02-03T11:00:00Z",
                                             "location": {"kind": "in_person", "address": "Hall"}})
    make(cw_a, f"/v1/sessions/{session['id']}/bookings", {"name": "A"}, "/v1/sessions/{id}/bookings")
    make(admin, "/v1/webhooks", {"authorityId": authority_a, "url": sweep_url(f"locations/{uuid.uuid4().hex}"),
                                 "eventTypes": ["case.deadline_due"]})
    course, _ = make(cw_a, "/v1/courses", {"authorityId": authority_a, "code": f"LOC-{uuid.uuid4().hex[:6]}",
                                           "title": "Location", "audience": ["teacher"], "level": 1,
                                           "delivery": "online"})
    make(cw_a, "/v1/training-sessions", {"courseId": course["id"], "trainer": "T", "capacity": 5, "on": "2024-01-10"})
    make(cw_a, "/v1/completions", {"person": {"name": "L", "organisation": {"urn": "100000"}, "role": "teacher"},
                                   "courseId": course["id"], "completedOn": "2024-01-10"})
    assert made == creates, f"a route answering 201 without a case here: {sorted(creates - made)}"


def test_a_partner_agencys_201s_get_what_it_created(authority_a):
    partner = Api(make_client(["partner_agency"], [authority_a]))
    fam, _ = created(partner, "/v1/families", family_body(authority_a))
    case, location = created(partner, "/v1/cases", case_body(authority_a, fam))
    assert location == f"/v1/cases/{case['id']}"
    # What it reads there is what its POST was answered with.
    got = partner.get(location).json()
    assert {k: v for k, v in got.items() if k != "updatedAt"} == {k: v for k, v in case.items() if k != "updatedAt"}


@pytest.mark.parametrize("sub", ["views", "stages", "signposts"])
def test_a_sub_resource_is_404_under_another_parent(cw_a, cw_b, authority_a, sub, family_a, case_a):
    if sub == "views":
        parent = f"/v1/children/{family_a['children'][0]['id']}"
        body = {"recordedOn": "2024-01-10", "method": "drawing", "summary": "A house.", "recordedBy": "B"}
    else:
        parent = f"/v1/cases/{case_a['id']}"
        agency = cw_a.post("/v1/agencies", agency_body([authority_a])).json()
        body = {"stage": "assessment_requested", "on": "2024-01-10"} if sub == "stages" else \
            {"agencyId": agency["id"], "on": "2024-01-10", "method": "email"}
    r = cw_a.post(f"{parent}/{sub}", body)
    assert r.status_code == 201, r.text
    sub_id = r.json()["id"]
    other = cw_a.post("/v1/families", family_body(authority_a)).json()
    other_parent = f"/v1/children/{other['children'][0]['id']}" if sub == "views" else \
        f"/v1/cases/{cw_a.post('/v1/cases', case_body(authority_a, other)).json()['id']}"
    assert cw_a.get(f"{other_parent}/{sub}/{sub_id}").status_code == 404
    assert cw_b.get(f"{parent}/{sub}/{sub_id}").status_code == 404
    assert cw_a.get(f"{parent}/{sub}/{uuid.uuid4()}").status_code == 404
    assert cw_a.get(f"{parent}/{sub}/{sub_id}").status_code == 200
