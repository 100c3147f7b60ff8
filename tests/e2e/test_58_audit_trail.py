"""The audit records what was tried (issue 12, item 7): a 401 once the key
named a client (a wrong secret, a revoked key) and every 403 leave one row
each, with the route, the principal and the outcome and nothing of the
body; a list's row names the records it returned; a data protection
officer's key (dpo) reads the audit of its authorities and nothing else."""
import time
import uuid

import pytest

from authz_helpers import forged_key, fresh_address, raw
from conftest import Api, case_body, client_id_of, family_body, make_client
from matching_helpers import make_supporter

BODY_SECRET = "Nobody-must-read-this-7f3a"


def _rows(db, request_id, expected=1):
    """The audit rows of one request, once there are expected of them (the
    gateway writes a refusal's row just after answering)."""
    deadline = time.time() + 10
    while True:
        with db.cursor() as c:
            c.execute("SELECT client_id::text, consortium_id::text, role, outcome, route, action, record_type,"
                      " record_id, record_ids, events::text FROM audit.events WHERE request_id = %s", (request_id,))
            rows = c.fetchall()
        if len(rows) >= expected or time.time() > deadline:
            return rows
        time.sleep(0.05)


def _consortium(db, client_id):
    with db.cursor() as c:
        c.execute("SELECT consortium_id::text FROM gateway.api_clients WHERE id = %s", (client_id,))
        return c.fetchone()[0]


# ---- refusals ---------------------------------------------------------------------------------


def test_a_401_for_a_known_client_is_audited_once_with_the_route_and_no_body(authority_a, db):
    key = make_client(["caseworker"], [authority_a])
    client = client_id_of(key)
    consortium = _consortium(db, client)
    body = family_body(authority_a)
    body["children"][0]["givenName"] = BODY_SECRET
    r = raw("POST", "/v1/families", forged_key(client), fresh_address(), json=body)
    assert r.status_code == 401, r.text
    (row,) = _rows(db, r.headers["X-Request-Id"])
    assert row[0] == client and row[1] == consortium and row[3] == 401
    assert row[4] == "POST /v1/families" and row[5] == "create"
    assert BODY_SECRET not in row[-1]

    # A revoked key: the client is known, its key refused; the row says so.
    admin_key = make_client(["consortium_admin"], [authority_a])
    r = Api(admin_key).s.delete(Api(admin_key).base + f"/v1/clients/{client}", timeout=10)
    assert r.status_code == 200, r.text
    r = raw("GET", f"/v1/cases/{uuid.uuid4()}", key, fresh_address())
    assert r.status_code == 401, r.text
    (row,) = _rows(db, r.headers["X-Request-Id"])
    assert row[0] == client and row[1] == consortium and row[3] == 401
    assert row[4] == "GET /v1/cases/{id}" and row[5] == "read"
    # The admin of its authority finds the attempt in the audit trail.
    seen = Api(admin_key).get("/v1/audit", params={"clientId": client, "pageSize": 200}).json()["items"]
    assert any(e["requestId"] == r.headers["X-Request-Id"] and e["outcome"] == 401 and
               e["route"] == "GET /v1/cases/{id}" for e in seen), seen


def test_every_403_is_audited_once_with_the_route_the_principal_and_no_body(partner_a, case_a, db):
    client = client_id_of(partner_a.key)
    refused = [
        ("GET", "/v1/cases", None, "list"),
        ("POST", f"/v1/cases/{case_a['id']}/close", {"outcome": "resolved", "reason": BODY_SECRET}, "update"),
        ("GET", f"/v1/cases/{case_a['id']}/timeline", None, "read"),
    ]
    for method, path, body, action in refused:
        r = partner_a.s.request(method, partner_a.base + path, json=body, timeout=10)
        assert r.status_code == 403, (path, r.text)
        (row,) = _rows(db, r.headers["X-Request-Id"])
        assert row[0] == client and row[2] == "partner_agency" and row[3] == 403, row
        template = path.replace(case_a["id"], "{id}")
        assert row[4] == f"{method} {template}" and row[5] == action, row
        if "{id}" in template:
            assert row[7] == case_a["id"]
        assert BODY_SECRET not in row[-1]
    # The refused close changed nothing.
    with db.cursor() as c:
        c.execute("SELECT status, version FROM intake.cases WHERE id = %s", (case_a["id"],))
        assert c.fetchone() == ("CASE_STATUS_OPEN", case_a["version"])


