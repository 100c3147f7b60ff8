"""/metrics: Prometheus text format, requests labelled by route template,
latency and bus histograms, dependency gauges, and who may read it."""
import time
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import ENV

URL = ENV["PARLEY_URL"] + "/metrics"


def _scrape(**kw):
    r = requests.get(URL, timeout=10, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text


def _samples(text):
    """{(name, frozenset(labels)): value}, parsed by the Prometheus client's
    own parser (which rejects malformed exposition text)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def test_requests_are_counted_by_route_template_never_by_raw_path(cw_a, case_a):
    labels = {"route": "/v1/cases/{id}", "method": "GET", "status": "200"}
    before = _value(_samples(_scrape()), "parley_http_requests_total", **labels)
    for _ in range(3):
        assert cw_a.get(f"/v1/cases/{case_a['id']}").status_code == 200
    # The gateway counts a request just after its answer is written, so the
    # last one may land a moment after the client has it: poll briefly.
    deadline = time.time() + 2
    while True:
        text = _scrape()
        s = _samples(text)
        if _value(s, "parley_http_requests_total", **labels) >= before + 3 or time.time() > deadline:
            break
        time.sleep(0.02)
    assert _value(s, "parley_http_requests_total", **labels) == before + 3
    assert case_a["id"] not in text  # ids never become label values
    hist = {"route": "/v1/cases/{id}", "method": "GET"}
    count = _value(s, "parley_http_request_duration_seconds_count", **hist)
    assert count >= 3
    assert _value(s, "parley_http_request_duration_seconds_bucket", le="+Inf", **hist) == count
    assert _value(s, "parley_http_request_duration_seconds_sum", **hist) > 0
    assert _value(s, "parley_bus_roundtrip_seconds_count", service="intake") >= 3
    assert _value(s, "parley_bus_requests_total", service="intake", outcome="ok") >= 3


def test_unmatched_paths_share_one_label(cw_a):
    junk = f"/v1/no-such-thing/{uuid.uuid4()}"
    assert cw_a.get(junk).status_code == 404
    text = _scrape()
    assert junk not in text and "no-such-thing" not in text
    assert _value(_samples(text), "parley_http_requests_total", route="unmatched", method="GET", status="404") >= 1


def test_dependencies_rate_limits_and_in_flight_are_exposed(anon):
    assert anon.get("/readyz").status_code == 200
    s = _samples(_scrape())
    for dep in ("redis", "postgres", "broker"):
        assert _value(s, "parley_dependency_up", dependency=dep) == 1, dep
    assert ("parley_ratelimit_local_mode", frozenset()) in s
    assert ("parley_ratelimit_rejections_total", frozenset({("limiter", "redis")})) in s
    assert _value(s, "parley_http_requests_in_flight") >= 1  # this scrape itself


def test_metrics_is_hidden_from_proxied_callers_without_the_token():
    # Behind a reverse proxy on the same host every caller is loopback; the
    # proxy's X-Forwarded-For is what tells them apart.
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    r = requests.get(URL, headers=proxied, timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"
    r = requests.get(URL, headers={**proxied, "Authorization": "Bearer not-the-token"}, timeout=10)
    assert r.status_code == 404
    token = ENV.get("PARLEY_METRICS_TOKEN")
    if not token:
        pytest.skip("PARLEY_METRICS_TOKEN is not set for this stack (scripts/run-tests sets one)")
    text = _scrape(headers={**proxied, "Authorization": f"Bearer {token}"})
    assert "parley_http_requests_total" in text
