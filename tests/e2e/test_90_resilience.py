"""Scaling and failure: these change the running stack, so they run last.

They drive the stack through scripts/stack, as an operator would."""
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from conftest import ENV, ROOT, Api, case_body, family_body, stack


def _pids(service):
    out = stack("pids", service).stdout.split()
    return [int(p) for p in out]


def _log_text(service):
    var = Path(ENV.get("PARLEY_VAR_DIR", "var"))
    logs = (var if var.is_absolute() else ROOT / var) / "log"
    return "".join(p.read_text(errors="replace") for p in logs.glob(f"{service}-*.log"))


def _wait_ready(deadline_s=30):
    end = time.time() + deadline_s
    while time.time() < end:
        try:
            r = requests.get(ENV["PARLEY_URL"] + "/readyz", timeout=2)
            if r.status_code == 200 and r.json()["services"]["intake"]:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def test_two_intake_instances_both_serve(cw_a):
    stack("scale", "intake", "2")
    assert len(_pids("intake")) == 2
    assert _wait_ready()
    time.sleep(1.5)  # both workers registered
    rids = []
    for _ in range(40):
        r = cw_a.get("/v1/cases")
        assert r.status_code == 200
        rids.append(r.headers["X-Request-Id"])  # the gateway's own id, which the services log
    served = {}
    for pid in _pids("intake"):
        served[pid] = 0
    logs = _log_text("intake")
    for line in logs.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("requestId") in rids and rec.get("pid") in served:
            served[rec["pid"]] += 1
    assert all(n > 0 for n in served.values()), served


def _create_family_and_case(key, authority):
    api = Api(key)
    t0 = time.time()
    try:
        r = api.post("/v1/families", family_body(authority), timeout=10)
        out = [(r.status_code, r.headers.get("Retry-After"), time.time() - t0)]
        if r.status_code == 201:
            t1 = time.time()
            r2 = api.post("/v1/cases", case_body(authority, r.json()), timeout=10)
            out.append((r2.status_code, r2.headers.get("Retry-After"), time.time() - t1))
        return out
    except requests.RequestException as e:
        return [("error", str(e), time.time() - t0)]


def test_killing_an_instance_mid_burst_loses_nothing_and_hangs_nothing(db):
    stack("scale", "intake", "2")
    assert _wait_ready()
    time.sleep(1.5)
    key, authority = ENV["PARLEY_KEY_CASEWORKER_A"], ENV["PARLEY_AUTHORITY_A"]
    victim = _pids("intake")[0]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(_create_family_and_case, key, authority) for _ in range(120)]
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        results = [r for f in futures for r in f.result()]
    assert results
    for status, retry_after, seconds in results:
        assert seconds < 5, (status, seconds)
        assert status in (200, 201, 503), (status, retry_after)
        if status == 503:
            assert retry_after is not None
    # Restarted, everything succeeds again.
    stack("up")
    assert _wait_ready()
    time.sleep(1.5)
    for _ in range(10):
        statuses = [s for s, _, _ in _create_family_and_case(key, authority)]
        assert statuses == [201, 201]
    # No half-written family: every family has its parents and children.
    with db.cursor() as c:
        c.execute("""SELECT count(*) FROM intake.families f
                     WHERE NOT EXISTS (SELECT 1 FROM intake.parents p WHERE p.family_id = f.id)
                        OR NOT EXISTS (SELECT 1 FROM intake.children k WHERE k.family_id = f.id)""")
        assert c.fetchone()[0] == 0
    stack("scale", "intake", "1")


def test_broker_restart_is_survived_within_five_seconds(cw_a):
    for pid in _pids("broker"):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    stack("up")
    t0 = time.time()
    ok = False
    while time.time() - t0 < 5:
        try:
            if cw_a.get("/v1/cases", timeout=5).status_code == 200:
                ok = True
                break
        except requests.RequestException:
            pass
        time.sleep(0.1)
    assert ok, "requests did not succeed within 5 s of the broker restarting"
