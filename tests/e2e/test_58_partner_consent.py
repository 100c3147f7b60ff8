"""Partners see what consent allows (issue 12, item 3): once a family
withdraws consent to share, the referring partner's view of its referral
shrinks to consentWithdrawn and the dates, and stops moving; a partner never
tells another client's ids from random ones by the answer it gets; no views
field reaches a partner on any route it may call; it finds the families it
registered by its own externalReference."""
import re
import uuid

import pytest

from conftest import Api, case_body, family_body
from intake_helpers import agency_body, patch
from webhook_helpers import sweep_url
from young_helpers import young_person_body

SECRET_VIEW = "Wants the quiet room at break"
# "view" or "views" as a word of a camelCase name: viewsSought, childViews
# (not reviewDueOn).
VIEWS_WORD = re.compile(r"(^views?|Views?)([A-Z]|$)")


def _refer(partner, authority, **case_over):
    fam = partner.post("/v1/families", family_body(authority))
    assert fam.status_code == 201, fam.text
    case = partner.post("/v1/cases", case_body(authority, fam.json(), source="school", **case_over))
    assert case.status_code == 201, case.text
    return fam.json(), case.json()


def _record_view(cw, child_id):
    r = cw.post(f"/v1/children/{child_id}/views", {"recordedOn": "2024-01-10", "method": "conversation",
                                                    "summary": SECRET_VIEW, "wishes": "To stay with friends",
                                                    "recordedBy": "Caseworker"})
    assert r.status_code == 201, r.text


