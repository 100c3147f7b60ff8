"""The intake slice: families and cases, stored in PostgreSQL, bounded to the
caller's authorities."""
import uuid

import pytest

from conftest import case_body, family_body


def _strip(doc):
    return {k: v for k, v in doc.items()}


def test_family_created_reads_back_identically(cw_a, authority_a, db):
    body = family_body(authority_a)
    r = cw_a.post("/v1/families", body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["Location"] == f"/v1/families/{created['id']}"
    assert created["version"] == 1
    assert [p["preferredLanguage"] for p in created["parents"]] == ["so", "en"]
    assert created["parents"][0]["communicationNeeds"] == ["interpreter", "easy_read"]
    assert created["children"][0]["planStatus"] == "sen_support"
    got = cw_a.get(f"/v1/families/{created['id']}")
    assert got.status_code == 200
    assert got.json() == created
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.parents WHERE family_id = %s", (created["id"],))
        assert c.fetchone()[0] == 2


def test_case_created_reads_back_identically_and_is_hidden_from_b(cw_a, cw_b, authority_a, family_a):
    r = cw_a.post("/v1/cases", case_body(authority_a, family_a))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "open"
    assert case["source"] == "school"
    assert case["needs"] == ["information", "supporter"]
    assert case["consent"]["lawfulBasis"] == "public_task"
    assert cw_a.get(f"/v1/cases/{case['id']}").json() == case
    # Authority B cannot see it, nor learn that it exists.
    r = cw_b.get(f"/v1/cases/{case['id']}")
    assert r.status_code == 404
    assert cw_b.get(f"/v1/families/{family_a['id']}").status_code == 404
    ids = set()
    token = None
    while True:
        page = cw_b.get("/v1/cases", params={"pageSize": 200, **({"pageToken": token} if token else {})}).json()
        ids |= {c["id"] for c in page["items"]}
        assert all(c["authorityId"] != authority_a for c in page["items"])
        token = page.get("nextPageToken")
        if not token:
            break
    assert case["id"] not in ids


def test_row_level_security_alone_hides_other_authorities_rows(case_a, authority_a, authority_b, db):
    with db.cursor() as c:
        c.execute("BEGIN")
        c.execute("SET LOCAL ROLE parley_intake")
        c.execute("SELECT set_config('parley.authority_ids', %s, true)", ("{%s}" % authority_b,))
        c.execute("SELECT id::text, authority_id::text FROM intake.cases")  # no tenant WHERE at all
        rows = c.fetchall()
        c.execute("SELECT count(*) FROM intake.families WHERE id = %s", (case_a["familyId"],))
        families_seen = c.fetchone()[0]
        c.execute("ROLLBACK")
    assert case_a["id"] not in {r[0] for r in rows}, "tenancy: row-level security let B's setting read A's case"
    assert all(r[1] != authority_a for r in rows), "tenancy: row-level security let B's setting read A's cases"
    assert families_seen == 0, "tenancy: row-level security let B's setting read A's family"
    with db.cursor() as c:
        c.execute("BEGIN")
        c.execute("SET LOCAL ROLE parley_intake")
        c.execute("SELECT set_config('parley.authority_ids', %s, true)", ("{%s}" % authority_a,))
        c.execute("SELECT count(*) FROM intake.cases WHERE id = %s", (case_a["id"],))
        assert c.fetchone()[0] == 1
        c.execute("ROLLBACK")


def _count(db, table, authority):
    with db.cursor() as c:
        c.execute(f"SELECT count(*) FROM intake.{table} WHERE authority_id = %s", (authority,))
        return c.fetchone()[0]


@pytest.mark.parametrize("payload, field", [
    ('{"authorityId": ', ""),
    (None, "nickname"),
    (None, "parents[0].hasParentalResponsibility"),
    (None, "children[0].dateOfBirth"),
    (None, "parents[0].communicationNeeds[0]"),
    (None, "id"),
])
def test_bad_family_is_400_naming_the_field_and_nothing_is_stored(cw_a, authority_a, db, payload, field):
    body = family_body(authority_a)
    if field == "nickname":
        body["nickname"] = "x"                                  # unknown field
    elif field == "parents[0].hasParentalResponsibility":
        body["parents"][0]["hasParentalResponsibility"] = "yes"  # wrong type
    elif field == "children[0].dateOfBirth":
        del body["children"][0]["dateOfBirth"]                  # missing required field
    elif field == "parents[0].communicationNeeds[0]":
        body["parents"][0]["communicationNeeds"] = ["semaphore"]  # not an enum word
    elif field == "id":
        body["id"] = str(uuid.uuid4())                          # read-only field
    before = (_count(db, "families", authority_a), _count(db, "parents", authority_a))
    if payload is not None:
        r = cw_a.post("/v1/families", data=payload, headers={"Content-Type": "application/json"})
    else:
        r = cw_a.post("/v1/families", body)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    p = r.json()
    assert p["status"] == 400 and p["requestId"]
    assert field in [e["field"] for e in p["errors"]], p
    assert (_count(db, "families", authority_a), _count(db, "parents", authority_a)) == before


def test_family_in_an_authority_the_client_does_not_serve_is_400(cw_a, authority_b, db):
    before = _count(db, "families", authority_b)
    r = cw_a.post("/v1/families", family_body(authority_b))
    assert r.status_code == 400, \
        f"tenancy: a family for an authority the client does not serve was answered {r.status_code}: {r.text[:200]}"
    assert r.json()["errors"][0]["field"] == "authorityId"
    assert _count(db, "families", authority_b) == before


def test_case_for_a_family_of_another_authority_is_rejected(cw_b, authority_b, family_a, db):
    before = _count(db, "cases", authority_b)
    r = cw_b.post("/v1/cases", case_body(authority_b, family_a))
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["familyId"]
    assert _count(db, "cases", authority_b) == before


def test_case_missing_consent_and_source_names_both(cw_a, authority_a, family_a):
    body = case_body(authority_a, family_a)
    del body["consent"]
    del body["source"]
    r = cw_a.post("/v1/cases", body)
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} >= {"consent", "source"}


def test_case_list_pages_in_a_stable_order(admin, cw_a, authority_a, family_a):
    made = [cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()["id"] for _ in range(5)]
    seen, token = [], None
    while True:
        params = {"pageSize": 2, "authorityId": authority_a}
        if token:
            params["pageToken"] = token
        r = admin.get("/v1/cases", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in made] == made


def test_case_list_rejects_bad_paging_and_filters(cw_a):
    # pageSize 0 means "the default", as in Google's AIP-158; below 0 is an error.
    assert cw_a.get("/v1/cases", params={"pageSize": 0}).status_code == 200
    assert cw_a.get("/v1/cases", params={"pageSize": -1}).json()["errors"][0]["field"] == "pageSize"
    assert cw_a.get("/v1/cases", params={"pageSize": 201}).status_code == 400
    r = cw_a.get("/v1/cases", params={"pageToken": "not-a-token"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "pageToken"
    r = cw_a.get("/v1/cases", params={"colour": "blue"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "colour"
    r = cw_a.get("/v1/cases", params={"status": "open"})
    assert r.status_code == 200
    assert all(c["status"] == "open" for c in r.json()["items"])


def test_unknown_or_malformed_ids_are_404(cw_a):
    assert cw_a.get(f"/v1/cases/{uuid.uuid4()}").status_code == 404
    assert cw_a.get("/v1/cases/not-a-uuid").status_code == 404
    assert cw_a.get(f"/v1/families/{uuid.uuid4()}").status_code == 404
