"""The bus trusts only keys on its allow-list (CurveZMQ + ZAP), and each key
only for what its kind may do (services/broker/policy.c).

Every test plays an intruder that reached the broker's port, with
tests/helpers/bus_probe.c: without a key, with a key the broker never
listed, or with a real service's key (as if that service were compromised).
They check what the intruder got back, and that nothing was served: a
request carries a request id of its own, which no service's log may show."""
import json
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import ENV, ROOT, Api

BIN = ROOT / ENV.get("PARLEY_BIN_DIR", "build")
PROBE = BIN / "tests" / "bus-probe"
LOGS = Path(ENV["PARLEY_VAR_DIR"]) / "log"
# The sanitized probe runs with leak checking on: a probe that leaks fails.
PROBE_ENV = {**ENV, "PARLEY_LOG_LEVEL": "warn"}


def probe(*args, key="none", timeout=60):
    """Runs bus-probe; its one JSON line."""
    r = subprocess.run([str(PROBE), "--key", key, *args], env=PROBE_ENV, cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, (r.returncode, r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def probe_background(*args, key="none"):
    return subprocess.Popen([str(PROBE), "--key", key, *args], env=PROBE_ENV, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, (p.returncode, err)
    return json.loads(out.strip().splitlines()[-1])


def logs_mention(text, prefixes=("intake", "matching", "scheduling", "notify", "training", "feedback")):
    for f in LOGS.glob("*.log"):
        if f.name.split("-")[0] in prefixes and text in f.read_text(errors="replace"):
            return f.name
    return None


def broker_log():
    return "".join(f.read_text(errors="replace") for f in LOGS.glob("broker-*.log"))


def wait_for(cond, timeout=10.0, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(step)
    return cond()


def caller_principal(key, authority):
    """The principal the gateway builds for this key, spelled as probe options."""
    h = key.split("_")[1]
    client_id = str(uuid.UUID(h))
    return ["--client-id", client_id, "--consortium", ENV["PARLEY_CONSORTIUM_ID"], "--authority", authority,
            "--role", "caseworker"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forged_get_family(key, family, authority):
    rid = f"bus-probe-{uuid.uuid4()}"
    got = probe("call", "intake", "GetFamily", family["id"], *caller_principal(ENV["PARLEY_KEY_CASEWORKER_A"], authority),
                "--request-id", rid, "--timeout-ms", "1500", key=key)
    return rid, got


def personal_data_in(got, family):
    """Whether a reply's payload holds any of the family's personal data."""
    payload = bytes.fromhex(got.get("payloadHex", ""))
    parent = family["parents"][0]
    needles = [parent["familyName"], parent["email"], parent["phone"], family["children"][0]["dateOfBirth"]]
    return any(n.encode() in payload for n in needles)


def test_without_a_listed_key_a_forged_get_family_gets_no_answer_and_nothing_is_served(family_a, authority_a):
    for key in ("none", "unknown"):  # no CURVE at all; a CURVE key the broker never listed
        rid, got = forged_get_family(key, family_a, authority_a)
        # The handshake never completes: the request is never even sent.
        assert got == {"result": "timeout"}, (key, got)
        assert logs_mention(rid) is None, key
        # Nor can it ask the broker anything, even without a principal.
        assert probe("ready", "intake", "--timeout-ms", "1000", key=key) == {"result": "timeout"}, key


@pytest.mark.parametrize("kind", ["matching", "notify"])
def test_a_service_key_sending_a_callers_principal_is_denied_by_the_broker(kind, family_a, authority_a):
    rid, got = forged_get_family(kind, family_a, authority_a)
    assert got["result"] == "reply" and got["code"] == "PERMISSION_DENIED", got
    assert got["payloadBytes"] == 0 and not personal_data_in(got, family_a)
    assert logs_mention(rid) is None  # intake never saw it
    # The broker says who and what, never whom it claimed to act for.
    line = wait_for(lambda: next((ln for ln in broker_log().splitlines()
                                  if f"PERMISSION_DENIED kind={kind} service=intake method=GetFamily" in ln), None))
    assert line, broker_log()[-2000:]
    assert authority_a not in line and ENV["PARLEY_CONSORTIUM_ID"] not in line


def test_the_same_forged_request_through_the_gateway_key_is_served(family_a, authority_a):
    # The control for the tests above: the principal they forge is a real caller's.
    rid, got = forged_get_family("gateway", family_a, authority_a)
    assert got["code"] == "OK" and personal_data_in(got, family_a), got
    assert (wait_for(lambda: logs_mention(rid)) or "").startswith("intake-")


def test_a_service_key_may_ask_the_broker_without_a_principal():
    assert probe("ready", "intake", "--timeout-ms", "2000", key="notify") == {"result": "reply", "ready": True}


def _serve_while(worker, cw_a, family_a):
    """Gateway reads of family_a while worker runs; all must be answered 200."""
    codes = []
    while worker.poll() is None and len(codes) < 200:
        codes.append(cw_a.get(f"/v1/families/{family_a['id']}").status_code)
        time.sleep(0.05)
    return codes


def _register_while_serving(key, service, cw_a, family_a):
    """A probe worker of service with key for 4 s while the gateway reads family_a."""
    worker = probe_background("worker", service, "--seconds", "4", key=key)
    try:
        codes = _serve_while(worker, cw_a, family_a)
    finally:
        got = finish(worker)
    assert got["registered"] is False and got["requests"] == 0, (key, service, got)
    assert codes and set(codes) == {200}, codes
    return got


def test_a_rogue_intake_worker_without_a_listed_key_never_registers_and_is_never_served(cw_a, family_a):
    for key in ("none", "unknown"):
        got = _register_while_serving(key, "intake", cw_a, family_a)
        assert got["refused"] is False  # never got as far as a word with the broker


@pytest.mark.parametrize("key,service", [("matching", "intake"), ("gateway", "gateway"), ("gateway", "intake")])
def test_a_worker_registration_outside_its_own_kind_is_refused_and_never_served(key, service, cw_a, family_a):
    got = _register_while_serving(key, service, cw_a, family_a)
    # An allow-listed key is told no (DISCONNECT), and the broker logs it by kind.
    assert got["refused"] is True, got
    assert f"refused a worker registration kind={key} service={service}" in broker_log()


def test_a_service_key_registers_for_its_own_service(cw_a, family_a):
    # The control: a notify worker (the notify key) is taken, and nothing else changes.
    worker = probe_background("worker", "notify", "--seconds", "2", key="notify")
    got = finish(worker)
    assert got["registered"] is True and got["refused"] is False, got
    assert cw_a.get(f"/v1/families/{family_a['id']}").status_code == 200


def test_an_impostor_broker_gets_nothing_from_a_real_service_or_the_gateways_key():
    for mode in (["--plaintext"], []):  # no CURVE at all; CURVE with a key of its own
        port = free_port()
        fake = probe_background("fake-broker", f"tcp://127.0.0.1:{port}", "--seconds", "4", *mode)
        time.sleep(0.3)
        env = {**ENV, "PARLEY_BROKER": f"tcp://127.0.0.1:{port}", "PARLEY_LOG_LEVEL": "warn",
               "ASAN_OPTIONS": "detect_leaks=0"}
        service = subprocess.Popen([str(BIN / "parley-scheduling")], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            call = subprocess.run([str(PROBE), "--key", "gateway", "call", "intake", "GetCase", str(uuid.uuid4()),
                                   "--authority", ENV["PARLEY_AUTHORITY_A"], "--timeout-ms", "1500"],
                                  env={**PROBE_ENV, "PARLEY_BROKER": f"tcp://127.0.0.1:{port}"}, capture_output=True,
                                  text=True, timeout=30)
            assert json.loads(call.stdout.strip().splitlines()[-1]) == {"result": "timeout"}, call.stdout
        finally:
            got = finish(fake)
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=20)
        assert got == {"messages": 0}, (mode, got)


@pytest.mark.parametrize("bind", ["tcp://0.0.0.0:{port}", "tcp://*:{port}", "tcp://[::]:{port}"])
def test_a_broker_reachable_beyond_this_machine_will_not_start_without_keys(bind, tmp_path):
    env = {k: v for k, v in ENV.items() if k != "PARLEY_BUS_KEYS_DIR"}
    env.update({"PARLEY_BROKER_BIND": bind.format(port=free_port()), "ASAN_OPTIONS": "detect_leaks=0"})
    broker = subprocess.Popen([str(BIN / "parley-broker")], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = broker.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        broker.kill()
        out, _ = broker.communicate()
        pytest.fail(f"the broker ran on {env['PARLEY_BROKER_BIND']} without CURVE: {out}")
    assert broker.returncode == 1
    assert "refusing to listen on" in out and "PARLEY_BUS_KEYS_DIR" in out


def test_on_loopback_without_keys_the_broker_still_runs_plaintext():
    # A developer's machine without keys keeps working: the guard for the test above.
    port = free_port()
    env = {k: v for k, v in ENV.items() if k != "PARLEY_BUS_KEYS_DIR"}
    env.update({"PARLEY_BROKER_BIND": f"tcp://127.0.0.1:{port}", "ASAN_OPTIONS": "detect_leaks=0"})
    broker = subprocess.Popen([str(BIN / "parley-broker")], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        penv = {**{k: v for k, v in PROBE_ENV.items() if k != "PARLEY_BUS_KEYS_DIR"},
                "PARLEY_BROKER": f"tcp://127.0.0.1:{port}"}
        r = subprocess.run([str(PROBE), "ready", "intake", "--timeout-ms", "3000"], env=penv, capture_output=True,
                           text=True, timeout=30)
        assert json.loads(r.stdout.strip().splitlines()[-1]) == {"result": "reply", "ready": False}
    finally:
        broker.send_signal(signal.SIGTERM)
        assert broker.wait(timeout=20) == 0


def test_candidates_for_a_case_matching_has_not_seen_ask_intake_on_the_callers_behalf(cw_a, authority_a, family_a, db):
    # matching -> intake with the caller's principal: the one delegation the broker allows,
    # while matching's worker serves that caller. (wantsSupporter false: no event tells matching.)
    case = cw_a.post("/v1/cases", {"authorityId": authority_a, "familyId": family_a["id"],
                                   "childId": family_a["children"][0]["id"], "source": "school",
                                   "needs": ["information"], "wantsSupporter": False,
                                   "consent": {"shareWithAgencies": True, "lawfulBasis": "public_task"}})
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    before = broker_log().count("PERMISSION_DENIED kind=matching")
    r = cw_a.post(f"/v1/cases/{case_id}/candidates", {})
    assert r.status_code == 200, r.text
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM matching.case_profiles WHERE case_id = %s", (case_id,))
        assert c.fetchone()[0] == 1
    assert broker_log().count("PERMISSION_DENIED kind=matching") == before
    # Another authority's caller still gets 404: intake decided on the caller's principal.
    cw_b = Api(ENV["PARLEY_KEY_CASEWORKER_B"])
    assert cw_b.post(f"/v1/cases/{case_id}/candidates", {}).status_code == 404
