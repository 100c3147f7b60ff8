"""`make run` stopped by a signal (Ctrl-C, `timeout`) leaves nothing
half-running (issue 12, item 8): scripts/run-demo, what `make run` runs
after building (here under make, as `make run` runs it), is stopped while `scripts/stack up` is starting things and
again once the demo is following the logs. `timeout` sends SIGTERM to the
command and then to its whole process group; a SIGTERM to `timeout` does
the same, at a moment the test chooses. Every process of that stack (they
carry its PARLEY_VAR_DIR in their environment) must be gone, and none of
its ports may still be listening."""
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from conftest import BIN, ROOT, SANITIZER_DIRS_FILE, VAR, wait_for


def _free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _processes_of(var):
    """PIDs of processes whose environment names this stack's var dir."""
    needle = f"PARLEY_VAR_DIR={var}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            env = (d / "environ").read_bytes()
            stat = (d / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            continue
        if needle in env.split(b"\0"):
            found.append(int(d.name))
    return found


def _descendant(pid, needle):
    """The PID of the first descendant of pid whose command line holds needle."""
    queue = [pid]
    while queue:
        p = queue.pop(0)
        try:
            kids = (Path("/proc") / str(p) / "task" / str(p) / "children").read_text().split()
        except OSError:
            continue
        for k in kids:
            try:
                if needle in (Path("/proc") / k / "cmdline").read_bytes().decode(errors="replace"):
                    return int(k)
            except OSError:
                pass
            queue.append(int(k))
    return None


def _listening(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run_until(var, ports, marker):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(PARLEY_VAR_DIR=str(var), PARLEY_BIN_DIR=str(BIN), PARLEY_HTTP_PORT=str(ports[0]),
               PARLEY_PG_PORT=str(ports[1]), PARLEY_REDIS_PORT=str(ports[2]), PARLEY_BROKER_PORT=str(ports[3]),
               PARLEY_PG_FSYNC="off", PARLEY_UP_TIMEOUT="120")
    # Under make, as `make run` runs it (make passes its own SIGTERM on to
    # run-demo, which then gets two), without make run's install and build.
    makefile = var / "Makefile.demo"
    makefile.write_text("demo:\n\t@scripts/run-demo\n")
    proc = subprocess.Popen(["timeout", "600", "make", "--no-print-directory", "-f", str(makefile), "demo"], cwd=ROOT,
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out, seen = [], threading.Event()

    def read():
        for line in proc.stdout:
            out.append(line)
            if marker in line:
                seen.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(180), f"run-demo never printed {marker!r}:\n{''.join(out)[-3000:]}"
        assert _processes_of(var), "run-demo started nothing"
        time.sleep(1)  # settled: following the logs, or waiting on a step of up
        demo = _descendant(proc.pid, "scripts/run-demo")
        proc.send_signal(signal.SIGTERM)  # what `timeout` does when its time is up
        # make passes a SIGTERM on to run-demo as well: more may arrive while
        # the first one's handler runs, which must neither re-enter it nor
        # cut it short (bash does not survive a re-entered handler).
        for _ in range(4):
            time.sleep(0.05)
            if demo:
                try:
                    os.kill(demo, signal.SIGTERM)
                except ProcessLookupError:
                    break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(10)
    return "".join(out)


def test_make_run_interrupted_during_up_or_after_it_leaves_nothing_running():
    var = VAR / "interrupted-run"
    var.mkdir(parents=True, exist_ok=True)
    (var / "log").mkdir(exist_ok=True)
    with open(SANITIZER_DIRS_FILE, "a") as f:  # the scan covers this stack's processes too
        f.write(f"{var / 'log'}\n")
    ports = _free_ports(4)
    try:
        for marker in ("stack: starting broker", "stack: starting intake-1", "Parley is running at"):
            out = _run_until(var, ports, marker)
            assert wait_for(lambda: not _processes_of(var), timeout=30), \
                f"after a SIGTERM at {marker!r}, still running: {_processes_of(var)}\n{out[-3000:]}"
            busy = [p for p in ports if _listening(p)]
            assert not busy, f"after a SIGTERM at {marker!r}, ports still listening: {busy}\n{out[-3000:]}"
            assert "stopping" in out, out[-3000:]
    finally:
        for pid in _processes_of(var):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def test_an_up_that_fails_stops_what_it_had_started():
    """`scripts/stack up` failing part-way (here: the gateway's port is taken
    by another program) stops the processes it had started, keeping the logs."""
    var = VAR / "failed-up"
    var.mkdir(parents=True, exist_ok=True)
    (var / "log").mkdir(exist_ok=True)
    with open(SANITIZER_DIRS_FILE, "a") as f:
        f.write(f"{var / 'log'}\n")
    ports = _free_ports(4)
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", ports[0]))
    taken.listen(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(PARLEY_VAR_DIR=str(var), PARLEY_BIN_DIR=str(BIN), PARLEY_HTTP_PORT=str(ports[0]),
               PARLEY_PG_PORT=str(ports[1]), PARLEY_REDIS_PORT=str(ports[2]), PARLEY_BROKER_PORT=str(ports[3]),
               PARLEY_PG_FSYNC="off", PARLEY_SUPERVISE="0")
    try:
        up = subprocess.run([str(ROOT / "scripts" / "stack"), "up"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180)
        assert up.returncode != 0 and "already in use" in up.stderr, up.stderr[-2000:]
        assert "up failed: stopping what this command started" in up.stderr, up.stderr[-2000:]
        assert wait_for(lambda: not _processes_of(var), timeout=30), \
            f"after a failed up, still running: {_processes_of(var)}\n{up.stderr[-2000:]}"
        assert not [p for p in ports[1:] if _listening(p)]
        assert (var / "log" / "broker-1.log").exists(), "the logs of what it started are kept"
    finally:
        taken.close()
        for pid in _processes_of(var):
            os.kill(pid, signal.SIGKILL)
