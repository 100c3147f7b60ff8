"""Several notify processes share the send queue: with three of them, every
notification is delivered exactly once, counted at the SMTP server."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import pids, wait_for
from notify_helpers import MailSink, notification_body, notify_env, put_template, restart_notify, send

COUNT = 300


@pytest.fixture
def mail_and_three_notifiers():
    sink = MailSink()
    sink.start()
    try:
        restart_notify(3, notify_env(sink))
        yield sink
    finally:
        restart_notify(1)
        sink.stop()


@pytest.mark.timeout(240)
def test_three_notify_processes_deliver_each_notification_exactly_once(mail_and_three_notifiers, cw_a, authority_a,
                                                                       db):
    mail = mail_and_three_notifiers
    key = put_template(cw_a, authority_a)["key"]
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda i: send(cw_a, notification_body(
            authority_a, key, email_addr=f"parent-{i}@example.org"))["id"], range(COUNT)))
    assert len(set(ids)) == COUNT

    def received():
        got = {m["Message-ID"][1:37] for m in mail.all() if m["Message-ID"]}
        return set(ids) <= got
    assert wait_for(received, timeout=180), "not every notification reached the SMTP server"

    counts = {}
    for m in mail.all():
        counts[m["Message-ID"][1:37]] = counts.get(m["Message-ID"][1:37], 0) + 1
    twice = {i: counts[i] for i in ids if counts[i] != 1}
    assert not twice, f"received more than once: {twice}"
    with db.cursor() as c:
        c.execute("SELECT status, jsonb_array_length(attempts), count(*) FROM notify.notifications"
                  " WHERE authority_id = %s GROUP BY 1, 2", (authority_a,))
        assert c.fetchall() == [("NOTIFICATION_STATUS_DELIVERED", 1, COUNT)]
    assert len(pids("notify")) == 3, "a notify process ended during the run"
