"""Replay data (issue 8, item 7): a retried POST /v1/clients never shows the
new key again; gateway.idempotency_keys holds no key, no name and not the
Idempotency-Key in clear; a retry is bound to the query string too; the table
is under forced row-level security keyed on the client."""
import uuid

import psycopg2
import requests

import conftest
from conftest import ENV, case_body, client_id_of, family_body, make_client


def _post(key, path, body, idem, query=""):
    return requests.post(ENV["PARLEY_URL"] + path + query, json=body, timeout=15,
                         headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem})


def _rows_as_text(db, client_id):
    """Every replay row of the client, every column as text (bytes as
    Latin-1, so that any readable run shows), as the superuser reads them."""
    with db.cursor() as c:
        c.execute("SELECT * FROM gateway.idempotency_keys WHERE client_id = %s", (client_id,))
        rows = c.fetchall()
    return " ".join(bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v)
                    for row in rows for v in row)


def test_a_retried_client_creation_never_shows_the_key_again(authority_a, db):
    # The key holding the test's authority (conftest.new_authorities made it).
    admin = conftest._owner[authority_a].s.headers["Authorization"].split(" ", 1)[1]
    idem = f"client-{uuid.uuid4()}"
    body = {"name": f"replayed {uuid.uuid4().hex[:6]}", "roles": ["caseworker"], "authorityIds": [authority_a]}
    first = _post(admin, "/v1/clients", body, idem)
    assert first.status_code == 201, first.text
    key = first.json()["key"]
    assert key.startswith("pk_")
    again = _post(admin, "/v1/clients", body, idem)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    replay = again.json()
    assert "key" not in replay and key not in again.text
    assert "not kept" in replay["keyNotice"]
    assert replay["id"] == first.json()["id"] and again.headers["Location"] == first.headers["Location"]
    # The key shown once still works; the replay made no second client.
    assert requests.get(ENV["PARLEY_URL"] + "/v1/cases", headers={"Authorization": f"Bearer {key}"},
                        timeout=10).status_code == 200
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM gateway.api_clients WHERE name = %s", (body["name"],))
        assert c.fetchone()[0] == 1
    text = _rows_as_text(db, client_id_of(admin))
    assert key not in text and key.split("_", 2)[2] not in text


def test_replay_rows_hold_no_name_and_not_the_idempotency_key_in_clear(authority_a, db):
    key = make_client(["caseworker"], [authority_a])
    idem = f"family-{uuid.uuid4()}"
    body = family_body(authority_a)
    surname = body["parents"][0]["familyName"]
    first = _post(key, "/v1/families", body, idem)
    assert first.status_code == 201, first.text
    again = _post(key, "/v1/families", body, idem)
    assert again.text == first.text and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"] and again.headers["ETag"] == first.headers["ETag"]
    with db.cursor() as c:
        c.execute("SELECT count(*), min(status) FROM gateway.idempotency_keys WHERE client_id = %s",
                  (client_id_of(key),))
        assert c.fetchone() == (1, 201)
    text = _rows_as_text(db, client_id_of(key))
    for secret in (surname, "Amina", "2016-03-14", "amina@example.org", idem, first.json()["id"]):
        assert secret not in text, secret


def test_the_same_body_with_another_query_string_is_422(authority_a):
    key = make_client(["caseworker"], [authority_a])
    idem = f"query-{uuid.uuid4()}"
    body = family_body(authority_a)
    first = _post(key, "/v1/families", body, idem)
    assert first.status_code == 201, first.text
    for query in ("?a=1", "?authorityId=" + authority_a):
        r = _post(key, "/v1/families", body, idem, query)
        assert r.status_code == 422, (query, r.text)
    # Whatever a request with a query string was answered, its retry is that answer.
    idem = f"query-{uuid.uuid4()}"
    first = _post(key, "/v1/families", body, idem, "?a=1")
    assert first.status_code < 500, first.text
    again = _post(key, "/v1/families", body, idem, "?a=1")
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (first.status_code, "true")
    assert _post(key, "/v1/families", body, idem, "?a=2").status_code == 422


def test_the_replay_table_is_under_forced_row_level_security_keyed_on_the_client(authority_a, family_a, db):
    with db.cursor() as c:
        c.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class"
                  " WHERE oid = 'gateway.idempotency_keys'::regclass")
        assert c.fetchone() == (True, True)
    key = make_client(["caseworker"], [authority_a])
    assert _post(key, "/v1/cases", case_body(authority_a, family_a), f"rls-{uuid.uuid4()}").status_code == 201
    mine, other = client_id_of(key), client_id_of(ENV["PARLEY_KEY_CASEWORKER_A"])
    # As the gateway's own role: a transaction sees its client's rows only, and none without a client.
    conn = psycopg2.connect(ENV["PARLEY_PG_DSN"])
    conn.autocommit = True
    try:
        with conn.cursor() as c:
            c.execute("SET ROLE parley_gateway")
            seen = {}
            for who in (mine, other, ""):
                c.execute("BEGIN")
                c.execute("SELECT set_config('parley.client_id', %s, true)", (who,))
                c.execute("SELECT count(*) FROM gateway.idempotency_keys WHERE client_id = %s"
                          " AND created_at > now() - interval '1 hour'", (mine,))
                seen[who] = c.fetchone()[0]
                c.execute("ROLLBACK")
            assert seen == {mine: 1, other: 0, "": 0}
            c.execute("BEGIN")
            c.execute("SELECT set_config('parley.client_id', %s, true)", (other,))
            c.execute("UPDATE gateway.idempotency_keys SET status = 500 WHERE client_id = %s", (mine,))
            assert c.rowcount == 0
            c.execute("ROLLBACK")
    finally:
        conn.close()
