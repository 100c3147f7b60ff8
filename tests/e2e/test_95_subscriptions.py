"""Subscriptions belong to the consumer (docs/events.md, *Subscriptions*):
parley_shared.subscriptions holds a row per (event type, service that takes
it), each written by the consumer's own migration; a producer reads a type's
subscribers from it in the statement that writes the event. The table is
what docs/events.md's table says; every event any producer wrote so far in
the run (this file runs after the services' own tests) has one delivery for
each subscriber of its type and no other; a consumer declared by a row gets
the next event of the type with no producer changed; and a service's role
may declare subscriptions for itself only."""
import re

import psycopg2
import pytest

from conftest import ENV, ROOT, case_body, wait_for

PRODUCERS = ("intake", "matching", "scheduling", "training")


def documented():
    """{type: (producer, {subscribers})} from the table under docs/events.md's
    "## Subscriptions" heading (a "—" cell: nobody takes it)."""
    text = (ROOT / "docs" / "events.md").read_text()
    section = text.split("\n## Subscriptions\n", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        m = re.fullmatch(r"\| `([a-z_.]+)` \| ([a-z]+) \| ([^|]*) \|", line.strip())
        if m:
            subs = {s.strip() for s in m.group(3).split(",") if s.strip() not in ("", "—")}
            assert m.group(1) not in out, f"docs/events.md lists {m.group(1)} twice"
            out[m.group(1)] = (m.group(2), subs)
    return out


def declared(db):
    """{type: {services}} in parley_shared.subscriptions."""
    with db.cursor() as c:
        c.execute("SELECT event_type, service FROM parley_shared.subscriptions")
        out = {}
        for t, s in c.fetchall():
            out.setdefault(t, set()).add(s)
        return out


def test_the_subscriptions_table_is_what_docs_events_md_says(db):
    docs = documented()
    # What each consumer takes today (its Deliver handles it, or hands it to
    # webhooks, or keeps it for later): none of these may stop reaching it.
    assert len(docs) >= 22 and {"case.closed", "training.status_changed", "appointment.booked"} <= set(docs), docs
    assert docs["case.closed"][1] == {"notify", "matching", "feedback"}, docs["case.closed"]
    want = {t: subs for t, (_, subs) in docs.items() if subs}
    assert declared(db) == want, "parley_shared.subscriptions differs from docs/events.md's Subscriptions table"


def _events(db, schema):
    """[(type, event id, [subscribers delivered to or due])] of every event in schema's outbox."""
    with db.cursor() as c:
        c.execute(f"SELECT o.type, o.id::text, coalesce(array_agg(d.subscriber ORDER BY d.subscriber)"
                  f" FILTER (WHERE d.subscriber IS NOT NULL), '{{}}')"
                  f" FROM {schema}.outbox o LEFT JOIN {schema}.outbox_deliveries d ON d.event_id = o.id"
                  " GROUP BY o.type, o.id")
        return c.fetchall()


def test_every_event_written_so_far_has_a_delivery_for_exactly_its_types_subscribers(db):
    docs, subs = documented(), declared(db)
    seen, wrong = {}, {}
    for schema in PRODUCERS:
        for type_, event_id, delivered in _events(db, schema):
            seen.setdefault(schema, set()).add(type_)
            assert type_ in docs and docs[type_][0] == schema, \
                f"{schema} wrote {type_}, which docs/events.md's Subscriptions table does not give to {schema}"
            want = sorted(subs.get(type_, set()))
            if delivered != want:
                wrong.setdefault((schema, type_, tuple(delivered), tuple(want)), []).append(event_id)
    assert not wrong, "events whose deliveries are not their type's subscribers:\n" + "\n".join(
        f"{schema} {t}: delivered to {list(got)}, subscribed {list(want)} ({len(ids)} events, e.g. {ids[0]})"
        for (schema, t, got, want), ids in sorted(wrong.items()))
    # Every producer has written events by now (their own tests ran before this file).
    assert set(seen) == set(PRODUCERS), seen
    assert sum(len(t) for t in seen.values()) >= 12, seen


def _case_opened(db, case_id):
    """{subscriber: delivered?} of the case's case.opened."""
    with db.cursor() as c:
        c.execute("SELECT d.subscriber, d.delivered_at IS NOT NULL FROM intake.outbox o"
                  " JOIN intake.outbox_deliveries d ON d.event_id = o.id"
                  " WHERE o.subject_id = %s AND o.type = 'case.opened'", (case_id,))
        return dict(c.fetchall())


def _open_case(cw_a, authority_a, family_a):
    r = cw_a.post("/v1/cases", case_body(authority_a, family_a))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_consumer_declared_by_a_row_gets_the_next_event_of_its_type_with_no_producer_change(
        cw_a, authority_a, family_a, db):
    # Matching does not take case.opened (its Deliver answers OK to a type it
    # does not act on): it plays the new consumer, declared as its migration
    # would declare it, while intake runs unchanged.
    before = _open_case(cw_a, authority_a, family_a)
    assert wait_for(lambda: _case_opened(db, before) == {"notify": True}, timeout=20), _case_opened(db, before)
    with db.cursor() as c:
        c.execute("INSERT INTO parley_shared.subscriptions (event_type, service) VALUES ('case.opened', 'matching')")
    cases = [before]
    try:
        after = _open_case(cw_a, authority_a, family_a)
        cases.append(after)
        assert wait_for(lambda: _case_opened(db, after) == {"notify": True, "matching": True}, timeout=20), \
            f"the new subscriber's delivery: {_case_opened(db, after)}"
        assert _case_opened(db, before) == {"notify": True}, "a subscription reached an event written before it"
    finally:
        with db.cursor() as c:
            c.execute("DELETE FROM parley_shared.subscriptions WHERE event_type = 'case.opened'"
                      " AND service = 'matching'")
            # The outbox stays as the subscriptions say (the test above reads it).
            c.execute("DELETE FROM intake.outbox_deliveries d USING intake.outbox o WHERE o.id = d.event_id"
                      " AND o.type = 'case.opened' AND d.subscriber = 'matching' AND o.subject_id = ANY (%s::uuid[])",
                      (cases,))
    # Unsubscribed (the row removed), the next event goes to notify alone.
    last = _open_case(cw_a, authority_a, family_a)
    assert wait_for(lambda: _case_opened(db, last) == {"notify": True}, timeout=20), _case_opened(db, last)


@pytest.mark.parametrize("role", ["parley_matching", "parley_scheduling"])
def test_a_service_reads_every_subscription_and_declares_only_its_own(db, role):
    conn = psycopg2.connect(ENV["PARLEY_PG_DSN"])
    try:
        with conn.cursor() as c:
            c.execute(f"SET ROLE {role}")
            c.execute("SELECT count(*) FROM parley_shared.subscriptions WHERE service = 'notify'")
            assert c.fetchone()[0] >= 10, "a producer's role cannot read notify's subscriptions"
            # Its own, through the migrations' function: allowed (rolled back below).
            c.execute("SELECT parley_shared.subscribe('test.subscription_probe')")
            c.execute("SELECT service FROM parley_shared.subscriptions WHERE event_type = 'test.subscription_probe'")
            assert c.fetchall() == [(role[len("parley_"):],)]
            # Another service's: refused by the table's row security.
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                c.execute("INSERT INTO parley_shared.subscriptions (event_type, service)"
                          " VALUES ('test.subscription_probe', 'notify')")
        conn.rollback()
        with conn.cursor() as c:
            c.execute(f"SET ROLE {role}")
            c.execute("DELETE FROM parley_shared.subscriptions WHERE service = 'notify'")
            assert c.rowcount == 0, "a service's role removed another service's subscriptions"
    finally:
        conn.rollback()
        conn.close()
