"""Events through the transactional outbox: the relay delivers them (or
backs off while a consumer cannot take them, losing nothing), and the
deadline sweep announces each due deadline once however many intake
instances sweep at the same time. Scales intake, and puts the stack back
as it found it (in `finally`)."""
import datetime
import subprocess

from conftest import ENV, ROOT, Logs, case_body, consumed, fake_consumer, london_today, stack, wait_for
from intake_helpers import count


def delivery(db, case_id, type_):
    with db.cursor() as c:
        c.execute("SELECT d.subscriber, d.attempts, d.delivered_at IS NOT NULL, d.last_error,"
                  " d.next_attempt_at > now() FROM intake.outbox o JOIN intake.outbox_deliveries d"
                  " ON d.event_id = o.id WHERE o.subject_id = %s AND o.type = %s", (case_id, type_))
        return c.fetchall()


def test_the_relay_backs_off_while_a_consumer_cannot_take_events_and_keeps_them(cw_a, authority_a, family_a, db):
    # notify is down: the broker answers UNAVAILABLE (or nothing) for it.
    stack("stop", "notify")
    try:
        case = cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()
        rows = wait_for(lambda: [r for r in delivery(db, case["id"], "case.opened") if r[1] >= 1], timeout=30)
        assert rows, delivery(db, case["id"], "case.opened")
        subscriber, attempts, delivered, error, _ = rows[0]
        assert subscriber == "notify" and not delivered and error, \
            f"loses nothing: a delivery notify could not take is {rows[0]} (want undelivered, retried later)"
        # Events about one case go to a subscriber in order: the next waits for
        # the first. Once the relay has tried case.opened again after the stage
        # was recorded, it has had its chance to send case.stage_changed too.
        assert cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "sen_support", "on": "2025-01-06"}).status_code == 201
        assert wait_for(lambda: [r for r in delivery(db, case["id"], "case.opened") if r[1] >= attempts + 1],
                        timeout=30), delivery(db, case["id"], "case.opened")
        assert [r[1] for r in delivery(db, case["id"], "case.stage_changed")] == [0], \
            "event order: case.stage_changed was sent to notify while the case's case.opened was still undelivered"
        assert count(db, "SELECT count(*) FROM intake.outbox WHERE subject_id = %s", case["id"]) == 2
    finally:
        stack("start", "notify")


def test_a_consumer_that_was_down_gets_every_event_it_missed_in_order(cw_a, authority_a, family_a, db):
    stack("stop", "notify")
    consumer, events = None, []
    try:
        case = cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()
        assert cw_a.post(f"/v1/cases/{case['id']}/close", {"outcome": "information_provided"}).status_code == 200
        # No notify worker: the broker answers UNAVAILABLE at the deadline; the relay backs off.
        assert wait_for(lambda: [r for r in delivery(db, case["id"], "case.opened") if r[1] >= 1 and r[3]]), \
            f"loses nothing: no failed attempt recorded while notify was down: {delivery(db, case['id'], 'case.opened')}"
        assert not any(r[2] for r in delivery(db, case["id"], "case.closed") if r[0] == "notify"), \
            "loses nothing: an event was marked delivered to notify while notify was down"
        consumer = fake_consumer("notify")
        done = wait_for(lambda: all(r[2] for t in ("case.opened", "case.closed") for r in delivery(db, case["id"], t)
                                    if r[0] == "notify"), timeout=30)
        assert done, (delivery(db, case["id"], "case.opened"), delivery(db, case["id"], "case.closed"))
    finally:
        if consumer:
            events = consumed(consumer)
        stack("start", "notify")
    ours = [e for e in events if e["subjectId"] == case["id"]]
    assert [e["type"] for e in ours] == ["case.opened", "case.closed"], \
        f"event order/exactly once: notify got {[e['type'] for e in ours]}"      # in order, once each
    assert all(e["authorityId"] == authority_a == e["principalAuthority"] for e in ours)
    with db.cursor() as c:
        c.execute("SELECT last_error FROM intake.outbox_deliveries d JOIN intake.outbox o ON o.id = d.event_id"
                  " WHERE o.subject_id = %s AND d.subscriber = 'notify'", (case["id"],))
        assert all(r[0] is None for r in c.fetchall())


