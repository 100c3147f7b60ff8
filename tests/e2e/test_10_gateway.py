"""The gateway's conventions: health, authentication, errors, tracing."""
import os

import requests


def test_healthz_answers_without_a_key(anon):
    r = anon.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_reports_broker_postgres_redis_and_services(anon):
    r = anon.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["checks"] == {"broker": "up", "postgres": "up", "redis": "up"}
    # With Redis down it would stay 200 as "degraded" (tests/e2e/test_30_limits.py).
    assert body["status"] == "ready" and body["rateLimiter"] == "redis"
    assert body["services"]["intake"] is True


def test_missing_key_is_401_with_bearer_challenge(anon):
    r = anon.get("/v1/cases")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.headers["Content-Type"] == "application/problem+json"
    p = r.json()
    assert p["status"] == 401 and p["requestId"] == r.headers["X-Request-Id"]


def test_malformed_and_unknown_keys_are_401(env, cw_a):
    base = env["PARLEY_URL"]
    forged = "pk_" + "0" * 32 + "_" + "A" * 43
    for value in ["Bearer nonsense", "Basic dXNlcjpwYXNz", f"Bearer {forged}",
                  "Bearer " + cw_a.key[:-1] + ("x" if cw_a.key[-1] != "x" else "y")]:
        r = requests.get(base + "/v1/cases", headers={"Authorization": value}, timeout=10)
        assert r.status_code == 401, value
        assert "invalid_token" in r.headers["WWW-Authenticate"]


def test_role_without_the_route_is_403(partner_a):
    r = partner_a.get("/v1/cases")
    assert r.status_code == 403
    assert r.json()["title"] == "Forbidden"


def test_request_id_is_always_the_gateways_own(cw_a):
    # The client's X-Request-Id is recorded beside it (tests/e2e/test_84_auth_failures.py).
    r = cw_a.get("/v1/cases", headers={"X-Request-Id": "trace-abc.123"})
    assert r.headers["X-Request-Id"] != "trace-abc.123" and len(r.headers["X-Request-Id"]) == 36
    r = cw_a.get("/v1/cases", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["X-Request-Id"] != "bad id with spaces" and len(r.headers["X-Request-Id"]) == 36


def test_unknown_route_is_404_and_wrong_method_405(cw_a):
    assert cw_a.get("/v1/nowhere").status_code == 404
    r = cw_a.s.delete(cw_a.base + "/v1/cases", timeout=10)
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"] and "POST" in r.headers["Allow"]


def test_wrong_content_type_is_415(cw_a, authority_a):
    r = cw_a.post("/v1/families", data="authorityId=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415


def test_body_over_one_mebibyte_is_413(cw_a):
    r = cw_a.post("/v1/families", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_responses_carry_security_headers_and_no_banner(cw_a):
    r = cw_a.get("/v1/cases")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in r.headers


def test_cors_answers_only_allowed_origins(cw_a, env):
    allowed = os.environ.get("PARLEY_CORS_ORIGINS", "http://portal.test").split(",")[0]
    r = cw_a.get("/v1/cases", headers={"Origin": allowed})
    assert r.headers["Access-Control-Allow-Origin"] == allowed
    r = cw_a.get("/v1/cases", headers={"Origin": "http://evil.test"})
    assert "Access-Control-Allow-Origin" not in r.headers
    pre = requests.options(env["PARLEY_URL"] + "/v1/cases", timeout=10,
                           headers={"Origin": allowed, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204
    assert "Idempotency-Key" in pre.headers["Access-Control-Allow-Headers"]
    pre = requests.options(env["PARLEY_URL"] + "/v1/cases", timeout=10, headers={"Origin": "http://evil.test"})
    assert pre.status_code == 403
