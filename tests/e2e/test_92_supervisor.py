"""While the stack is up, its supervisor starts again a process that dies,
with a back-off, and logs each restart; what was stopped on purpose stays
stopped (issue 12, item 8). The test stack runs without a supervisor
(PARLEY_SUPERVISE=0, so the fault tests decide when things come back): this
test starts one, and stops it again."""
import os
import signal
import time

from conftest import LOG_DIR, pids, stack, wait_for, wait_stack_ready

FAST = {"PARLEY_SUPERVISE_INTERVAL": "0.3"}


def _log():
    path = LOG_DIR / "supervisor-1.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _running(service):
    try:
        return pids(service)
    except Exception:
        return []


def test_a_killed_service_is_restarted_with_a_back_off_and_a_stopped_one_is_not(cw_a):
    assert not pids("supervisor"), "the test stack should run without a supervisor"
    stack("scale", "matching", "1")
    try:
        stack("start", "supervisor", env=FAST)
        assert len(pids("supervisor")) == 1
        start = len(_log())

        first = pids("matching")[0]
        os.kill(first, signal.SIGKILL)
        assert wait_for(lambda: _running("matching") and _running("matching")[0] != first, timeout=30), \
            f"supervisor: matching-1 was not restarted after a SIGKILL; its log:\n{_log()[start:]}"
        assert wait_for(lambda: "waits at least 1 s" in _log()[start:], timeout=30), _log()[start:]
        log = _log()[start:]
        assert "matching-1 is not running" in log and "restart 1" in log and "matching-1 restarted" in log, log
        assert "waits at least 1 s" in log, log
        wait_stack_ready()
        assert cw_a.get("/v1/supporters").status_code == 200

        # Dying again at once: the next restart waits out a longer back-off.
        second = _running("matching")[0]
        os.kill(second, signal.SIGKILL)
        died = time.monotonic()
        assert wait_for(lambda: _running("matching") and _running("matching")[0] not in (first, second),
                        timeout=30), f"supervisor: not restarted a second time:\n{_log()[start:]}"
        assert wait_for(lambda: "waits at least 2 s" in _log()[start:], timeout=30), _log()[start:]
        log = _log()[start:]
        assert "restart 2" in log and "waits at least 2 s" in log, log
        print(f"supervisor: second restart {time.monotonic() - died:.1f} s after the second kill")

        # Stopped on purpose: it stays stopped (its PID file is gone).
        stack("stop", "matching")
        time.sleep(2)  # several supervisor rounds (0.3 s each)
        assert not _running("matching"), f"supervisor restarted a stopped service:\n{_log()[start:]}"
    finally:
        stack("stop", "supervisor")
        stack("start", "matching")
        wait_stack_ready()
    assert not pids("supervisor")
    assert "stopping (SIGTERM)" in _log()