def scale_intake(n, **env):
    return subprocess.run([str(ROOT / "scripts" / "stack"), "scale", "intake", str(n)], cwd=ROOT,
                          env={**ENV, **env}, check=True, capture_output=True, text=True, timeout=180)


def _assessment_requested(api, authority, family, days_ago):
    case = api.post("/v1/cases", case_body(authority, family)).json()
    on = (london_today() - datetime.timedelta(days=days_ago)).isoformat()
    r = api.post(f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": on})
    assert r.status_code == 201, r.text
    return case


def test_each_due_deadline_is_announced_once_by_instances_sweeping_at_once(cw_a, authority_a, family_a, db):
    # The sweep counts days in Europe/London, so "today" here is London's.
    today = london_today()
    # Requested 40 days ago: the decision (6 weeks) is due in 2 days. 45 days
    # ago: 3 days overdue. 35 days ago: due in 7 days, the last day of the
    # notice period (PARLEY_DEADLINE_NOTICE_DAYS=7). 34 days ago: in 8 days,
    # not yet announced.
    soon, late, edge, early = (_assessment_requested(cw_a, authority_a, family_a, d) for d in (40, 45, 35, 34))
    ours = (soon["id"], late["id"], edge["id"], early["id"])
    before = _intake_pids()
    try:
        # Two more instances, each sweeping every 100 ms, alongside the first.
        scale_intake(3, PARLEY_DEADLINE_SWEEP_MS="100")
        extra = [p for p in _intake_pids() if p not in before]
        assert len(extra) == 2, (before, extra)
        def announced():
            return count(db, "SELECT count(DISTINCT case_id) FROM intake.deadline_events"
                             " WHERE case_id = ANY (%s::uuid[])", list(ours))
        assert wait_for(lambda: announced() >= 3), "deadline sweep: of the 3 deadlines due within the notice " \
            f"period (2, -3 and 7 days), {announced()} were announced"
        # Both sweeping instances sweep again after that: each announces a
        # newly due probe deadline (one probe at a time; whichever instance
        # sweeps first announces it) at least once.
        sweeps, probes, swept_by = Logs("intake"), [], set()

        def both_swept_again():
            if not probes or count(db, "SELECT count(*) FROM intake.deadline_events WHERE case_id = %s",
                                   probes[-1]["id"]):
                probes.append(_assessment_requested(cw_a, authority_a, family_a, 40))
            swept_by.update(r["pid"] for r in sweeps.matching(r"^deadline sweep: \d+ deadline\(s\) due$"))
            return set(extra) <= swept_by
        assert wait_for(both_swept_again, timeout=30, every=0.2), \
            f"deadline sweep: instances {extra} did not both sweep again ({swept_by} did)"
    finally:
        scale_intake(1)
    for case, status, remaining in ((soon, "upcoming", 2), (late, "overdue", -3), (edge, "upcoming", 7)):
        with db.cursor() as c:
            c.execute("SELECT data FROM intake.outbox WHERE subject_id = %s AND type = 'case.deadline_due'",
                      (case["id"],))
            events = [r[0] for r in c.fetchall()]
        assert len(events) == 1, f"deadline sweep: case.deadline_due sent {len(events)} times for one deadline"
        e = events[0]
        assert (e["kind"], e["status"], e["daysRemaining"], e["party"]) == \
            ("assessment_decision", status, remaining, "authority"), f"deadline sweep: {e}"
        assert e["caseId"] == case["id"] and e["authorityId"] == authority_a and e["languages"] == ["so", "en"]
        assert count(db, "SELECT count(*) FROM intake.deadline_events WHERE case_id = %s", case["id"]) == 1
    assert count(db, "SELECT count(*) FROM intake.outbox WHERE subject_id = %s AND type = 'case.deadline_due'",
                 early["id"]) == 0, "deadline sweep: a deadline 8 days away was announced (notice is 7 days)"
    # Meeting the deadline stops nothing already sent, and announces nothing new.
    assert cw_a.post(f"/v1/cases/{soon['id']}/stages",
                     {"stage": "assessment_agreed", "on": today.isoformat()}).status_code == 201


def _intake_pids():
    return [int(p) for p in stack("pids", "intake").stdout.split()]
