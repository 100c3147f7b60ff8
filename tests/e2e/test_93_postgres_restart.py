"""PostgreSQL restarted under the stack (an immediate shutdown, as a crash or a
failover does): every connection the gateway and the services hold goes
stale at once. A connection found dead before any statement of a request ran
is replaced, so after the restart every request succeeds; before this,
each idle gateway connection failed its next request with 503."""
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import ENV, case_body, family_body, stack


def _pg_pid():
    return int(stack("pids", "postgres").stdout.split()[0])


def _wait_dead(pid, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("postgres did not stop")


def _ready(seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            r = requests.get(ENV["PARLEY_URL"] + "/readyz", timeout=5)
            if r.status_code == 200 and r.json()["checks"]["postgres"] == "up":
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("the stack did not come back")


def test_after_an_immediate_postgres_restart_every_request_succeeds(cw_a, authority_a, db):
    api = cw_a
    key = cw_a.s.headers["Authorization"]
    family = api.post("/v1/families", family_body(authority_a)).json()
    case = api.post("/v1/cases", case_body(authority_a, family)).json()
    path = f"/v1/cases/{case['id']}"

    def read(_):
        r = requests.get(ENV["PARLEY_URL"] + path, headers={"Authorization": key}, timeout=10)
        return r.status_code, r.headers.get("X-Request-Id")

    # Many gateway backends and service connections open and idle.
    with ThreadPoolExecutor(32) as pool:
        assert {s for s, _ in pool.map(read, range(128))} == {200}

    pid = _pg_pid()
    os.kill(pid, signal.SIGQUIT)  # pg_ctl stop -m immediate
    _wait_dead(pid)
    db.close()
    stack("start", "postgres")
    _ready()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(read, range(200)))
    failed = [s for s, _ in answers if s != 200]
    assert not failed, f"{len(failed)} of 200 requests failed after the restart: {sorted(set(failed))}"

    # Every answered read has its audit row (written just after its answer).
    import psycopg2
    conn = psycopg2.connect(ENV["PARLEY_PG_DSN"])
    conn.autocommit = True
    try:
        deadline, audited = time.monotonic() + 10, 0
        while time.monotonic() < deadline:
            with conn.cursor() as cur:
                cur.execute("SELECT count(DISTINCT request_id) FROM audit.events WHERE request_id = ANY(%s)",
                            ([rid for _, rid in answers],))
                audited = cur.fetchone()[0]
            if audited == len(answers):
                break
            time.sleep(0.1)
        assert audited == len(answers)
    finally:
        conn.close()
