"""Each request's audit row is written where the request is served (issue
10, item 2): a service (or an Admin handler in the gateway) writes it in the
request's own transaction, so a write's row commits with the write or not at
all and a read's costs no commit of its own; the gateway writes the rows of
what no service answered. Every request leaves exactly one row, and the hot
paths cost one round trip to PostgreSQL each (tests/helpers/roundtrips.c)."""
import json
import subprocess
import time
import uuid

import pytest
import requests

from conftest import ENV, ROOT, Api, case_body, family_body

BIN = ROOT / ENV.get("PARLEY_BIN_DIR", "build")
LOGS = ROOT / ENV.get("PARLEY_VAR_DIR", "var") / "log"
INTAKE_DSN = ENV["PARLEY_PG_DSN"] + " user=parley_intake"


def _rid(tag):
    return f"audit-{tag}-{uuid.uuid4().hex[:16]}"


def _rows(db, client_rid):
    with db.cursor() as c:
        c.execute("SELECT outcome, action, record_type, record_id, authority_id::text, xmin::text"
                  " FROM audit.events WHERE client_request_id = %s", (client_rid,))
        return c.fetchall()


def _poll_rows(db, client_rid, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        rows = _rows(db, client_rid)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _log_mentions(prefix, text, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        for f in LOGS.glob(f"{prefix}-*.log"):
            for line in f.read_text(errors="replace").splitlines():
                if text in line:
                    return line
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


@pytest.fixture
def superuser(db):
    """Runs test-only DDL as the superuser and undoes it afterwards."""
    undo = []

    def run(sql, drop):
        with db.cursor() as c:
            c.execute(sql)
        undo.append(drop)

    yield run
    with db.cursor() as c:
        for sql in reversed(undo):
            c.execute(sql)


def test_a_write_and_its_audit_row_roll_back_together_when_the_commit_fails(cw_a, authority_a, family_a, db,
                                                                              superuser):
    """A deferred constraint trigger fails the case's COMMIT, after the audit
    row was inserted: it reports how many audit rows its transaction holds
    (1), and afterwards neither the case nor that row exists."""
    marker = f"fail at commit {uuid.uuid4().hex}"
    superuser("""
        CREATE FUNCTION intake.audit_test_fail_at_commit() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
        DECLARE n bigint;
        BEGIN
            SELECT count(*) INTO n FROM audit.events WHERE xmin = pg_current_xact_id()::xid;
            RAISE EXCEPTION 'audit-test: % audit row(s) in the transaction at commit', n;
        END $$""", "DROP FUNCTION intake.audit_test_fail_at_commit()")
    superuser(f"""
        CREATE CONSTRAINT TRIGGER audit_test_fail_at_commit AFTER INSERT ON intake.cases
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.summary = '{marker}')
            EXECUTE FUNCTION intake.audit_test_fail_at_commit()""",
              "DROP TRIGGER audit_test_fail_at_commit ON intake.cases")
    rid = _rid("commit")
    r = cw_a.post("/v1/cases", case_body(authority_a, family_a, summary=marker), headers={"X-Request-Id": rid})
    assert r.status_code == 500, r.text
    line = _log_mentions("intake", r.headers["X-Request-Id"])
    assert line and "audit-test: 1 audit row(s) in the transaction at commit" in line, line
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.cases WHERE summary = %s", (marker,))
        assert c.fetchone()[0] == 0
    rows = _poll_rows(db, rid)
    assert [row[0] for row in rows] == [500], rows  # the failure's row, by the gateway; no 201


@pytest.mark.parametrize("route", ["/v1/cases", "/v1/authorities"])
def test_a_write_whose_audit_row_cannot_be_written_is_not_committed(route, cw_a, admin, authority_a, family_a, db,
                                                                    superuser):
    """The audit store refuses the row of one request (a trigger, test-only):
    the write it belongs to is rolled back with it, in a service (a case) and
    in the gateway's own Admin handlers (an authority)."""
    rid = _rid("refused")
    superuser(f"""
        CREATE FUNCTION audit.audit_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit-test: the audit store refuses this row'; END $$""",
              "DROP FUNCTION audit.audit_test_refuse()")
    superuser(f"""
        CREATE TRIGGER audit_test_refuse BEFORE INSERT ON audit.events FOR EACH ROW
            WHEN (NEW.client_request_id = '{rid}' AND NEW.outcome = 201) EXECUTE FUNCTION audit.audit_test_refuse()""",
              "DROP TRIGGER audit_test_refuse ON audit.events")
    marker = f"refused audit {uuid.uuid4().hex}"
    if route == "/v1/cases":
        r = cw_a.post(route, case_body(authority_a, family_a, summary=marker), headers={"X-Request-Id": rid})
        count = ("SELECT count(*) FROM intake.cases WHERE summary = %s", (marker,))
    else:
        code = f"E{uuid.uuid4().int % 10**8:08d}"
        r = admin.post(route, {"code": code, "name": marker}, headers={"X-Request-Id": rid})
        count = ("SELECT count(*) FROM gateway.authorities WHERE name = %s", (marker,))
    assert r.status_code == 500, r.text
    with db.cursor() as c:
        c.execute(*count)
        assert c.fetchone()[0] == 0, "the write committed without its audit row"
    assert [row[0] for row in _poll_rows(db, rid)] == [500]


def test_every_request_leaves_exactly_one_audit_row_and_a_writes_row_is_in_its_transaction(
        cw_a, admin, partner_a, authority_a, db):
    """Successes and failures, served by a service, by the gateway's Admin
    handlers, or refused by the gateway before any: one row each, with the
    status answered. A row a transaction carried is there when the answer
    arrives; a write's row has the written row's transaction id (xmin)."""
    sent = []  # (client request id, status answered, response)

    def send(api, method, path, body=None, written=None, by_tx=True, headers=()):
        rid = _rid(method.lower())
        r = api.s.request(method, api.base + path, json=body, headers={"X-Request-Id": rid, **dict(headers)},
                          timeout=10)
        if by_tx and r.status_code < 300:  # committed before the answer: no waiting
            rows = _rows(db, rid)
            assert len(rows) == 1, (method, path, r.status_code)
            if written:  # checked now: a later change gives the row another xmin
                with db.cursor() as c:
                    c.execute(f"SELECT xmin::text FROM {written} WHERE id = %s", (rows[0][3],))
                    assert c.fetchone()[0] == rows[0][5], f"{path}: the audit row is not in the write's transaction"
        sent.append((rid, r.status_code, r))
        return r

    fam = send(cw_a, "POST", "/v1/families", family_body(authority_a), "intake.families").json()
    case = send(cw_a, "POST", "/v1/cases", case_body(authority_a, fam), "intake.cases").json()
    send(cw_a, "GET", f"/v1/cases/{case['id']}")
    send(cw_a, "GET", f"/v1/families/{fam['id']}")
    send(cw_a, "GET", "/v1/cases?pageSize=5")
    child = {k: v for k, v in fam["children"][0].items() if k != "id"}
    # (a change: a PATCH that changes nothing writes nothing)
    patch = {"children": [dict(child, childId=fam["children"][0]["id"], needs=["hearing"])]}
    send(cw_a, "PATCH", f"/v1/families/{fam['id']}", patch, "intake.families")
    code = f"E{uuid.uuid4().int % 10**8:08d}"
    send(admin, "POST", "/v1/authorities", {"code": code, "name": "Audit test borough"}, "gateway.authorities")
    send(admin, "GET", "/v1/authorities")
    send(admin, "GET", "/v1/audit?pageSize=1")
    # Failures: answered by a service, by an Admin handler, by the gateway.
    send(cw_a, "GET", f"/v1/cases/{uuid.uuid4()}", by_tx=False)                    # 404, intake
    send(cw_a, "POST", "/v1/cases", case_body(authority_a, {"id": str(uuid.uuid4()),
                                                            "children": [{"id": str(uuid.uuid4())}]}),
         by_tx=False)                                                               # 400, intake's statement
    send(admin, "DELETE", f"/v1/clients/{uuid.uuid4()}", by_tx=False)              # 404, Admin handler
    send(cw_a, "POST", "/v1/cases", {"authorityId": authority_a, "needs": ["nonsense"]}, by_tx=False)  # 400, gateway
    send(partner_a, "GET", "/v1/cases", by_tx=False)                               # 403, gateway
    send(cw_a, "GET", "/v1/cases/not-an-id", by_tx=False)                          # 404, gateway
    # 401, gateway: from an address of its own, so no other test's failures throttle it to 429.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    send(Api("pk_" + "0" * 32 + "_" + "x" * 43), "GET", "/v1/cases", by_tx=False,
         headers={"X-Forwarded-For": address})

    statuses = sorted({s for _, s, _ in sent})
    assert statuses == [200, 201, 400, 401, 403, 404], statuses
    for rid, status, r in sent:
        _poll_rows(db, rid)
    for rid, status, r in sent:  # and no second row came after the first
        rows = _rows(db, rid)
        assert [row[0] for row in rows] == [status], (rid, r.request.method, r.request.path_url, rows)
    # No service answered without its row anywhere in this run.
    for f in LOGS.glob("gateway-*.log"):
        assert "answered without its audit row" not in f.read_text(errors="replace"), f


def _harness(*args):
    out = subprocess.run([str(BIN / "tests" / "roundtrips"), INTAKE_DSN, *args], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def test_the_hot_paths_cost_one_round_trip_each_with_the_audit_row_in_it(authority_a, db):
    """intake's handlers, run as a handler thread runs them, counted by lib/db
    and by the ReadyForQuery messages of libpq's protocol trace."""
    lines = {x["path"]: x for x in _harness("hot", authority_a)}
    print()
    for path, x in lines.items():
        print(f"  {path}: {x['roundTrips']} round trip(s)")
    assert list(lines) == ["POST /v1/families", "POST /v1/cases", "GET /v1/cases/{id}", "GET /v1/families/{id}",
                           "GET /v1/cases"]
    for path, x in lines.items():
        assert x["code"] == "OK" and x["audited"], x
        assert x["roundTrips"] == x["syncs"], x  # the two counts agree
        assert x["roundTrips"] <= (2 if path.startswith("POST") else 1), x
    family, case = lines["POST /v1/families"]["id"], lines["POST /v1/cases"]["id"]
    want = {"POST /v1/families": ("create", "families", family), "POST /v1/cases": ("create", "cases", case),
            "GET /v1/cases/{id}": ("read", "cases", case), "GET /v1/families/{id}": ("read", "families", family),
            "GET /v1/cases": ("list", "cases", None)}
    for path, (action, rtype, record) in want.items():
        rows = _rows(db, lines[path]["clientRequestId"])
        assert [(r[1], r[2], r[3]) for r in rows] == [(action, rtype, record)], (path, rows)
        assert rows[0][4] == (authority_a if record else None), (path, rows)
    with db.cursor() as c:
        c.execute("SELECT xmin::text FROM intake.cases WHERE id = %s", (case,))
        assert c.fetchone()[0] == _rows(db, lines["POST /v1/cases"]["clientRequestId"])[0][5]
        # The case's events went in the same transaction too.
        c.execute("SELECT count(*) FROM intake.outbox WHERE subject_id = %s AND xmin::text = %s",
                  (case, _rows(db, lines["POST /v1/cases"]["clientRequestId"])[0][5]))
        assert c.fetchone()[0] == 2


@pytest.mark.parametrize("how", ["unnamed-write", "autocommit"])
def test_a_change_that_names_no_object_for_its_audit_row_is_refused(how, authority_a, family_a, db):
    """A handler whose transaction changes data but names no object (no
    audit.touch, no db_audit_object) cannot commit it; nor can a statement
    run outside a transaction during an audited request."""
    with db.cursor() as c:
        c.execute("SELECT updated_at FROM intake.families WHERE id = %s", (family_a["id"],))
        before = c.fetchone()[0]
    (x,) = _harness(how, authority_a, family_a["id"])
    assert x["rc"] != 0 and x["sqlstate"] == "PV500" and x["written"] == 0, x
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM audit.events WHERE request_id = %s", (x["requestId"],))
        assert c.fetchone()[0] == 0
        c.execute("SELECT updated_at FROM intake.families WHERE id = %s", (family_a["id"],))
        assert c.fetchone()[0] == before
