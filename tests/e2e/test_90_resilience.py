"""Scaling and failure, driven through scripts/stack as an operator would:
two instances share the load, an instance killed mid-burst costs a bounded
number of 503s and loses nothing that was answered 2xx, and a broker
restart is survived. Every change to the stack is undone in `finally`, so
these tests run in any order."""
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import Api, Logs, case_body, family_body, pids, scale, stack, wait_for, wait_stack_ready

BUS_TIMEOUT_S = 2.0  # PARLEY_BUS_TIMEOUT_MS: one bus attempt's deadline (README, Configuration)
LIVENESS_S = 3.0     # the broker drops a worker silent for 3 heartbeats of 1 s (README, Tests)


def _served(logs, rids):
    """{pid: how many of rids its intake log shows}."""
    served = {}
    for rec in logs.lines():
        if rec.get("requestId") in rids:
            served[rec["pid"]] = served.get(rec["pid"], 0) + 1
    return served


def test_two_intake_instances_both_serve(cw_a):
    try:
        both = scale("intake", 2)
        logs, rids = Logs("intake"), set()

        def both_served():
            for _ in range(10):
                r = cw_a.get("/v1/cases")
                assert r.status_code == 200
                rids.add(r.headers["X-Request-Id"])  # the gateway's own id, which the services log
            return set(both) <= set(_served(logs, rids))
        assert wait_for(both_served, timeout=20), \
            f"scaling: requests did not reach both intake instances {both}: {_served(logs, rids)}"
    finally:
        scale("intake", 1)


def _write(api, authority):
    """A family, then a case for it. [(what, status, Retry-After, started, seconds, name or family id)]."""
    body = family_body(authority)
    name = body["parents"][0]["familyName"]
    out = []
    t0 = time.monotonic()
    try:
        r = api.post("/v1/families", body, timeout=30)
        out.append(("family", r.status_code, r.headers.get("Retry-After"), t0, time.monotonic() - t0,
                    name, r.json() if r.status_code == 201 else None))
        if r.status_code == 201:
            t1 = time.monotonic()
            r2 = api.post("/v1/cases", case_body(authority, r.json()), timeout=30)
            out.append(("case", r2.status_code, r2.headers.get("Retry-After"), t1, time.monotonic() - t1,
                        r.json()["id"], r2.json() if r2.status_code == 201 else None))
    except requests.RequestException as e:
        out.append(("error", str(e), None, t0, time.monotonic() - t0, name, None))
    return out


def _rows(db, sql, *args):
    with db.cursor() as c:
        c.execute(sql, args)
        return c.fetchall()


