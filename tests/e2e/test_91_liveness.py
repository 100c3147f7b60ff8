"""Liveness for real: a worker that stops answering (SIGSTOP: its socket
stays open, so only the missing heartbeats can tell) is dropped by the
broker after the documented number of missed heartbeats, while requests go
to the other instance; nothing reaches the stopped one once it is dropped;
after SIGCONT it registers again and serves. The stack is put back (SIGCONT,
one instance) in `finally`."""
import os
import signal
import threading
import time
import uuid

import pytest
import requests

from conftest import ENV, Logs, log_time, scale, wait_for, wait_stack_ready

# Documented (README, Architecture; lib/bus/bus.h): the broker drops a worker it has
# not heard from for 3 heartbeats of 1 s. A busy worker cannot heartbeat, so
# one holding a request is given until that request's deadline (the
# gateway's bus timeout, 2 s) plus the same 3 beats. The broker checks once a
# beat.
HEARTBEAT_S = 1.0
LIVENESS_BEATS = 3
BUS_TIMEOUT_S = 2.0
EARLIEST = (LIVENESS_BEATS - 1) * HEARTBEAT_S           # last beat came just before the stop
LATEST = BUS_TIMEOUT_S + LIVENESS_BEATS * HEARTBEAT_S + HEARTBEAT_S
SLACK = 2.0  # a loaded 2-core machine


class Load:
    """GET /v1/cases in a loop from 3 threads, each request with its own
    X-Request-Id: [(request id, status, sent at)]."""

    def __init__(self, api):
        self.api, self.stop, self.done, self.lock = api, threading.Event(), [], threading.Lock()
        self._ids = set()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(3)]

    def _run(self):
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.api.key}"
        while not self.stop.is_set():
            rid, sent = None, time.time()
            try:
                r = s.get(ENV["PARLEY_URL"] + "/v1/cases", timeout=15)
                status, rid = r.status_code, r.headers.get("X-Request-Id")  # the gateway's own id
            except requests.RequestException as e:
                status = str(e)
            with self.lock:
                self.done.append((rid, status, sent))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def ours(self, rec):
        """Whether a service's log line is about one of the load's requests."""
        with self.lock:
            if len(self._ids) != len(self.done):
                self._ids = {d[0] for d in self.done if d[0]}
            return rec.get("requestId") in self._ids

    def since(self, t):
        with self.lock:
            return [d for d in self.done if d[2] >= t]


@pytest.mark.timeout(180)
def test_a_stopped_worker_is_dropped_after_three_missed_heartbeats_and_comes_back(cw_a):
    victim = None
    try:
        first, victim = scale("intake", 2)
        intake, broker = Logs("intake"), Logs("broker")
        with Load(cw_a) as load:
            # Both serve before the fault.
            assert wait_for(lambda: {first, victim} <= {r["pid"] for r in intake.lines()
                                                        if load.ours(r)},
                            timeout=20), "liveness: the load did not reach both intake instances"
            stopped_at = time.time()
            os.kill(victim, signal.SIGSTOP)
            dropped = wait_for(lambda: broker.matching(r"^broker: intake worker silent for \d+ ms; dropped$"),
                               timeout=LATEST + SLACK)
            waited = time.time() - stopped_at
            assert dropped, (f"liveness: the broker had not dropped the stopped worker {waited:.1f} s after SIGSTOP "
                             f"(documented: {LIVENESS_BEATS} missed heartbeats of {HEARTBEAT_S:.0f} s, "
                             f"at most {LATEST:.0f} s with a request held)")
            after = log_time(dropped[0]) - stopped_at
            assert after >= EARLIEST - 0.5, \
                f"liveness: the broker dropped the stopped worker {after:.1f} s after SIGSTOP, before " \
                f"{LIVENESS_BEATS} heartbeats were missed"
            dropped_at = log_time(dropped[0])
            # With the stopped one dropped, the other serves everything.
            settled = time.time()
            assert wait_for(lambda: len(load.since(settled)) >= 40, timeout=30)
            os.kill(victim, signal.SIGCONT)
            resumed_at = time.time()
            back = wait_for(lambda: broker.matching(r"^broker: intake worker registered$"), timeout=20)
            assert back, "liveness: the worker did not register again after SIGCONT"
            # And it serves again.
            assert wait_for(lambda: any(r["pid"] == victim and load.ours(r)
                                        and log_time(r) > resumed_at for r in intake.lines()), timeout=20), \
                "liveness: the worker that came back got no requests"
        during = [d for d in load.done if stopped_at <= d[2] <= resumed_at]
        assert during and all(status == 200 for _, status, _ in during), \
            f"liveness: while one of two workers was stopped, requests failed: " \
            f"{sorted({str(s) for _, s, _ in during if s != 200})}"
        # What the stopped worker was handed shows once it runs again: it
        # answers it (unserved: its deadline has passed) before it registers
        # again. At most one request a handler thread, given before the
        # broker saw it go silent; none sent after the drop.
        registered_again = log_time(back[0])
        held = [r for r in intake.lines() if r["pid"] == victim and load.ours(r)
                and resumed_at - 0.5 <= log_time(r) < registered_again]
        sent = {rid: t for rid, _, t in load.done}
        late = [r for r in held if sent.get(r["requestId"], 0) >= dropped_at + 0.5]
        assert not late, f"liveness: requests sent after the drop reached the stopped worker: {late[:3]}"
        # One a handler thread at most (each registers as a worker of its own).
        threads = int(os.environ.get("PARLEY_WORKER_THREADS", "4"))
        assert len(held) <= threads, \
            f"liveness: the stopped process ({threads} handler threads) was handed {len(held)} requests: {held[:3]}"
        print(f"liveness: dropped {after:.2f} s after SIGSTOP; {len(during)} requests meanwhile, all 200; "
              f"held {len(held)}; registered again {registered_again - resumed_at:.2f} s after SIGCONT")
    finally:
        if victim is not None:
            try:
                os.kill(victim, signal.SIGCONT)
            except ProcessLookupError:
                pass
        scale("intake", 1)
        wait_stack_ready()
