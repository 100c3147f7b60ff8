"""Rate limits per API client: RateLimit headers on every authenticated
answer, 429 with Retry-After over the limit, one client's spending never
touching another's, and requests still served (limited locally) while Redis
is down.

`scripts/run-tests` gives the `trainer` role a low limit (trainer=20/60)
that only these tests spend; run by hand against another stack, the tests
read the limit from the RateLimit-Limit header and send that many."""
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import ENV, ROOT, Api, client_id_of, make_client, stack

MAX_SPEND = 400  # refuse to hammer a stack whose trainer limit is larger


def _ints(r):
    return {h: int(r.headers[h]) for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")}


def _redis(*args):
    """One command to the stack's Redis over RESP (no client library needed)."""
    port = int(ENV["PARLEY_REDIS_URL"].rsplit(":", 1)[1].strip("/"))
    msg = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(msg.encode())
        return s.recv(4096).decode()


def _spend(api, limit):
    """Sends requests until one is refused; returns the answers."""
    answers = []
    for _ in range(limit + 5):
        r = api.get("/v1/cases")
        answers.append(r)
        if r.status_code == 429:
            break
    return answers


def _trainer(authority_a):
    key = make_client(["trainer"], [authority_a])
    first = Api(key).get("/v1/cases")
    limit = _ints(first)["RateLimit-Limit"]
    if limit > MAX_SPEND:
        pytest.skip(f"the trainer role's limit here is {limit}; run under scripts/run-tests (trainer=20/60)")
    return key, first, limit


def test_every_authenticated_answer_carries_ratelimit_headers(cw_a, partner_a, anon):
    ok = cw_a.get("/v1/cases")
    assert ok.status_code == 200
    h = _ints(ok)
    assert h["RateLimit-Limit"] > 0 and 0 <= h["RateLimit-Remaining"] < h["RateLimit-Limit"]
    assert h["RateLimit-Reset"] >= 0
    assert ok.headers["RateLimit-Policy"].split(";")[0] == str(h["RateLimit-Limit"])
    # Error answers after authentication carry them too: 403, 404 from a
    # service, 400 from validation.
    for r in (partner_a.get("/v1/cases"), cw_a.get(f"/v1/cases/{uuid.uuid4()}"),
              cw_a.post("/v1/cases", {"nonsense": 1})):
        assert r.status_code in (400, 403, 404), r.text
        assert "RateLimit-Remaining" in r.headers, r.status_code
    # No key, no client to count against.
    r = anon.get("/v1/cases")
    assert r.status_code == 401 and "RateLimit-Limit" not in r.headers


def test_a_client_over_its_limit_gets_429_while_another_is_unaffected(authority_a):
    key, first, limit = _trainer(authority_a)
    assert first.status_code == 403  # trainers have no /v1/cases: still counted
    answers = [first] + _spend(Api(key), limit)
    refused = answers[-1]
    assert refused.status_code == 429, [a.status_code for a in answers]
    assert len(answers) >= limit + 1  # the whole burst was served first
    assert refused.headers["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["status"] == 429 and body["requestId"] == refused.headers["X-Request-Id"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert _ints(refused)["RateLimit-Remaining"] == 0
    # The bucket reaches Redis under the client's id, with an expiry, at the
    # gateway's next sync (every 250 ms; gateway/ratelimit.h).
    deadline = time.time() + 5
    ttl = _redis("PTTL", f"parley:rl:{client_id_of(key)}")
    while not (ttl.startswith(":") and int(ttl[1:].strip()) > 0) and time.time() < deadline:
        time.sleep(0.05)
        ttl = _redis("PTTL", f"parley:rl:{client_id_of(key)}")
    assert ttl.startswith(":") and int(ttl[1:].strip()) > 0, ttl

    # Another client of the same role has its own bucket.
    other = Api(make_client(["trainer"], [authority_a])).get("/v1/cases")
    assert other.status_code == 403
    assert _ints(other)["RateLimit-Remaining"] == limit - 1
    # And the refused client stays refused (a refusal does not consume).
    assert Api(key).get("/v1/cases").status_code == 429


def test_a_client_gets_the_most_generous_of_its_roles(authority_a):
    trainer = _ints(Api(make_client(["trainer"], [authority_a])).get("/v1/cases"))["RateLimit-Limit"]
    both = Api(make_client(["trainer", "caseworker"], [authority_a])).get("/v1/cases")
    assert both.status_code == 200
    assert _ints(both)["RateLimit-Limit"] > trainer


def _ready():
    r = requests.get(ENV["PARLEY_URL"] + "/readyz", timeout=5)
    return r.status_code, r.json()


def _gateway_log():
    var = Path(ENV.get("PARLEY_VAR_DIR", "var"))
    var = var if var.is_absolute() else ROOT / var
    return (var / "log" / "gateway-1.log").read_text(errors="replace")


FELL_BACK = "rate limits fall back to this process's local limiter"
CAME_BACK = "redis answers again"


def _ready_when(pred, seconds):
    """/readyz's (status, body) once pred(body) holds, or the last one."""
    end = time.time() + seconds
    status, body = _ready()
    while not pred(body) and time.time() < end:
        time.sleep(0.2)
        status, body = _ready()
    return status, body


def test_redis_down_requests_are_served_under_the_local_limiter(cw_a, authority_a):
    key, _, limit = _trainer(authority_a)
    pids = [int(p) for p in stack("pids", "redis").stdout.split()]
    assert pids, "no redis to stop"
    fell_before, came_before = _gateway_log().count(FELL_BACK), _gateway_log().count(CAME_BACK)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    try:
        # Requests still succeed, with RateLimit headers from the local limiter.
        for _ in range(5):
            r = cw_a.get("/v1/cases")
            assert r.status_code == 200, r.text
            assert int(r.headers["RateLimit-Remaining"]) >= 0
        # /readyz stays 200 but says Redis is down and the limiter is local.
        status, body = _ready_when(lambda b: b["checks"]["redis"] == "down", 15)
        assert status == 200 and body["status"] == "degraded", body
        assert body["checks"]["broker"] == "up" and body["checks"]["postgres"] == "up"
        assert body["rateLimiter"] == "local"
        # The local limiter enforces the same policy.
        answers = _spend(Api(key), limit)
        assert answers[-1].status_code == 429 and "Retry-After" in answers[-1].headers
        assert len(answers) >= limit
        # /metrics shows it.
        text = requests.get(ENV["PARLEY_URL"] + "/metrics", timeout=5).text
        assert "parley_ratelimit_local_mode 1\n" in text
        assert 'parley_dependency_up{dependency="redis"} 0\n' in text
        assert 'parley_ratelimit_rejections_total{limiter="local"}' in text
        # Logged once for the outage, not once per request.
        assert _gateway_log().count(FELL_BACK) == fell_before + 1
    finally:
        stack("up")  # restarts what is missing: Redis
    status, body = _ready_when(lambda b: b["checks"]["redis"] == "up" and b["rateLimiter"] == "redis", 30)
    assert status == 200 and body["status"] == "ready" and body["rateLimiter"] == "redis", body
    r = cw_a.get("/v1/cases")
    assert r.status_code == 200 and "RateLimit-Limit" in r.headers
    assert _gateway_log().count(CAME_BACK) == came_before + 1
    # Back on Redis, which restarted empty: what the local limiter admitted
    # meanwhile is told to it at the next sync, so the client the local
    # limiter refused stays refused, on every instance.
    deadline = time.time() + 5
    while _redis("EXISTS", f"parley:rl:{client_id_of(key)}").strip() != ":1" and time.time() < deadline:
        time.sleep(0.05)
    assert _redis("EXISTS", f"parley:rl:{client_id_of(key)}").strip() == ":1"
    assert Api(key).get("/v1/cases").status_code == 429