def test_killing_an_instance_mid_burst_costs_few_503s_and_loses_nothing(cw_a, authority_a, db):
    results = []
    try:
        victim = scale("intake", 2)[0]
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(_write, cw_a, authority_a) for _ in range(120)]
            # The fault comes once the burst is under way (some answers are in).
            assert wait_for(lambda: sum(f.done() for f in futures) >= 10, timeout=60)
            fault = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            results = [r for f in futures for r in f.result()]
    finally:
        stack("up")  # restarts the killed instance
        scale("intake", 1)
        wait_stack_ready()
    assert results
    errors = [r for r in results if r[0] == "error"]
    assert not errors, f"resilience: requests failed without an answer: {errors[:3]}"
    unavailable = [r for r in results if r[1] == 503]
    others = [r for r in results if r[1] not in (201, 503)]
    assert not others, f"resilience: answers other than 201 or 503: {[(r[0], r[1]) for r in others]}"
    # Only what the victim held when it died is lost: the request each of its
    # handler threads was serving (and one the broker had just handed it).
    most = int(os.environ.get("PARLEY_WORKER_THREADS", "4")) + 1
    assert len(unavailable) <= most, \
        f"resilience: {len(unavailable)} answers were 503 after one of two instances was killed " \
        f"(at most {most} expected: one a handler thread, and one in flight)"
    assert all(r[2] is not None for r in unavailable), "resilience: a 503 without Retry-After"
    print(f"resilience: {len(results)} answers, {len(unavailable)} of them 503, after the kill")
    # Nothing hangs: every answer came within the bus deadline and a margin,
    # and requests sent once the broker could know of the death all succeeded.
    slow = [(r[0], r[1], round(r[4], 1)) for r in results if r[4] > BUS_TIMEOUT_S + 8]
    assert not slow, f"resilience: answers took far longer than the bus deadline: {slow}"
    late = [(r[0], round(r[3] - fault, 1)) for r in unavailable if r[3] > fault + LIVENESS_S + 1]
    assert not late, f"resilience: requests sent {late} s after the kill still failed"

    # Every 2xx write is there, whole, with its events; a 503'd one is all there or not at all.
    for what, status, _, _, _, ref, body in results:
        if what == "family":
            fams = _rows(db, "SELECT f.id::text, (SELECT count(*) FROM intake.parents p WHERE p.family_id = f.id),"
                             " (SELECT count(*) FROM intake.children k WHERE k.family_id = f.id)"
                             " FROM intake.families f JOIN intake.parents p ON p.family_id = f.id"
                             " WHERE f.authority_id = %s AND p.family_name = %s AND p.position = 0", authority_a, ref)
            if status == 201:
                assert fams == [(body["id"], 2, 1)], f"loses nothing: family {ref} answered 201 is stored as {fams}"
            else:
                assert len(fams) <= 1 and all(f[1:] == (2, 1) for f in fams), \
                    f"loses nothing: a 503'd family {ref} is half-written: {fams}"
        else:
            cases = _rows(db, "SELECT id::text FROM intake.cases WHERE family_id = %s", ref)
            if status == 201:
                assert cases == [(body["id"],)], f"loses nothing: case answered 201 is stored as {cases}"
            assert len(cases) <= 1, f"one case POST made {len(cases)} cases"
            for (case_id,) in cases:
                events = [t for (t,) in _rows(db, "SELECT type FROM intake.outbox WHERE subject_id = %s ORDER BY seq",
                                              case_id)]
                assert events == ["case.opened"], \
                    f"loses nothing: case {case_id} is stored with events {events}"

    # Restarted, everything succeeds again.
    for _ in range(5):
        statuses = [r[1] for r in _write(cw_a, authority_a)]
        assert statuses == [201, 201], f"resilience: after the restart: {statuses}"


def test_a_broker_restart_is_survived_within_seconds_of_the_fault(authority_a, cw_a):
    budget = 5.0  # from the SIGKILL: restart, reconnect, every worker registered again
    fault = None
    try:
        broker = Logs("broker")
        for pid in pids("broker"):
            os.kill(pid, signal.SIGKILL)
        fault = time.monotonic()
        stack("start", "broker")

        def served():
            try:
                return cw_a.get("/v1/cases", timeout=5).status_code == 200
            except requests.RequestException:
                return False
        assert wait_for(served, timeout=budget - (time.monotonic() - fault)), \
            f"resilience: requests did not succeed within {budget} s of the broker's SIGKILL"
        took = time.monotonic() - fault
        print(f"resilience: served again {took:.2f} s after the broker's SIGKILL")
        # Once requests are served again, they all are: no straggling 503s.
        statuses = [cw_a.get("/v1/cases", timeout=10).status_code for _ in range(20)]
        assert statuses == [200] * 20, f"resilience: after the broker was back, requests still failed: {statuses}"
        # Every service is back, and it is the new broker that registered them
        # (those with no route yet too, which /readyz does not wait for).
        wait_stack_ready(timeout=max(1.0, budget - took))
        every = {"intake", "matching", "notify", "scheduling", "training", "feedback"}

        def registered():
            return {r["msg"].split()[1] for r in broker.matching(r"^broker: \S+ worker registered$")}
        assert wait_for(lambda: every <= registered(), timeout=10), \
            f"resilience: not every service registered with the new broker: {registered()}"
        assert Api(cw_a.key).post("/v1/families", family_body(authority_a)).status_code == 201
    finally:
        stack("up")
        wait_stack_ready()
