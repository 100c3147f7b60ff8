"""Several notify processes share the send queue: with three of them, 1,000
notifications are each delivered exactly once, counted at the SMTP server,
although the SMTP server is stopped for 30 s part-way (every notification
then waiting is retried and delivered after it returns, none twice)."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import pids, wait_for
from notify_helpers import MailSink, notification_body, notify_env, put_template, restart_notify, send

COUNT = 1000
OUTAGE_S = 30


@pytest.fixture
def mail_and_three_notifiers():
    sink = MailSink()
    sink.start()
    try:
        # Retries capped at 4 s (not the helpers' 1 s): 1,000 notifications
        # waiting out the outage are then ~250 attempts a second, not 1,000.
        restart_notify(3, notify_env(sink, PARLEY_NOTIFY_RETRY_MAX_MS="4000"))
        yield sink
    finally:
        restart_notify(1)
        sink.stop()


def _message_ids(mail):
    return [m["Message-ID"][1:37] for m in mail.all() if m["Message-ID"]]


@pytest.mark.timeout(420)
def test_three_notify_processes_deliver_each_notification_exactly_once_across_an_smtp_outage(
        mail_and_three_notifiers, cw_a, authority_a, db):
    mail = mail_and_three_notifiers
    key = put_template(cw_a, authority_a)["key"]
    with ThreadPoolExecutor(4) as pool:
        posted = pool.map(lambda i: send(cw_a, notification_body(
            authority_a, key, email_addr=f"parent-{i}@example.org"))["id"], range(COUNT))
        # The server goes away once some have arrived, while the rest are
        # still being posted and sent.
        assert wait_for(lambda: len(_message_ids(mail)) >= 50, timeout=120), "nothing reached the SMTP server"
        mail.stop()
        stopped = time.monotonic()
        ids = list(posted)
    assert len(set(ids)) == COUNT
    before = set(_message_ids(mail))
    assert len(before) < COUNT, "every notification was delivered before the outage: it tested nothing"

    def attempted_while_down():
        with db.cursor() as c:
            c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s"
                      " AND attempts @> '[{\"status\": \"ATTEMPT_STATUS_TEMPORARY_FAILURE\"}]'", (authority_a,))
            return c.fetchone()[0] > 0
    assert wait_for(attempted_while_down, timeout=60), "no notification was attempted while the server was down"
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
    mail.start()

    def received():
        return set(ids) <= set(_message_ids(mail))
    assert wait_for(received, timeout=240), (
        f"{len(set(ids) - set(_message_ids(mail)))} notifications never reached the SMTP server after it returned")

    counts = {}
    for i in _message_ids(mail):
        counts[i] = counts.get(i, 0) + 1
    twice = {i: counts[i] for i in ids if counts[i] != 1}
    assert not twice, f"received more than once: {twice}"
    with db.cursor() as c:
        # Each is delivered, by exactly one delivered attempt, its last.
        c.execute("SELECT status, (SELECT count(*) FROM jsonb_array_elements(attempts) a"
                  "                 WHERE a->>'status' = 'ATTEMPT_STATUS_DELIVERED'),"
                  "       attempts->-1->>'status', count(*)"
                  "  FROM notify.notifications WHERE authority_id = %s GROUP BY 1, 2, 3", (authority_a,))
        assert c.fetchall() == [("NOTIFICATION_STATUS_DELIVERED", 1, "ATTEMPT_STATUS_DELIVERED", COUNT)]
        c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s"
                  " AND jsonb_array_length(attempts) > 1", (authority_a,))
        retried = c.fetchone()[0]
    assert retried > 0, "no notification was retried: the outage tested nothing"
    assert len(pids("notify")) == 3, "a notify process ended during the run"


@pytest.fixture
def mail_and_a_rate_limited_notifier():
    sink = MailSink()
    sink.start()
    try:
        restart_notify(1, notify_env(sink, PARLEY_SMTP_RATE="5"))
        yield sink
    finally:
        restart_notify(1)
        sink.stop()


@pytest.mark.timeout(120)
def test_the_smtp_rate_limit_spreads_messages_out(mail_and_a_rate_limited_notifier, cw_a, authority_a):
    """PARLEY_SMTP_RATE=5: a second's burst of 5, then 5 a second, so 15
    notifications queued at once reach the server over at least 2 s (a
    lower bound: a slow machine only spreads them further). Unlimited, the
    same 15 arrive within a fraction of a second."""
    mail = mail_and_a_rate_limited_notifier
    key = put_template(cw_a, authority_a)["key"]
    ids = [send(cw_a, notification_body(authority_a, key, email_addr=f"rate-{i}@example.org"))["id"]
           for i in range(15)]
    first = last = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = len(set(ids) & set(_message_ids(mail)))
        now = time.monotonic()
        if got and first is None:
            first = now
        if got == len(ids):
            last = now
            break
        time.sleep(0.02)
    assert last is not None, "not every notification reached the SMTP server"
    assert last - first >= 1.5, f"15 messages at 5 a second arrived within {last - first:.2f} s: not limited"
