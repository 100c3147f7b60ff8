"""Exactly once, proved by redelivery. Delivery is at least once (the relay
retries whatever was not acknowledged), so a consumer must make the second
copy of an event change nothing: every consumed event type is delivered
again, the same event twice and an older one after a newer one, and the
consumer's state must be exactly as before. With three producer instances
relaying at once, every event reaches every subscriber exactly once,
counted at the subscriber. The relay's back-off schedule and its cap are
read from outbox_deliveries (attempts, next_attempt_at)."""
import json
import uuid

import pytest

from conftest import (Logs, case_body, consumed, fake_consumer, family_body, scale, stack, wait_for,
                      wait_stack_ready)
from matching_helpers import make_supporter, tenant  # noqa: F401
from young_helpers import young_case_body, young_person_body

# (subscriber, event type) pairs a service really consumes: each is
# redelivered below. A pair some consumer acknowledges that is not listed
# fails the first test.
CONSUMED = {("matching", "case.supporter_requested"), ("matching", "case.closed"), ("matching", "family.updated"),
            ("matching", "young_person.updated"), ("matching", "training.status_changed"),
            # redelivered in test_75_notify_events.py and test_75_notify_case_events.py
            # (they need templates and an SMTP server)
            ("notify", "case.opened"), ("notify", "case.signposted"), ("notify", "case.stage_changed"),
            ("notify", "case.deadline_due")}
# feedback declares case.closed (its migration) and answers Deliver with
# UNIMPLEMENTED until it is built: its deliveries fail (the back-off test
# below relies on that), so they are no consumer's.
STUBS = {"feedback"}
# Of notify's pairs only these are checked here: the scheduling, matching and
# training events it acts on are redelivered in test_89_*.py, and the rest it
# acknowledges without acting on them (services/notify/events.c).
CONSUMES_ONLY = {"notify": {"case.opened", "case.signposted", "case.stage_changed", "case.deadline_due"}}


def _rows(db, sql, *args):
    with db.cursor() as c:
        c.execute(sql, args)
        return c.fetchall()


def _event(db, subject_id, type_, nth=0):
    """(event id, seq) of the nth event of that type about the subject."""
    return _rows(db, "SELECT id::text, seq FROM intake.outbox WHERE subject_id = %s AND type = %s ORDER BY seq",
                 subject_id, type_)[nth]


def _delivery(db, event_id, subscriber, schema="intake"):
    return _rows(db, f"SELECT attempts, delivered_at IS NOT NULL FROM {schema}.outbox_deliveries"
                     " WHERE event_id = %s AND subscriber = %s", event_id, subscriber)[0]


def _handled_by_matching(logs, event_id):
    return [r for r in logs.lines() if r.get("requestId") == event_id and "method=Deliver" in r.get("msg", "")]


def _redeliver(db, event_id, subscriber="matching", schema="intake"):
    """The relay (of the producer whose schema it is) sends the event again,
    as after a lost acknowledgement; returns once the consumer has answered it."""
    attempts, delivered = _delivery(db, event_id, subscriber, schema)
    assert delivered, f"event {event_id} was never delivered to {subscriber}"
    logs = Logs(subscriber)
    with db.cursor() as c:
        c.execute(f"UPDATE {schema}.outbox_deliveries SET delivered_at = NULL, next_attempt_at = now()"
                  " WHERE event_id = %s AND subscriber = %s", (event_id, subscriber))
    again = wait_for(lambda: _delivery(db, event_id, subscriber, schema) == (attempts + 1, True), timeout=20)
    assert again, (f"the relay did not deliver {event_id} to {subscriber} again: "
                   f"{_delivery(db, event_id, subscriber, schema)}")
    assert wait_for(lambda: _handled_by_matching(logs, event_id), timeout=10), \
        f"{subscriber} logged no Deliver of the redelivered event {event_id}"


