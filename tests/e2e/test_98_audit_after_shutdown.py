"""A read's audit row is committed in the read's own transaction with
synchronous_commit off (issue 10, item 2): the read does not wait for that
WAL to reach disk, so a crash may lose the rows of the reads of its last
moments (PostgreSQL's wal_writer_delay, 200 ms), never a write's. A clean
shutdown loses none: after `scripts/stack down` and `up`, every answered read
has its row. (Last in the suite: the whole stack restarts.)"""
import uuid

import psycopg2

from conftest import ENV, stack


def test_every_answered_read_has_its_audit_row_after_a_clean_shutdown(cw_a, case_a, family_a, db):
    asked = []
    for i in range(20):
        path = f"/v1/cases/{case_a['id']}" if i % 2 else f"/v1/families/{family_a['id']}"
        rid = f"audit-shutdown-{uuid.uuid4().hex[:16]}"
        r = cw_a.get(path, headers={"X-Request-Id": rid})
        assert r.status_code == 200, r.text
        asked.append(rid)
    db.close()
    stack("down")
    stack("up")
    conn = psycopg2.connect(ENV["PARLEY_PG_DSN"])
    try:
        with conn.cursor() as c:
            c.execute("SELECT client_request_id, action, outcome, record_id FROM audit.events"
                      " WHERE client_request_id = ANY (%s)", (asked,))
            rows = {r[0]: r[1:] for r in c.fetchall()}
    finally:
        conn.close()
    assert sorted(rows) == sorted(asked), f"{len(asked) - len(rows)} of {len(asked)} read rows lost"
    assert {v[:2] for v in rows.values()} == {("read", 200)}
    assert {v[2] for v in rows.values()} == {case_a["id"], family_a["id"]}
