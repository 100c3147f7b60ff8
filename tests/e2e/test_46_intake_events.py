"""Events through the transactional outbox: the relay delivers them (or
backs off while a consumer cannot take them, losing nothing), and the
deadline sweep announces each due deadline once however many intake
instances sweep at the same time. Scales intake, so it runs after the
other intake tests and puts the stack back as it found it."""
import datetime
import subprocess
import time

import json
from conftest import ENV, ROOT, case_body, stack
from intake_helpers import count


def wait_for(fn, timeout=20.0, every=0.2):
    end = time.time() + timeout
    while True:
        value = fn()
        if value or time.time() > end:
            return value
        time.sleep(every)


def delivery(db, case_id, type_):
    with db.cursor() as c:
        c.execute("SELECT d.subscriber, d.attempts, d.delivered_at IS NOT NULL, d.last_error,"
                  " d.next_attempt_at > now() FROM intake.outbox o JOIN intake.outbox_deliveries d"
                  " ON d.event_id = o.id WHERE o.subject_id = %s AND o.type = %s", (case_id, type_))
        return c.fetchall()


def test_the_relay_backs_off_while_a_consumer_cannot_take_events_and_keeps_them(cw_a, case_a, db):
    # notify does not implement Events.Deliver yet: it answers UNIMPLEMENTED.
    rows = wait_for(lambda: [r for r in delivery(db, case_a["id"], "case.opened") if r[1] >= 1])
    assert rows, delivery(db, case_a["id"], "case.opened")
    subscriber, attempts, delivered, error, later = rows[0]
    assert subscriber == "notify" and not delivered and later
    assert error.startswith("UNIMPLEMENTED")
    # Events about one case go to a subscriber in order: the next waits for the first.
    assert cw_a.post(f"/v1/cases/{case_a['id']}/stages", {"stage": "sen_support", "on": "2025-01-06"}).status_code == 201
    time.sleep(1.0)
    assert [r[1] for r in delivery(db, case_a["id"], "case.stage_changed")] == [0]
    assert count(db, "SELECT count(*) FROM intake.outbox WHERE subject_id = %s", case_a["id"]) == 3


def fake_consumer(service):
    """tests/helpers/fake_consumer.c as SERVICE: answers Deliver with OK, prints each event."""
    binary = ROOT / ENV.get("PARLEY_BIN_DIR", "build") / "tests" / "fake-consumer"
    env = {**ENV, "ASAN_OPTIONS": "detect_leaks=0", "PARLEY_LOG_LEVEL": "warn"}
    return subprocess.Popen([str(binary), service], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def test_a_consumer_that_was_down_gets_every_event_it_missed_in_order(cw_a, authority_a, family_a, db):
    stack("stop", "notify")
    consumer = None
    try:
        case = cw_a.post("/v1/cases", case_body(authority_a, family_a, wantsSupporter=False)).json()
        assert cw_a.post(f"/v1/cases/{case['id']}/close", {"outcome": "information_provided"}).status_code == 200
        # No notify worker: the broker answers UNAVAILABLE at the deadline; the relay backs off.
        assert wait_for(lambda: [r for r in delivery(db, case["id"], "case.opened") if r[1] >= 1 and r[3]])
        assert not any(r[2] for r in delivery(db, case["id"], "case.closed") if r[0] == "notify")
        consumer = fake_consumer("notify")
        done = wait_for(lambda: all(r[2] for t in ("case.opened", "case.closed") for r in delivery(db, case["id"], t)
                                    if r[0] == "notify"), timeout=30)
        assert done, (delivery(db, case["id"], "case.opened"), delivery(db, case["id"], "case.closed"))
    finally:
        if consumer:
            consumer.terminate()
            out = consumer.communicate(timeout=20)[0]
        stack("start", "notify")
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    ours = [e for e in events if e["subjectId"] == case["id"]]
    assert [e["type"] for e in ours] == ["case.opened", "case.closed"]      # in order, once each
    assert all(e["authorityId"] == authority_a == e["principalAuthority"] for e in ours)
    with db.cursor() as c:
        c.execute("SELECT last_error FROM intake.outbox_deliveries d JOIN intake.outbox o ON o.id = d.event_id"
                  " WHERE o.subject_id = %s AND d.subscriber = 'notify'", (case["id"],))
        assert all(r[0] is None for r in c.fetchall())


def scale_intake(n, **env):
    return subprocess.run([str(ROOT / "scripts" / "stack"), "scale", "intake", str(n)], cwd=ROOT,
                          env={**ENV, **env}, check=True, capture_output=True, text=True, timeout=180)


def test_each_due_deadline_is_announced_once_by_instances_sweeping_at_once(cw_a, authority_a, family_a, db):
    today = datetime.date.today()
    soon = cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()
    late = cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()
    # Requested 40 days ago: the decision is due in 2 days. 45 days ago: 3 days overdue.
    for case, days in ((soon, 40), (late, 45)):
        on = (today - datetime.timedelta(days=days)).isoformat()
        r = cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": on})
        assert r.status_code == 201, r.text
    try:
        # Two more instances, each sweeping every 100 ms, alongside the first.
        scale_intake(3, PARLEY_DEADLINE_SWEEP_MS="100")
        announced = wait_for(lambda: count(db, "SELECT count(*) FROM intake.deadline_events"
                                               " WHERE case_id IN (%s, %s)", soon["id"], late["id"]) == 2)
        assert announced
        time.sleep(2.0)  # many more sweeps by both
    finally:
        scale_intake(1)
    for case, status, remaining in ((soon, "upcoming", 2), (late, "overdue", -3)):
        with db.cursor() as c:
            c.execute("SELECT data FROM intake.outbox WHERE subject_id = %s AND type = 'case.deadline_due'",
                      (case["id"],))
            events = [r[0] for r in c.fetchall()]
        assert len(events) == 1, events                      # the final plan (100+ days away) is not due
        e = events[0]
        assert (e["kind"], e["status"], e["daysRemaining"], e["party"]) == \
            ("assessment_decision", status, remaining, "authority")
        assert e["caseId"] == case["id"] and e["authorityId"] == authority_a and e["languages"] == ["so", "en"]
        assert count(db, "SELECT count(*) FROM intake.deadline_events WHERE case_id = %s", case["id"]) == 1
    # Meeting the deadline stops nothing already sent, and announces nothing new.
    assert cw_a.post(f"/v1/cases/{soon['id']}/stages",
                     {"stage": "assessment_agreed", "on": today.isoformat()}).status_code == 201
