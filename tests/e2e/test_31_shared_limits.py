"""Rate limits decided in process and shared through Redis in the background
(gateway/ratelimit.h): a request costs no Redis round trip, and two gateway
instances still keep one client to one limit, to within a sync interval."""
import socket
import time

from conftest import ENV, Api, make_client
from test_50_admin import second_gateway  # noqa: F401  (a fixture)


def _redis(*args):
    port = int(ENV["PARLEY_REDIS_URL"].rsplit(":", 1)[1].strip("/"))
    msg = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(msg.encode())
        data = b""
        while not data.endswith(b"\r\n\r\n") and len(data) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.startswith(b"$"):
                size = int(data[1:data.index(b"\r\n")])
                if len(data) >= data.index(b"\r\n") + 2 + size + 2:
                    break
        return data.decode()


def _script_calls():
    """How many scripts Redis has run (EVALSHA and EVAL), from INFO commandstats."""
    stats = _redis("INFO", "commandstats")
    total = 0
    for line in stats.splitlines():
        if line.startswith(("cmdstat_evalsha:", "cmdstat_eval:")):
            total += int(line.split("calls=")[1].split(",")[0])
    return total


def test_requests_cost_no_redis_round_trip(authority_a):
    api = Api(make_client(["caseworker"], [authority_a]))
    assert api.get("/v1/resources").status_code == 200
    time.sleep(0.6)
    before = _script_calls()
    t0 = time.monotonic()
    for _ in range(100):
        assert api.get("/v1/resources").status_code == 200
    elapsed = time.monotonic() - t0
    calls = _script_calls() - before
    # At most a sync round (250 ms) a client active here: ~4 a second, not one a request.
    assert calls <= 4 * (elapsed + 1) * 3, f"{calls} Redis scripts for 100 requests in {elapsed:.1f} s"
    assert calls < 100


def _spend(url, key, most):
    """Requests until one is refused (at most most); returns how many passed
    (each of them answered 200: anything else is not a measure of the limit)."""
    api = Api(key)
    api.base = url
    for i in range(most):
        r = api.get("/v1/resources")
        if r.status_code == 429:
            return i
        assert r.status_code == 200, r.text
    return most


def test_two_gateways_keep_one_client_to_one_limit(authority_a, second_gateway):  # noqa: F811
    # trainer is 20 a minute in make test's policy (scripts/run-tests).
    key = make_client(["trainer"], [authority_a])
    first = _spend(ENV["PARLEY_URL"], key, 12)
    assert first == 12
    time.sleep(0.6)  # two sync rounds of the first gateway: Redis has its 12
    second = _spend(second_gateway, key, 30)
    # 20 in all; at most one more came back meanwhile (one every 3 s).
    assert 7 <= second <= 9, f"the second gateway let {second} through after the first let {first}"