# ---- a list's row names what it returned ----------------------------------------------------


def test_a_list_reads_row_names_the_ids_it_returned_at_most_a_page(cw_a, partner_a, authority_a, db):
    families = [cw_a.post("/v1/families", family_body(authority_a)).json() for _ in range(3)]
    for f in families:
        assert cw_a.post("/v1/cases", case_body(authority_a, f)).status_code == 201
    r = cw_a.get("/v1/cases", params={"pageSize": 2, "authorityId": authority_a})
    assert r.status_code == 200, r.text
    page = [x["id"] for x in r.json()["items"]]
    assert len(page) == 2 and r.json().get("nextPageToken")
    (row,) = _rows(db, r.headers["X-Request-Id"])
    assert row[5] == "list" and row[4] == "GET /v1/cases" and row[8] == page, row
    # The next page, and the last.
    r = cw_a.get("/v1/cases", params={"pageSize": 2, "authorityId": authority_a,
                                      "pageToken": r.json()["nextPageToken"]})
    (row,) = _rows(db, r.headers["X-Request-Id"])
    assert row[8] == [x["id"] for x in r.json()["items"]] and len(row[8]) == 1

    # Other lists: a partner's referrals and families, a child's views.
    fam = partner_a.post("/v1/families", family_body(authority_a)).json()
    case = partner_a.post("/v1/cases", case_body(authority_a, fam)).json()
    for on in ["2024-01-10", "2024-02-10"]:
        r = cw_a.post(f"/v1/children/{fam['children'][0]['id']}/views",
                      {"recordedOn": on, "method": "drawing", "summary": "A house.", "recordedBy": "B"})
        assert r.status_code == 201, r.text
    for api, path in [(partner_a, "/v1/referrals"), (partner_a, "/v1/families"),
                      (cw_a, f"/v1/children/{fam['children'][0]['id']}/views")]:
        r = api.get(path)
        assert r.status_code == 200, r.text
        (row,) = _rows(db, r.headers["X-Request-Id"])
        assert row[8] == [x["id"] for x in r.json()["items"]] and row[8], (path, row)
    assert _rows(db, partner_a.get("/v1/referrals").headers["X-Request-Id"])[0][8] == [case["id"]]
    # Matching's and the administration's lists too.
    admin = Api(make_client(["consortium_admin"], [authority_a]))
    made = [make_supporter(cw_a, [authority_a], status="paused")["id"] for _ in range(2)]
    for api, path, params in [(cw_a, "/v1/supporters", {"authorityId": authority_a}),
                              (cw_a, "/v1/assignments", {}),
                              (admin, "/v1/clients", {}), (admin, "/v1/authorities", {})]:
        r = api.get(path, params=dict(params, pageSize=200))
        assert r.status_code == 200, r.text
        (row,) = _rows(db, r.headers["X-Request-Id"])
        assert row[5] == "list" and row[8] == [x["id"] for x in r.json()["items"]], (path, row)
        if path == "/v1/supporters":
            assert set(made) <= set(row[8])
    # A list that returned nothing says so.
    r = partner_a.get("/v1/referrals", params={"externalReference": "none-" + uuid.uuid4().hex})
    assert r.json()["items"] == []
    assert _rows(db, r.headers["X-Request-Id"])[0][8] == []


# ---- the data protection officer ------------------------------------------------------------


