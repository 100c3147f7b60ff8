"""Failed authentication (issue 8, item 10): wrong secrets are refused with
429 after a few, per client id and per client address, and each failure
leaves an audit row; an unknown client id costs no more look-ups than a
known one; the request id is always the gateway's own, the client's kept
beside it. Each test fails from an address of its own (X-Forwarded-For, as
nginx on the same host sends it) so that none throttles another."""
import os
import re
import time
import uuid

import requests

from authz_helpers import all_items, forged_key, fresh_address, gateway_log_lines, raw
from conftest import ENV, client_id_of, make_client

PER_CLIENT = int(os.environ.get("PARLEY_AUTH_FAILURES_PER_CLIENT", 10))
PER_ADDRESS = int(os.environ.get("PARLEY_AUTH_FAILURES_PER_ADDRESS", 20))


def _failures(db, expected, where, *args):
    """The audit rows of failed authentications matching where, once there
    are expected of them: a row is written just after its answer is sent."""
    deadline = time.time() + 10
    while True:
        with db.cursor() as c:
            c.execute("SELECT outcome, client_address, client_id::text, consortium_id IS NOT NULL, role"
                      f" FROM audit.events WHERE outcome IN (401, 429) AND {where} ORDER BY at, id", args)
            rows = c.fetchall()
        if len(rows) >= expected or time.time() > deadline:
            return rows
        time.sleep(0.1)


def _audit_row(db, request_id):
    deadline = time.time() + 10
    while True:
        with db.cursor() as c:
            c.execute("SELECT request_id, client_request_id FROM audit.events WHERE request_id = %s", (request_id,))
            rows = c.fetchall()
        if rows or time.time() > deadline:
            return rows
        time.sleep(0.1)


def test_wrong_secrets_for_one_client_are_refused_after_the_limit_and_each_is_audited(authority_a, admin, db):
    key = make_client(["caseworker"], [authority_a])
    cid = client_id_of(key)
    address = fresh_address()
    answers = [raw("GET", "/v1/cases", forged_key(cid), address) for _ in range(PER_CLIENT + 2)]
    assert [a.status_code for a in answers] == [401] * PER_CLIENT + [429, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].headers["Content-Type"] == "application/problem+json"
    # The client's own key, from anywhere, is refused unchecked until the window ends.
    assert raw("GET", "/v1/cases", key, fresh_address()).status_code == 429

    rows = _failures(db, PER_CLIENT + 3, "client_id = %s", cid)
    assert sorted(r[0] for r in rows) == [401] * PER_CLIENT + [429] * 3
    assert sorted(r[1] for r in rows).count(address) == PER_CLIENT + 2
    assert all(r[3] for r in rows) and all(r[4] == "" for r in rows)  # its consortium, no role
    # Its consortium's admin, holding all its authorities, reads them too.
    seen = [e for e in all_items(admin, "/v1/audit", clientId=cid) if e["outcome"] in (401, 429)]
    assert len(seen) == PER_CLIENT + 3 and seen[0]["clientAddress"] == address


def test_failures_from_one_address_refuse_every_key_from_it_and_no_other_address(db):
    address = fresh_address()
    unknown = [forged_key() for _ in range(PER_ADDRESS)]
    assert [raw("GET", "/v1/cases", k, address).status_code for k in unknown] == [401] * PER_ADDRESS
    good = ENV["PARLEY_KEY_CASEWORKER_A"]
    refused = raw("GET", "/v1/cases", good, address)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert raw("GET", "/v1/cases", "nonsense", address).status_code == 429
    assert raw("GET", "/v1/cases", None, address).status_code == 401  # no key: nothing to refuse unchecked
    assert raw("GET", "/v1/cases", good, fresh_address()).status_code == 200
    assert raw("GET", "/v1/cases", good).status_code == 200

    rows = _failures(db, PER_ADDRESS + 2, "client_address = %s", address)
    assert sorted(r[0] for r in rows) == [401] * PER_ADDRESS + [429, 429]
    assert {r[2] for r in rows if r[0] == 401} == {client_id_of(k) for k in unknown}
    assert not any(r[3] for r in rows if r[0] == 401)  # no such client: no consortium to show it to
    assert {r[2] for r in rows if r[0] == 429} == {client_id_of(good), None}  # "nonsense" names no client


def _lookups():
    r = requests.get(ENV["PARLEY_URL"] + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    m = re.search(r"^parley_auth_lookups_total (\d+)", r.text, re.M)
    assert m, "no parley_auth_lookups_total"
    return int(m.group(1))


def test_an_unknown_client_id_costs_no_more_lookups_than_a_known_one(authority_a):
    known = forged_key(client_id_of(make_client(["caseworker"], [authority_a])))
    unknown = forged_key()
    address = fresh_address()
    assert raw("GET", "/v1/cases", known, address).status_code == 401  # each seen once
    assert raw("GET", "/v1/cases", unknown, address).status_code == 401
    cost = {}
    for name, key in (("known", known), ("unknown", unknown)):
        before = _lookups()
        for _ in range(3):
            assert raw("GET", "/v1/cases", key, address).status_code == 401
        cost[name] = _lookups() - before
    # Within the caches' lifetime neither costs a look-up; a slow run may see
    # one expire, on either side.
    assert cost["unknown"] <= cost["known"] + 1, cost


def test_the_request_id_is_the_gateways_own_and_the_clients_is_kept_beside_it(cw_a, case_a, admin, db):
    mine = f"trace-{uuid.uuid4().hex}"
    r = cw_a.get(f"/v1/cases/{case_a['id']}", headers={"X-Request-Id": mine})
    assert r.status_code == 200
    rid = r.headers["X-Request-Id"]
    assert rid != mine and str(uuid.UUID(rid)) == rid
    assert _audit_row(db, rid) == [(rid, mine)]
    with db.cursor() as c:  # never the client's as the request id
        c.execute("SELECT count(*) FROM audit.events WHERE request_id = %s", (mine,))
        assert c.fetchone()[0] == 0
    (row,) = [e for e in all_items(admin, "/v1/audit", recordId=case_a["id"]) if e["requestId"] == rid]
    assert row["clientRequestId"] == mine
    # A value that is not a usable id is not kept at all.
    bad = cw_a.get(f"/v1/cases/{case_a['id']}", headers={"X-Request-Id": "bad id; DROP"})
    assert _audit_row(db, bad.headers["X-Request-Id"]) == [(bad.headers["X-Request-Id"], None)]
    # The gateway's log line carries both, each in its own field.
    deadline = time.time() + 10
    while time.time() < deadline:
        lines = [x for x in gateway_log_lines() if x.get("requestId") == rid]
        if lines:
            break
        time.sleep(0.2)
    assert lines and lines[0].get("clientRequestId") == mine, lines
    assert not [x for x in gateway_log_lines() if x.get("requestId") == mine]