def _matching_state(db, case_id, family_id, supporter_id):
    """Everything matching keeps about the case, its family and its supporter."""
    def rows(sql, *args):
        return sorted(json.dumps(r[0], sort_keys=True) for r in _rows(db, sql, *args))
    return {
        "match_requests": rows("SELECT row_to_json(t) FROM matching.match_requests t WHERE case_id = %s", case_id),
        "offers": rows("SELECT row_to_json(t) FROM matching.offers t WHERE case_id = %s", case_id),
        "assignments": rows("SELECT row_to_json(t) FROM matching.assignments t WHERE case_id = %s", case_id),
        "case_profiles": rows("SELECT row_to_json(t) FROM matching.case_profiles t WHERE case_id = %s", case_id),
        "family_facts": rows("SELECT row_to_json(t) FROM matching.family_facts t WHERE family_id = %s", family_id),
        "places": rows("SELECT row_to_json(t) FROM matching.supporter_places t WHERE supporter_id = %s", supporter_id),
        "events": rows("SELECT row_to_json(t) FROM matching.outbox t WHERE subject_id = %s", case_id),
    }


def _assert_unchanged(before, after, what):
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"exactly once: {what} changed matching's state: {changed}"


def _patch_language(api, family_id, language):
    fam = api.get(f"/v1/families/{family_id}").json()
    parents = [{**{k: v for k, v in p.items() if k != "id"}, "parentId": p["id"]} for p in fam["parents"]]
    parents[0]["preferredLanguage"] = language
    r = api.s.patch(api.base + f"/v1/families/{family_id}", json={"parents": parents}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["version"]


@pytest.mark.timeout(180)
def test_every_consumed_event_delivered_again_or_late_changes_nothing(tenant, db):
    logs = Logs("matching")
    s = make_supporter(tenant.cw_x, [tenant.x], languages=["so", "en"], capacity=1)
    fam = tenant.cw_x.post("/v1/families", family_body(tenant.x)).json()
    case = tenant.cw_x.post("/v1/cases", case_body(tenant.x, fam, wantsSupporter=True)).json()
    requested, _ = _event(db, case["id"], "case.supporter_requested")
    # The family goes on matching's list and the sweeper offers it to s.
    offer = wait_for(lambda: _rows(db, "SELECT id::text FROM matching.offers WHERE case_id = %s AND status = 'pending'",
                                   case["id"]), timeout=30)
    assert offer, "matching never offered the family a supporter"
    r = tenant.cw_x.post(f"/v1/offers/{offer[0][0]}/accept", {})
    assert r.status_code == 200, r.text
    r = tenant.cw_x.post(f"/v1/assignments/{r.json()['assignmentId']}/end", {"reason": "support finished"})
    assert r.status_code == 200, r.text
    assert len(_handled_by_matching(logs, requested)) == 1

    # case.supporter_requested again, after the assignment it led to ended:
    # the family must not go back on the list.
    before = _matching_state(db, case["id"], fam["id"], s["id"])
    _redeliver(db, requested)
    _assert_unchanged(before, _matching_state(db, case["id"], fam["id"], s["id"]),
                      "case.supporter_requested delivered a second time")

    # family.updated: the same event twice, and the older after the newer.
    v2 = _patch_language(tenant.cw_x, fam["id"], "ar")
    v3 = _patch_language(tenant.cw_x, fam["id"], "pl")
    older, _ = _event(db, fam["id"], "family.updated", 0)
    newer, _ = _event(db, fam["id"], "family.updated", 1)
    assert wait_for(lambda: all(_delivery(db, e, "matching")[1] for e in (older, newer)), timeout=20)
    facts = _rows(db, "SELECT family_version FROM matching.family_facts WHERE family_id = %s", fam["id"])
    assert facts == [(v3,)] and v3 == v2 + 1, facts
    before = _matching_state(db, case["id"], fam["id"], s["id"])
    _redeliver(db, newer)
    _assert_unchanged(before, _matching_state(db, case["id"], fam["id"], s["id"]), "family.updated delivered twice")
    _redeliver(db, older)
    _assert_unchanged(before, _matching_state(db, case["id"], fam["id"], s["id"]),
                      "an older family.updated delivered after a newer one")

    # young_person.updated (a young person's own facts, for their cases): twice,
    # and the older after the newer.
    yp = tenant.cw_x.post("/v1/young-people", young_person_body(tenant.x))
    assert yp.status_code == 201, yp.text
    yp = yp.json()
    ycase = tenant.cw_x.post("/v1/cases", young_case_body(tenant.x, yp, wantsSupporter=True))
    assert ycase.status_code == 201, ycase.text
    ycase = ycase.json()
    assert wait_for(lambda: _rows(db, "SELECT 1 FROM matching.case_profiles WHERE case_id = %s", ycase["id"]),
                    timeout=20)
    for lang in ("ar", "pl"):
        r = tenant.cw_x.s.patch(tenant.cw_x.base + f"/v1/young-people/{yp['id']}", json={"preferredLanguage": lang},
                                timeout=10)
        assert r.status_code == 200, r.text
    y_older, _ = _event(db, yp["id"], "young_person.updated", 0)
    y_newer, _ = _event(db, yp["id"], "young_person.updated", 1)
    assert wait_for(lambda: all(_delivery(db, e, "matching")[1] for e in (y_older, y_newer)), timeout=20)
    assert _rows(db, "SELECT languages FROM matching.case_profiles WHERE case_id = %s", ycase["id"]) == [(["pl"],)]
    # The sweeper tries the new (and since changed) request on its own
    # schedule: once it has, only a redelivery could change the state.
    assert wait_for(lambda: _rows(db, "SELECT 1 FROM matching.match_requests WHERE case_id = %s AND due_at IS NULL"
                                      " AND last_attempt_at IS NOT NULL", ycase["id"]), timeout=30)
    before = _matching_state(db, ycase["id"], yp["id"], s["id"])
    _redeliver(db, y_newer)
    _assert_unchanged(before, _matching_state(db, ycase["id"], yp["id"], s["id"]),
                      "young_person.updated delivered twice")
    _redeliver(db, y_older)
    _assert_unchanged(before, _matching_state(db, ycase["id"], yp["id"], s["id"]),
                      "an older young_person.updated delivered after a newer one")

    # case.closed twice; then case.supporter_requested, older, after it.
    r = tenant.cw_x.post(f"/v1/cases/{case['id']}/close", {"outcome": "resolved"})
    assert r.status_code == 200, r.text
    closed, _ = _event(db, case["id"], "case.closed")
    assert wait_for(lambda: _delivery(db, closed, "matching")[1], timeout=20)
    before = _matching_state(db, case["id"], fam["id"], s["id"])
    _redeliver(db, closed)
    _assert_unchanged(before, _matching_state(db, case["id"], fam["id"], s["id"]), "case.closed delivered twice")
    _redeliver(db, requested)
    _assert_unchanged(before, _matching_state(db, case["id"], fam["id"], s["id"]),
                      "case.supporter_requested delivered after the case's case.closed")
    # training.status_changed (a supporter's training standing, from the
    # training service): twice, and the older after the newer.
    t_older, t_newer = _training_changes(tenant, db)
    before = _supporter_training(db, t_older[1])
    assert before[0][1] == 2 and "training_missing" in before[0][0], before
    _redeliver(db, t_newer[0], schema="training")
    assert _supporter_training(db, t_older[1]) == before, "training.status_changed delivered twice changed matching"
    _redeliver(db, t_older[0], schema="training")
    assert _supporter_training(db, t_older[1]) == before, \
        "an older training.status_changed delivered after a newer one changed matching"
    # The older standing arriving for the first time after the newer (a copy
    # under a new id, as a late relay of another producer instance would
    # send it): its version is older, so it changes nothing either.
    late = str(uuid.uuid4())
    with db.cursor() as c:
        c.execute("INSERT INTO training.outbox (id, type, authority_id, subject_id, data)"
                  " SELECT %s, type, authority_id, subject_id, data FROM training.outbox WHERE id = %s"
                  " RETURNING seq", (late, t_older[0]))
        seq = c.fetchone()[0]
        c.execute("INSERT INTO training.outbox_deliveries (event_id, subscriber, subject_id, seq)"
                  " VALUES (%s, 'matching', %s, %s)", (late, t_older[1], seq))
    assert wait_for(lambda: _delivery(db, late, "matching", "training")[1], timeout=20)
    assert _supporter_training(db, t_older[1]) == before, \
        "an older training.status_changed, first delivered after a newer one, changed matching"

    # Each event id is in matching's inbox once.
    assert _rows(db, "SELECT count(*) FROM matching.inbox WHERE event_id = ANY (%s::uuid[])",
                 [requested, older, newer, closed, y_older, y_newer, t_older[0], t_newer[0]]) == [(8,)]

    # Every (subscriber, type) a real consumer acknowledges, here or in any
    # test before, is one this test redelivers: a new consumed type fails
    # here until it is added to CONSUMED and redelivered above.
    pairs = set()
    for schema in ("intake", "matching", "training"):
        pairs |= set(_rows(db, f"SELECT DISTINCT d.subscriber, o.type FROM {schema}.outbox_deliveries d"
                               f" JOIN {schema}.outbox o ON o.id = d.event_id"
                               " WHERE d.delivered_at IS NOT NULL AND d.subscriber <> ALL (%s)", list(STUBS)))
    pairs = {(sub, t) for sub, t in pairs if sub not in CONSUMES_ONLY or t in CONSUMES_ONLY[sub]}
    assert CONSUMED <= pairs, sorted(CONSUMED - pairs)
    assert pairs <= CONSUMED, f"exactly once: consumed without a redelivery test: {sorted(pairs - CONSUMED)}"


def _supporter_training(db, supporter_id):
    """What matching keeps of a supporter's training, and their offers."""
    return (_rows(db, "SELECT training_reason, training_version FROM matching.supporters WHERE id = %s", supporter_id)
            + _rows(db, "SELECT id::text, status FROM matching.offers WHERE supporter_id = %s ORDER BY id",
                    supporter_id))


def _training_changes(tenant, db):
    """Two training.status_changed events about a new supporter of X (in
    date, then missing a course newly required), both delivered to
    matching: ((older id, supporter id), (newer id, supporter id))."""
    s = make_supporter(tenant.cw_x, [tenant.x])
    courses = []
    for code in ("R-A", "R-B"):
        r = tenant.cw_x.post("/v1/courses", {"authorityId": tenant.x, "code": f"{code}-{s['id'][:8]}", "title": code,
                                             "audience": ["supporter"], "level": 1, "validForMonths": 24,
                                             "delivery": "online"})
        assert r.status_code == 201, r.text
        courses.append(r.json()["id"])
    r = tenant.cw_x.s.put(tenant.cw_x.base + "/v1/requirements/supporter", timeout=10,
                          json={"authorityId": tenant.x, "courses": [{"courseId": courses[0]}]})
    assert r.status_code == 200, r.text
    r = tenant.cw_x.post("/v1/completions", {"person": {"supporterId": s["id"]}, "courseId": courses[0],
                                             "completedOn": "2026-01-05"})
    assert r.status_code == 201, r.text
    r = tenant.cw_x.s.put(tenant.cw_x.base + "/v1/requirements/supporter", timeout=10,
                          json={"authorityId": tenant.x, "courses": [{"courseId": c} for c in courses]})
    assert r.status_code == 200, r.text
    events = _rows(db, "SELECT id::text FROM training.outbox WHERE subject_id = %s AND type = 'training.status_changed'"
                       " ORDER BY seq", s["id"])
    assert len(events) == 2, events
    assert wait_for(lambda: all(_delivery(db, e, "matching", "training")[1] for (e,) in events), timeout=20)
    return (events[0][0], s["id"]), (events[1][0], s["id"])


HOLD = """
CREATE FUNCTION intake.test_hold_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT authority_id FROM intake.outbox WHERE id = NEW.event_id) = '{authority}'::uuid THEN
        NEW.next_attempt_at := now() + interval '1 hour';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_hold_deliveries BEFORE INSERT ON intake.outbox_deliveries
    FOR EACH ROW EXECUTE FUNCTION intake.test_hold_deliveries();
"""
UNHOLD = """
DROP TRIGGER IF EXISTS test_hold_deliveries ON intake.outbox_deliveries;
DROP FUNCTION IF EXISTS intake.test_hold_deliveries();
"""


@pytest.mark.timeout(240)
def test_with_three_producers_relaying_every_event_reaches_every_subscriber_exactly_once(cw_a, authority_a, db):
    n_cases = 20
    fakes, seen = {}, {}
    matching_logs = Logs("matching")
    relay_logs = Logs("intake")
    try:
        # Deliveries of this test's events are held back (a trigger of the
        # test's own, for its authority only) until all exist, then released
        # at once, so the three relays race for the same rows.
        with db.cursor() as c:
            c.execute(HOLD.replace("{authority}", authority_a))
        scale("intake", 3)
        for service in ("notify", "feedback"):
            stack("stop", service)
            broker = Logs("broker")
            fakes[service] = fake_consumer(service, delay_ms=5)
            assert wait_for(lambda: broker.matching(rf"^broker: {service} worker registered$"), timeout=20), \
                f"the fake {service} consumer did not register"
        fam = cw_a.post("/v1/families", family_body(authority_a)).json()
        cases = []
        for _ in range(n_cases):
            case = cw_a.post("/v1/cases", case_body(authority_a, fam, wantsSupporter=True)).json()
            assert cw_a.post(f"/v1/cases/{case['id']}/close", {"outcome": "resolved"}).status_code == 200
            cases.append(case["id"])
        expected = _rows(db, "SELECT d.event_id::text, d.subscriber FROM intake.outbox_deliveries d"
                             " JOIN intake.outbox o ON o.id = d.event_id WHERE o.subject_id = ANY (%s::uuid[])",
                         cases)
        assert len(expected) == 5 * n_cases, len(expected)  # opened, supporter_requested, closed x3
        assert _rows(db, "SELECT count(*) FROM intake.outbox_deliveries d JOIN intake.outbox o ON o.id = d.event_id"
                         " WHERE o.subject_id = ANY (%s::uuid[]) AND d.attempts > 0", cases) == [(0,)]
        with db.cursor() as c:
            c.execute(UNHOLD)
            c.execute("UPDATE intake.outbox_deliveries d SET next_attempt_at = now() FROM intake.outbox o"
                      " WHERE o.id = d.event_id AND o.subject_id = ANY (%s::uuid[])", (cases,))

        def all_delivered():
            return _rows(db, "SELECT count(*) FROM intake.outbox_deliveries d JOIN intake.outbox o"
                             " ON o.id = d.event_id WHERE o.subject_id = ANY (%s::uuid[])"
                             " AND d.delivered_at IS NULL", cases) == [(0,)]
        assert wait_for(all_delivered, timeout=90), "exactly once: not every event was delivered"
    finally:
        with db.cursor() as c:
            c.execute(UNHOLD)
        for service, proc in fakes.items():
            seen[service] = consumed(proc)
            stack("start", service)
        scale("intake", 1)
        wait_stack_ready()

    attempts = dict(((e, s), a) for e, s, a in _rows(
        db, "SELECT d.event_id::text, d.subscriber, d.attempts FROM intake.outbox_deliveries d"
            " JOIN intake.outbox o ON o.id = d.event_id WHERE o.subject_id = ANY (%s::uuid[])", cases))
    counted = {}
    for service, events in seen.items():
        for e in events:
            counted[(e["id"], service)] = counted.get((e["id"], service), 0) + 1
    for rec in matching_logs.lines():
        if "method=Deliver code=OK" in rec.get("msg", "") and rec.get("requestId"):
            key = (rec["requestId"], "matching")
            counted[key] = counted.get(key, 0) + 1
    # A second copy is only legitimate after an attempt the relay saw fail
    # (its answer lost): the relay warns about every first failure.
    failed = {(r["requestId"], r["msg"].split(" to ")[1].split(" ")[0]) for r in relay_logs.lines()
              if r.get("requestId") and "not delivered (attempt 1)" in r.get("msg", "")}
    wrong = []
    for event_id, subscriber in expected:
        n = counted.get((event_id, subscriber), 0)
        if n == 1:
            continue
        if n > 1 and (event_id, subscriber) in failed and n <= attempts[(event_id, subscriber)]:
            continue
        wrong.append(f"{subscriber} got event {event_id} {n} times (attempts {attempts[(event_id, subscriber)]})")
    assert not wrong, f"exactly once: with three relays, {len(wrong)} of {len(expected)} deliveries " \
                      "did not arrive exactly once:\n" + "\n".join(wrong[:20])


def _closed(db, case_id):
    return _rows(db, "SELECT d.event_id::text FROM intake.outbox_deliveries d JOIN intake.outbox o"
                     " ON o.id = d.event_id WHERE o.subject_id = %s AND o.type = 'case.closed'"
                     " AND d.subscriber = 'feedback'", case_id)[0][0]


@pytest.mark.timeout(120)
def test_the_relay_backs_off_exponentially_with_jitter_up_to_five_minutes(cw_a, authority_a, family_a, db):
    """feedback answers Deliver with UNIMPLEMENTED, so its deliveries fail.
    After a failure with `attempts` already made, the next attempt is due
    min(300 s, 2^attempts s) later, times a jitter in [0.75, 1.25]."""
    previous = [0, 2, 4, 6, 9, 12]  # attempts already made -> the delay after the next failure
    events = []
    for _ in previous:
        case = cw_a.post("/v1/cases", case_body(authority_a, family_a)).json()
        assert cw_a.post(f"/v1/cases/{case['id']}/close", {"outcome": "resolved"}).status_code == 200
        events.append(_closed(db, case["id"]))
    # Each delivery is due now, with its history of attempts.
    with db.cursor() as c:
        c.execute("UPDATE intake.outbox_deliveries d SET attempts = k.attempts, next_attempt_at = now(),"
                  " delivered_at = NULL FROM unnest(%s::uuid[], %s::int[]) AS k(event_id, attempts)"
                  " WHERE d.event_id = k.event_id AND d.subscriber = 'feedback' RETURNING now()",
                  (events, previous))
        released = c.fetchone()[0]
    got = {}

    def all_tried():
        for event_id, before in zip(events, previous):
            if event_id in got:
                continue
            (attempts, next_at, error, now), = _rows(
                db, "SELECT attempts, next_attempt_at, last_error, now() FROM intake.outbox_deliveries"
                    " WHERE event_id = %s AND subscriber = 'feedback'", event_id)
            if attempts == before + 1:
                got[event_id] = (next_at, now, error)
        return len(got) == len(events)
    assert wait_for(all_tried, timeout=30, every=0.05), \
        f"back-off: the relay did not retry every due delivery ({len(got)} of {len(events)})"
    wrong = []
    for event_id, before in zip(events, previous):
        next_at, observed, error = got[event_id]
        base = min(300.0, 2.0 ** min(before, 16))
        # The failure happened between the release and its observation.
        longest, shortest = (next_at - released).total_seconds(), (next_at - observed).total_seconds()
        if not (longest >= 0.75 * base and shortest <= 1.25 * base):
            wrong.append(f"after {before + 1} attempts: next attempt {shortest:.1f}-{longest:.1f} s later, "
                         f"want {0.75 * base:.1f}-{1.25 * base:.1f} s")
        if not (error or "").startswith("UNIMPLEMENTED"):
            wrong.append(f"after {before + 1} attempts: last_error {error!r}")
    assert not wrong, "back-off: the relay's schedule is not min(5 min, 2^attempts s) with jitter:\n" + \
        "\n".join(wrong)
