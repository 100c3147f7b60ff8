"""Idempotency keys, page tokens, read-only fields."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import ENV, case_body, family_body


def _post(key, body, idem):
    return requests.post(ENV["PARLEY_URL"] + "/v1/families", json=body, timeout=15,
                         headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem})


def test_fifty_concurrent_posts_with_one_key_make_one_row_and_fifty_identical_bodies(cw_a, authority_a, db):
    body = family_body(authority_a)
    idem = f"test-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=25) as pool:
        replies = list(pool.map(lambda _: _post(cw_a.key, body, idem), range(50)))
    assert [r.status_code for r in replies] == [201] * 50, \
        f"idempotency: 50 concurrent POSTs with one key did not all answer 201: {[r.status_code for r in replies]}"
    assert len({r.text for r in replies}) == 1, "idempotency: concurrent duplicates got different answers"
    assert sum(1 for r in replies if r.headers.get("Idempotent-Replayed") == "true") == 49, \
        "idempotency: more than one of 50 concurrent duplicates was served rather than replayed"
    assert len({r.headers["Location"] for r in replies}) == 1
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.parents WHERE family_name = %s", (body["parents"][0]["familyName"],))
        assert c.fetchone()[0] == 2  # one family, its two parents


def test_same_key_other_body_is_422_and_keys_are_per_client(cw_a, cw_b, authority_a, authority_b):
    idem = f"test-{uuid.uuid4()}"
    first = _post(cw_a.key, family_body(authority_a), idem)
    assert first.status_code == 201
    again = _post(cw_a.key, family_body(authority_a), idem)
    assert again.status_code == 422
    other_client = _post(cw_b.key, family_body(authority_b), idem)
    assert other_client.status_code == 201
    assert other_client.json()["id"] != first.json()["id"]


def test_a_validation_error_is_replayed_too(cw_a, authority_a):
    idem = f"test-{uuid.uuid4()}"
    bad = family_body(authority_a, children=[])
    r1 = _post(cw_a.key, bad, idem)
    r2 = _post(cw_a.key, bad, idem)
    assert r1.status_code == r2.status_code == 400
    assert r2.headers["Idempotent-Replayed"] == "true"


def test_page_tokens_are_tamper_proof_and_bound_to_the_client(cw_a, admin, authority_a, family_a):
    for _ in range(3):
        cw_a.post("/v1/cases", case_body(authority_a, family_a))
    token = cw_a.get("/v1/cases", params={"pageSize": 1}).json()["nextPageToken"]
    assert cw_a.get("/v1/cases", params={"pageSize": 1, "pageToken": token}).status_code == 200
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    r = cw_a.get("/v1/cases", params={"pageSize": 1, "pageToken": forged})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "pageToken", \
        f"page tokens: a tampered token was accepted ({r.status_code})"
    r = admin.get("/v1/cases", params={"pageSize": 1, "pageToken": token})
    assert r.status_code == 400, f"page tokens: another client's token was accepted ({r.status_code})"


def test_read_only_and_foreign_fields_are_400_and_store_nothing(cw_a, authority_a, authority_b, family_a, db):
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.cases")
        before = c.fetchone()[0]
    for extra in [{"id": str(uuid.uuid4())}, {"createdAt": "2026-01-01T00:00:00Z"}, {"status": "closed"},
                  {"version": 3}, {"authorityId": authority_b}]:
        body = case_body(authority_a, family_a, **extra)
        r = cw_a.post("/v1/cases", body)
        assert r.status_code == 400, (extra, r.text)
        assert list(extra)[0] in [e["field"] for e in r.json()["errors"]]
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.cases")
        assert c.fetchone()[0] == before


def test_single_objects_carry_an_etag(cw_a, family_a):
    r = cw_a.get(f"/v1/families/{family_a['id']}")
    assert r.headers["ETag"] == '"1"'