def _views_keys(value, path="$"):
    """Every key anywhere in value that names views."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if VIEWS_WORD.search(k):
                found.append(f"{path}.{k}")
            found += _views_keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _views_keys(v, f"{path}[{i}]")
    return found


# ---- consent withdrawn: the view shrinks and stops moving ---------------------------------


def test_a_partners_view_shrinks_to_the_dates_once_consent_is_withdrawn(partner_a, cw_a, authority_a):
    family, case = _refer(partner_a, authority_a)
    cid = case["id"]
    r = cw_a.post(f"/v1/cases/{cid}/stages", {"stage": "assessment_requested", "on": "2024-01-10"})
    assert r.status_code == 201, r.text
    before = partner_a.get(f"/v1/referrals/{cid}").json()
    assert before["stage"] == "assessment_requested" and before["status"] == "open"
    assert before["consentWithdrawn"] is False

    r = cw_a.post(f"/v1/cases/{cid}/consent/withdraw", {"reason": "family asked", "withdrawnBy": "Amina Yusuf"})
    assert r.status_code == 200, r.text
    withdrawn_at = r.json()["consent"]["withdrawnAt"]
    assert r.json()["consentWithdrawn"] is True  # staff see it too, with everything else

    shrunk = {"id", "authorityId", "consentWithdrawn", "createdAt", "updatedAt"}
    referral = partner_a.get(f"/v1/referrals/{cid}")
    assert referral.status_code == 200, referral.text
    seen = referral.json()
    assert seen["consentWithdrawn"] is True
    assert set(seen) - {"externalReference"} == shrunk, seen
    assert seen["createdAt"] == before["createdAt"] and seen["updatedAt"] == withdrawn_at

    got = partner_a.get(f"/v1/cases/{cid}")
    assert got.status_code == 200, got.text
    as_case = got.json()
    assert as_case["consentWithdrawn"] is True
    assert not {"status", "stage", "closedAt", "outcome", "consent", "viewsSought"} & set(as_case), as_case
    assert as_case["updatedAt"] == withdrawn_at

    (listed,) = [x for x in partner_a.get("/v1/referrals", params={"pageSize": 200}).json()["items"]
                 if x["id"] == cid]
    assert listed == seen
    # A status filter would tell the status: it never finds the case.
    for status in ["open", "closed"]:
        ids = {x["id"] for x in partner_a.get("/v1/referrals", params={"status": status, "pageSize": 200})
               .json()["items"]}
        assert cid not in ids, status

    # Staff go on working the case: nothing of it reaches the partner, not
    # even that something changed (version, updatedAt, a sync).
    r = cw_a.post(f"/v1/cases/{cid}/stages", {"stage": "assessment_agreed", "on": "2024-02-20"})
    assert r.status_code == 201, r.text
    _record_view(cw_a, family["children"][0]["id"])
    r = cw_a.post(f"/v1/cases/{cid}/close", {"outcome": "resolved", "reason": "done"})
    assert r.status_code == 200, r.text
    assert cw_a.get(f"/v1/cases/{cid}").json()["version"] > as_case["version"]

    again = partner_a.get(f"/v1/referrals/{cid}")
    assert again.text == referral.text
    later = partner_a.get(f"/v1/cases/{cid}")
    assert later.text == got.text and later.headers["ETag"] == got.headers["ETag"]
    synced = partner_a.get("/v1/referrals", params={"updatedSince": withdrawn_at, "pageSize": 200}).json()["items"]
    assert [x for x in synced if x["id"] == cid] == [seen]
    closed_ids = {x["id"] for x in partner_a.get("/v1/referrals", params={"status": "closed", "pageSize": 200})
                  .json()["items"]}
    assert cid not in closed_ids
    assert SECRET_VIEW not in again.text + later.text


# ---- another client's ids answer as random ones ---------------------------------------------


def _same_problem(r1, r2, id1=None, id2=None):
    """The two answers are one answer: status, content type and the body byte
    for byte, but for the request id and the id each named in its path."""
    assert r1.status_code == r2.status_code, (r1.text, r2.text)
    assert r1.headers["Content-Type"] == r2.headers["Content-Type"]
    t1 = r1.text.replace(r1.json()["requestId"], "REQUEST")
    t2 = r2.text.replace(r2.json()["requestId"], "REQUEST")
    if id1:
        t1 = t1.replace(id1, "ID")
    if id2:
        t2 = t2.replace(id2, "ID")
    assert t1 == t2


def test_another_clients_or_authoritys_ids_answer_byte_for_byte_as_random_ones(
        tenancy, partner_a, cw_a, cw_b, authority_a, authority_b, family_a, case_a):
    other_partner = tenancy.client("partner A2", ["partner_agency"], [authority_a])
    mine, my_case = _refer(partner_a, authority_a)
    theirs, their_case = _refer(other_partner, authority_a)
    fam_b = cw_b.post("/v1/families", family_body(authority_b)).json()
    case_b = cw_b.post("/v1/cases", case_body(authority_b, fam_b)).json()

    def open_on(family_id, child_id, authority=authority_a):
        body = case_body(authority, mine)
        body.update(familyId=family_id, childId=child_id)
        return partner_a.post("/v1/cases", body)

    random_family = open_on(str(uuid.uuid4()), str(uuid.uuid4()))
    assert random_family.status_code == 400 and random_family.json()["errors"][0]["field"] == "familyId"
    for family in [family_a, theirs]:  # staff's family, another partner's: both in the partner's authority
        _same_problem(open_on(family["id"], family["children"][0]["id"]), random_family)
    # Another authority's family, named under the partner's own authority.
    _same_problem(open_on(fam_b["id"], fam_b["children"][0]["id"]), random_family)
    # Its own family with a child of another family: as a random child.
    random_child = open_on(mine["id"], str(uuid.uuid4()))
    assert random_child.status_code == 400 and random_child.json()["errors"][0]["field"] == "childId"
    for family in [family_a, theirs, fam_b]:
        _same_problem(open_on(mine["id"], family["children"][0]["id"]), random_child)
    # An authority it does not serve: whether or not it exists.
    _same_problem(open_on(fam_b["id"], fam_b["children"][0]["id"], authority=authority_b),
                  open_on(fam_b["id"], fam_b["children"][0]["id"], authority=str(uuid.uuid4())))
    # Registering a family under an authority it does not serve: the same.
    _same_problem(partner_a.post("/v1/families", family_body(authority_b)),
                  partner_a.post("/v1/families", family_body(str(uuid.uuid4()))))
    # Nothing was opened by any of it.
    assert {x["id"] for x in partner_a.get("/v1/referrals", params={"pageSize": 200}).json()["items"]} == \
        {my_case["id"]}

    # Reads: another's family or case is the 404 of a random id.
    for path, others in [("/v1/families/", [family_a["id"], theirs["id"], fam_b["id"]]),
                         ("/v1/cases/", [case_a["id"], their_case["id"], case_b["id"]]),
                         ("/v1/referrals/", [case_a["id"], their_case["id"], case_b["id"]])]:
        random_id = str(uuid.uuid4())
        nothing = partner_a.get(path + random_id)
        assert nothing.status_code == 404, nothing.text
        for other in others:
            _same_problem(partner_a.get(path + other), nothing, other, random_id)


# ---- no views field reaches a partner ---------------------------------------------------------


def test_no_views_field_reaches_a_partner_on_any_route_it_may_call(partner_a, cw_a, authority_a):
    family, case = _refer(partner_a, authority_a)
    _record_view(cw_a, family["children"][0]["id"])
    assert cw_a.get(f"/v1/cases/{case['id']}").json()["viewsSought"] is True  # there is something to leak
    agency = cw_a.post("/v1/agencies", agency_body([authority_a]))
    assert agency.status_code == 201, agency.text
    resource = cw_a.post("/v1/resources", {
        "key": f"views-{uuid.uuid4().hex[:8]}", "title": "Your child's views", "topic": "options",
        "language": "en", "format": "standard", "body": "How views are sought.", "reviewDueOn": "2030-01-01",
        "authorityIds": [authority_a]})
    assert resource.status_code == 201, resource.text
    young = partner_a.post("/v1/young-people", young_person_body(authority_a))
    assert young.status_code == 201, young.text
    ids = {"families": family["id"], "cases": case["id"], "referrals": case["id"],
           "agencies": agency.json()["id"], "resources": resource.json()["id"], "young-people": young.json()["id"]}

    doc = Api(None).get("/v1/openapi.json").json()
    walked = []

    def check(method, path, r):
        assert r.status_code in (200, 201), (method, path, r.text)
        assert not _views_keys(r.json()), (method, path, _views_keys(r.json()))
        assert SECRET_VIEW not in r.text, (method, path)
        walked.append(f"{method.upper()} {path}")

    def webhook():  # the partner's own (services/notify/webhook.h); nothing is sent to it
        r = partner_a.post("/v1/webhooks", {"authorityId": authority_a, "url": sweep_url(f"views/{uuid.uuid4().hex}"),
                                            "eventTypes": ["case.deadline_due"]})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    for state in ["consent given", "consent withdrawn"]:
        ids["webhooks"] = webhook()
        for template, ops in doc["paths"].items():
            for method, op in ops.items():
                if not isinstance(op, dict) or "partner_agency" not in op.get("x-parley-roles", []):
                    continue
                collection = template.split("/")[2]
                path = template.replace("{id}", ids.get(collection, "?"))
                assert "{" not in path and "?" not in path, f"{method} {template}: give this test an object for it"
                if method == "get":
                    check(method, path, partner_a.get(path))
                elif method == "post" and template == "/v1/families":
                    check(method, path, partner_a.post(path, family_body(authority_a)))
                elif method == "post" and template == "/v1/cases":
                    check(method, path, partner_a.post(path, case_body(authority_a, family)))
                elif method == "post" and template == "/v1/young-people":
                    check(method, path, partner_a.post(path, young_person_body(authority_a)))
                elif method == "post" and template == "/v1/webhooks":
                    check(method, path, partner_a.post(path, {"authorityId": authority_a, "url": sweep_url("views"),
                                                              "eventTypes": ["case.opened"]}))
                elif method == "delete" and template == "/v1/webhooks/{id}":
                    check(method, path, partner_a.s.delete(partner_a.base + f"/v1/webhooks/{webhook()}", timeout=10))
                else:
                    pytest.fail(f"{method} {template} is open to partners: give this test a request for it")
        if state == "consent given":
            r = cw_a.post(f"/v1/cases/{case['id']}/consent/withdraw", {"reason": "asked", "withdrawnBy": "Amina"})
            assert r.status_code == 200, r.text
    assert {"GET /v1/cases/" + case["id"], "GET /v1/referrals", "POST /v1/cases"} <= set(walked)


# ---- its own families, by its own reference ---------------------------------------------------


def test_a_partner_finds_its_family_by_its_reference_instead_of_registering_it_twice(
        tenancy, partner_a, cw_a, authority_a):
    ref = f"SCHOOL-{uuid.uuid4().hex[:10]}"
    first = partner_a.post("/v1/families", family_body(authority_a, externalReference=ref))
    assert first.status_code == 201, first.text
    fid = first.json()["id"]
    # Staff add to the family: none of it is the partner's to read back.
    r = cw_a.get(f"/v1/families/{fid}")
    assert r.status_code == 200, r.text

    found = partner_a.get("/v1/families", params={"externalReference": ref})
    assert found.status_code == 200, found.text
    (item,) = found.json()["items"]
    assert item["id"] == fid and item["externalReference"] == ref
    assert set(item) <= {"id", "authorityId", "externalReference", "version", "createdAt", "updatedAt"}, item
    one = partner_a.get(f"/v1/families/{fid}").json()
    assert one["parents"] == [] and one["externalReference"] == ref
    assert not _views_keys(one)

    again = partner_a.post("/v1/families", family_body(authority_a, externalReference=ref))
    assert again.status_code == 409 and again.json()["code"] == "duplicate_reference", again.text
    assert fid in again.json()["detail"]
    assert [x["id"] for x in partner_a.get("/v1/families", params={"externalReference": ref}).json()["items"]] \
        == [fid]

    # The reference is this client's own: another partner neither finds the
    # family by it nor is stopped from using it.
    other = tenancy.client("partner A3", ["partner_agency"], [authority_a])
    assert other.get("/v1/families", params={"externalReference": ref}).json()["items"] == []
    assert other.post("/v1/families", family_body(authority_a, externalReference=ref)).status_code == 201
    assert cw_a.get("/v1/families", params={"externalReference": ref}).json()["items"] == []


def test_a_partner_reads_back_only_the_children_it_registered(partner_a, cw_a, authority_a):
    family = partner_a.post("/v1/families", family_body(authority_a))
    assert family.status_code == 201, family.text
    family = family.json()
    mine = family["children"][0]
    # Staff add a sibling to the family the partner registered.
    full = cw_a.get(f"/v1/families/{family['id']}").json()
    sibling = {"givenName": "Staff-Added", "familyName": "Sibling", "dateOfBirth": "2018-05-01",
               "planStatus": "sen_support"}
    r = patch(cw_a, f"/v1/families/{family['id']}", {"children": [{"id": mine["id"]}, sibling]})
    assert r.status_code == 200, r.text
    added = [c for c in r.json()["children"] if c["id"] != mine["id"]]
    assert len(added) == 1 and len(full["children"]) == 1

    got = partner_a.get(f"/v1/families/{family['id']}")
    assert got.status_code == 200, got.text
    assert [c["id"] for c in got.json()["children"]] == [mine["id"]]
    assert "Staff-Added" not in got.text
    # Its id is answered as a random child's.
    def open_on(child_id):
        body = case_body(authority_a, family)
        body["childId"] = child_id
        return partner_a.post("/v1/cases", body)
    _same_problem(open_on(added[0]["id"]), open_on(str(uuid.uuid4())))
    assert open_on(mine["id"]).status_code == 201


# ---- into intake's own triage ---------------------------------------------------------------


def test_a_partners_referral_lands_open_in_the_caseworkers_list(partner_a, cw_a, authority_a):
    """A partner refers a family it registers itself: the case it opens is
    intake's triage, open in the caseworkers' list with its source, where
    they pick it up; any other family it names is refused as a random id."""
    family, case = _refer(partner_a, authority_a)
    items = []
    token = None
    while True:
        params = {"status": "open", "authorityId": authority_a, "pageSize": 200}
        if token:
            params["pageToken"] = token
        body = cw_a.get("/v1/cases", params=params).json()
        items += body["items"]
        token = body.get("nextPageToken")
        if not token:
            break
    (mine,) = [x for x in items if x["id"] == case["id"]]
    assert mine["source"] == "school" and mine["familyId"] == family["id"] and mine["status"] == "open"
