"""make bench's notify figure (scripts/bench.d/40-notify.sh): notifications
delivered a second to a local SMTP server, with 1 and with 3 notify
processes (issue 13).

A real SMTP server (Debian's python3-aiosmtpd) on a free loopback port, in
this process; notify restarted with `scripts/stack scale notify N` to send
through it (its other settings the stack's, so the send loop's defaults).
Through the public API, with the stack's demo admin key (stack.env): a new
authority, a caseworker key for it and a template; then, for each N,
BENCH_NOTIFY_COUNT (default 1,000) notifications posted on 4 connections.
The figure is the deliveries counted at the SMTP server from the first POST
to the last message received, and each notification's time from its 202 to
its message arriving (p50, p99). Notify is put back as the stack had it
(one process, without the SMTP server; under scripts/bench the real notify
takes the stand-in's place for good). Measures; asserts no time."""
import email
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ["PARLEY_URL"]
COUNT = int(os.environ.get("BENCH_NOTIFY_COUNT", "1000"))
PROCESSES = [int(n) for n in os.environ.get("BENCH_NOTIFY_PROCESSES", "1 3").split()]


class Sink:
    """Records when each notification's message (by its Message-ID) arrived."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.arrived = {}
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content)
        mid = (msg["Message-ID"] or "")[1:37]
        with self.lock:
            self.arrived.setdefault(mid, time.monotonic())
        return "250 OK"

    def count(self, ids):
        with self.lock:
            return sum(1 for i in ids if i in self.arrived)


def stack(*args, env=None):
    subprocess.run([str(ROOT / "scripts" / "stack"), *args], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, **(env or {})}, timeout=180)


def api(key):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key}"
    return s


def ok(r, status=(200, 201, 202)):
    if r.status_code not in status:
        sys.exit(f"bench notify: {r.request.method} {r.url}: {r.status_code} {r.text[:300]}")
    return r.json()


def stand_in_gone():
    """scripts/bench plays notify with a stand-in consumer (BENCH_NOTIFY_PID)
    while it seeds and measures the routes; this figure needs the real one,
    so the stand-in is stopped first (and the real notify left running)."""
    pid = int(os.environ.get("BENCH_NOTIFY_PID") or 0)
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def until_served(request):
    """request() again while the broker answers 503 (no notify worker yet,
    or the stand-in's place not yet given up): at most 60 s."""
    for _ in range(1200):
        r = request()
        if r.status_code != 503:
            return r
        time.sleep(0.05)
    return r


def run(n, sink, authority, key, template):
    stack("stop", "notify")
    stack("scale", "notify", str(n), env={"PARLEY_SMTP_URL": f"smtp://127.0.0.1:{sink.port}"})
    local = threading.local()

    def session():
        if not hasattr(local, "s"):
            local.s = api(key)
        return local.s

    def post(i):
        body = {"authorityId": authority, "template": template, "category": "case_updates",
                "data": {"name": f"Parent {i}"}, "recipient": {"email": f"bench-{i}@example.org"}}
        r = until_served(lambda: session().post(URL + "/v1/notifications", json=body))
        return ok(r)["id"], time.monotonic()

    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        posted = list(pool.map(post, range(COUNT)))
    t_posted = time.monotonic()
    ids = [i for i, _ in posted]
    deadline = time.monotonic() + 600
    while sink.count(ids) < COUNT and time.monotonic() < deadline:
        time.sleep(0.05)
    got = sink.count(ids)
    if got < COUNT:
        sys.exit(f"bench notify: {COUNT - got} of {COUNT} notifications never reached the SMTP server")
    with sink.lock:
        last = max(sink.arrived[i] for i in ids)
        waits = sorted(sink.arrived[i] - at for i, at in posted)
    rate = COUNT / (last - t0)
    p50, p99 = statistics.median(waits) * 1000, waits[min(len(waits) - 1, int(len(waits) * 0.99))] * 1000
    print(f"  {n} notify process{'es' if n > 1 else ''}: {COUNT} notifications, posted in {t_posted - t0:.1f} s, "
          f"delivered {rate:.0f}/s (first POST to last message); 202 to message p50 {p50:.0f} ms  p99 {p99:.0f} ms")
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(os.path.join(out, "results.tsv"), "a") as f:
            f.write(f"notify-smtp\t{n}\t1\t{rate:.0f}\t{int(p50 * 1000)}\t{int(p99 * 1000)}\t{COUNT}\t0\t0\t\n")


def main():
    admin = api(os.environ["PARLEY_KEY_ADMIN"])
    code = "E0%07d" % (uuid.uuid4().int % 10**7)
    authority = ok(admin.post(URL + "/v1/authorities", json={"code": code, "name": f"bench notify {code}"}))["id"]
    key = ok(admin.post(URL + "/v1/clients", json={"name": "bench notify", "roles": ["caseworker"],
                                                    "authorityIds": [authority]}))["key"]
    template = "bench_" + uuid.uuid4().hex[:8]
    stand_in_gone()
    stack("stop", "notify")
    stack("scale", "notify", "1")
    ok(until_served(lambda: api(key).put(URL + f"/v1/templates/{template}", json={"authorityId": authority, "translations": [
        {"language": "en", "subject": "Hello ((name))", "body": "Hello ((name)), this is a bench message.",
         "html": "<p>Hello ((name)), this is a bench message.</p>"}]})))
    sink = Sink()
    sink.controller.start()
    try:
        for n in PROCESSES:
            run(n, sink, authority, key, template)
    finally:
        stack("stop", "notify")
        stack("scale", "notify", "1")
        sink.controller.stop()


if __name__ == "__main__":
    main()