def test_a_dpo_reads_its_authorities_audit_and_nothing_else(tenancy, admin, cw_a, cw_b, authority_a, authority_b,
                                                            case_a, db):
    dpo = Api(make_client(["dpo"], [authority_a]))
    dpo_id = client_id_of(dpo.key)
    fam_b = cw_b.post("/v1/families", family_body(authority_b)).json()
    case_b = cw_b.post("/v1/cases", case_body(authority_b, fam_b)).json()
    read_a = cw_a.get(f"/v1/cases/{case_a['id']}")
    read_b = cw_b.get(f"/v1/cases/{case_b['id']}")
    assert read_a.status_code == read_b.status_code == 200

    mine = dpo.get("/v1/audit", params={"recordId": case_a["id"], "pageSize": 200})
    assert mine.status_code == 200, mine.text
    events = mine.json()["items"]
    assert any(e["requestId"] == read_a.headers["X-Request-Id"] and e["route"] == "GET /v1/cases/{id}"
               for e in events), events
    # Another authority's audit: not a row of it.
    theirs = dpo.get("/v1/audit", params={"recordId": case_b["id"], "pageSize": 200})
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    everything = dpo.get("/v1/audit", params={"pageSize": 200}).json()["items"]
    assert not [e for e in everything if e.get("authorityId") == authority_b or e.get("recordId") == case_b["id"]]
    # B's own admin sees it (the row is there).
    admin_b = Api(make_client(["consortium_admin"], [authority_b]))
    assert any(e["requestId"] == read_b.headers["X-Request-Id"]
               for e in admin_b.get("/v1/audit", params={"recordId": case_b["id"]}).json()["items"])

    # Nothing else: every other operation of the document is refused, with
    # no personal data and whatever object it names.
    doc = Api(None).get("/v1/openapi.json").json()
    refused = 0
    for template, ops in doc["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "x-parley-roles" not in op or op["operationId"] == "ListAudit":
                continue
            if op.get("security") == []:  # ics: keyless (a feed's token), no role to refuse
                continue
            path = template
            for name in ["{id}", "{viewId}", "{stageId}", "{signpostId}"]:
                path = path.replace(name, case_a["id"] if name == "{id}" else str(uuid.uuid4()))
            r = dpo.s.request(method.upper(), dpo.base + path, json={} if method != "get" else None, timeout=10)
            assert r.status_code == 403, (method, template, r.status_code, r.text)
            assert case_a["familyId"] not in r.text
            refused += 1
            (row,) = _rows(db, r.headers["X-Request-Id"])
            assert row[0] == dpo_id and row[2] == "dpo" and row[3] == 403 and row[4] == f"{method.upper()} {template}"
    assert refused > 40
    # Its own refusals are in its authorities' audit, for it to read.
    own = dpo.get("/v1/audit", params={"clientId": dpo_id, "pageSize": 200}).json()["items"]
    assert sum(1 for e in own if e["outcome"] == 403) >= refused

    # A dpo key goes with no other role.
    r = admin.post("/v1/clients", {"name": "dpo and more", "roles": ["dpo", "caseworker"],
                                   "authorityIds": [authority_a]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "roles", r.text


def test_the_audit_list_itself_names_the_events_it_returned(authority_a, cw_a, case_a, db):
    dpo = Api(make_client(["dpo"], [authority_a]))
    cw_a.get(f"/v1/cases/{case_a['id']}")
    r = dpo.get("/v1/audit", params={"recordId": case_a["id"], "pageSize": 2})
    assert r.status_code == 200, r.text
    (row,) = _rows(db, r.headers["X-Request-Id"])
    assert row[4] == "GET /v1/audit" and row[8] == [e["id"] for e in r.json()["items"]] and row[8]
    # A list's row, as GET /v1/audit shows it: recordIds.
    shown = dpo.get("/v1/audit", params={"clientId": client_id_of(dpo.key), "pageSize": 200}).json()["items"]
    (first,) = [e for e in shown if e["requestId"] == r.headers["X-Request-Id"]]
    assert first["recordIds"] == row[8] and first["route"] == "GET /v1/audit"


@pytest.mark.parametrize("roles", [["dpo", "consortium_admin"], ["dpo", "partner_agency"]])
def test_a_dpo_role_is_never_combined(admin, authority_a, roles):
    r = admin.post("/v1/clients", {"name": "combined", "roles": roles, "authorityIds": [authority_a]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "roles", r.text


# Lists whose items are not people's records: their audit row names no ids.
LISTS_WITHOUT_PERSONAL_DATA = {
    "/v1/agencies": "the directory: organisations",
    "/v1/resources": "the library: leaflets",
    "/v1/resources/review-due": "the library: leaflets",
    "/v1/matching/unmet-demand": "counts by group, no records",
    "/v1/deadlines": "statutory dates of cases; each row names its case, whose reads are audited",
    "/v1/webhooks": "an API client's own receivers: its systems' URLs",
    "/v1/webhooks/{id}/deliveries": "thin event deliveries (event ids, types, response codes)",
    "/v1/courses": "the training courses an authority offers",
    "/v1/training-sessions": "training sessions: course, date, trainer, seats (an attendee's completion is read by id)",
    "/v1/sessions": "group sessions: workshops and their venues (a booking, a person's, is read by id)",
}


def _list_paths():
    doc = Api(None).get("/v1/openapi.json").json()
    for path, item in doc["paths"].items():
        op = item.get("get")
        if not op:
            continue
        content = op["responses"].get("200", {}).get("content", {})
        schema = next(iter(content.values()), {}).get("schema", {})
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        if "items" in schema.get("properties", {}):
            yield path


def test_every_list_of_peoples_records_names_the_ids_it_returned(cw_a, partner_a, authority_a, case_a, db):
    """Every list route the document has is either shown here to record the
    ids it returned, or named in LISTS_WITHOUT_PERSONAL_DATA with why: a new
    list route fails this test until it does one or the other."""
    from young_helpers import LINK_BODY, young_case_body, young_person_body
    yp = partner_a.post("/v1/young-people", young_person_body(authority_a))
    assert yp.status_code == 201, yp.text
    yp = yp.json()
    assert cw_a.post(f"/v1/young-people/{yp['id']}/parents", LINK_BODY).status_code == 201
    assert cw_a.post(f"/v1/young-people/{yp['id']}/views",
                     {"recordedOn": "2025-01-10", "method": "conversation", "summary": "s", "recordedBy": "B"}
                     ).status_code == 201
    assert cw_a.post("/v1/cases", young_case_body(authority_a, yp)).status_code == 201
    r = cw_a.post(f"/v1/cases/{case_a['id']}/signposts", {"agencyId": cw_a.post(
        "/v1/agencies", {"name": "Hub", "kind": "voluntary", "authorityIds": [authority_a]}).json()["id"],
        "on": "2025-01-11", "method": "phone"})
    assert r.status_code == 201, r.text
    calls = {  # path -> (client, concrete path)
        "/v1/young-people": (partner_a, "/v1/young-people"),
        "/v1/young-people/{id}/parents": (cw_a, f"/v1/young-people/{yp['id']}/parents"),
        "/v1/young-people/{id}/views": (cw_a, f"/v1/young-people/{yp['id']}/views"),
        "/v1/cases/{id}/signposts": (cw_a, f"/v1/cases/{case_a['id']}/signposts"),
        "/v1/cases": (cw_a, "/v1/cases"),
        "/v1/match-requests": (cw_a, "/v1/match-requests"),
        "/v1/notifications": (cw_a, f"/v1/notifications?caseId={case_a['id']}"),
    }
    checked_below = {"/v1/training/compliance"}
    # Shown by test_a_list_reads_row_names_the_ids_it_returned_at_most_a_page above.
    shown_above = {"/v1/families", "/v1/referrals", "/v1/children/{id}/views", "/v1/supporters", "/v1/assignments",
                   "/v1/clients", "/v1/authorities", "/v1/audit"}
    unclassified = [p for p in _list_paths() if p not in calls and p not in shown_above and p not in checked_below
                    and p not in LISTS_WITHOUT_PERSONAL_DATA]
    assert not unclassified, f"list routes neither recording their ids nor declared free of personal data: " \
                             f"{unclassified}"
    for template, (api, path) in calls.items():
        r = api.get(path)
        assert r.status_code == 200, (path, r.text)
        (row,) = _rows(db, r.headers["X-Request-Id"])
        # A list under one record (its {id}) is a read of that record, naming the ids listed too.
        assert row[5] == ("read" if "{id}" in template else "list"), (template, row)
        assert row[8] == [x["id"] for x in r.json()["items"]], (template, row)
        if template.startswith("/v1/young-people") or template == "/v1/cases/{id}/signposts":
            assert row[8], (template, "expected at least one record")

    # The compliance report: the people it names (those not compliant).
    course = cw_a.post("/v1/courses", {"authorityId": authority_a, "code": f"AU-{uuid.uuid4().hex[:6]}",
                                       "title": "Audit", "audience": ["governor"], "level": 1, "delivery": "online",
                                       "validForMonths": 12})
    assert course.status_code == 201, course.text
    r = cw_a.s.put(cw_a.base + "/v1/requirements/governor", timeout=10,
                   json={"authorityId": authority_a, "courses": [{"courseId": course.json()["id"]}]})
    assert r.status_code == 200, r.text
    r = cw_a.post("/v1/completions", {"person": {"name": "G", "organisation": {"urn": "100001"}, "role": "governor"},
                                      "courseId": course.json()["id"], "completedOn": "2020-01-10"})
    assert r.status_code == 201, r.text
    r = cw_a.get("/v1/training/compliance", params={"authorityId": authority_a})
    assert r.status_code == 200, r.text
    (row,) = _rows(db, r.headers["X-Request-Id"])
    listed = [x["personId"] for x in r.json()["items"]]
    assert listed and sorted(row[8]) == sorted(listed), (row, listed)
