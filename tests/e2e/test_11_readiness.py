"""Readiness and metrics that tell the truth (issue 12, item 8): /readyz is
503, naming the service, when a service the routes need has no worker, so a
load balancer stops sending this instance traffic; a service with no route
(not built yet) is never reported as ready; and a request no worker took is
not an "ok" bus outcome in /metrics."""
import time

import requests

from conftest import ENV, Api, stack

URL = ENV["PARLEY_URL"]


def _ready():
    r = requests.get(URL + "/readyz", timeout=10)
    return r.status_code, r.json()


def _until(pred, seconds=60):
    deadline = time.monotonic() + seconds
    status, body = _ready()
    while not pred(status, body) and time.monotonic() < deadline:
        time.sleep(0.2)
        status, body = _ready()
    return status, body


def _bus_count(service, outcome):
    token = ENV.get("PARLEY_METRICS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    text = requests.get(URL + "/metrics", headers=headers, timeout=10).text
    key = f'parley_bus_requests_total{{service="{service}",outcome="{outcome}"}} '
    for line in text.splitlines():
        if line.startswith(key):
            return int(float(line[len(key):]))
    return 0


def test_only_routed_services_are_reported_and_all_of_them_are_needed():
    status, body = _ready()
    assert status == 200, body
    # The services routes go to; those not built yet (no route) are not listed as ready.
    assert body["services"] == {"intake": True, "matching": True, "notify": True, "scheduling": True,
                                "training": True}
    assert "missingServices" not in body


def test_a_routed_service_without_a_worker_makes_readyz_503_and_its_calls_unavailable(cw_a):
    before = _bus_count("matching", "unavailable")
    try:
        stack("stop", "matching")
        status, body = _until(lambda s, b: s == 503)
        assert status == 503, body
        assert body["missingServices"] == ["matching"] and body["services"]["matching"] is False
        assert body["status"] == "unavailable"
        r = cw_a.get("/v1/matching/weights", timeout=15)
        assert r.status_code == 503
        assert _bus_count("matching", "unavailable") > before
    finally:
        stack("start", "matching")
    status, body = _until(lambda s, b: s == 200)
    assert status == 200 and body["services"]["matching"] is True, body
