"""The Notify API provider with a key the API refuses, and shared by two
notify processes: every SMS sent exactly once, counted at the stand-in of
the Notify API (notify_api_stand_in.py)."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import Logs, pids, wait_for
from notify_api_stand_in import NotifyStandIn
from notify_helpers import MailSink, notification_body, notify_env, put_template, restart_notify, send

COUNT = 100
TEMPLATE = {"translations": [{"language": "en", "subject": "s ((name))", "body": "Hello ((name)) ((ref))"}]}


@pytest.fixture
def providers():
    sink, api = MailSink(), NotifyStandIn().start()
    sink.start()
    try:
        yield sink, api
    finally:
        restart_notify(1)
        sink.stop()
        api.stop()


def sms(authority, key, i):
    return notification_body(authority, key, recipient={"phone": f"+44 7700 900{i:03d}"}, channels=["sms"])


def test_a_key_the_api_refuses_is_recorded_and_the_sms_fails(providers, cw_a, authority_a):
    sink, api = providers
    # The right service, a secret that is not the service's: Notify answers 403.
    wrong = api.key(secret="0b4f8c0e-7d52-4d3c-9b4e-3f1d2c6a9e10")
    restart_notify(1, notify_env(sink, **api.env(PARLEY_NOTIFY_API_KEY=wrong)))
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    n = send(cw_a, sms(authority_a, key, 1))
    got = {}

    def failed():
        got["n"] = cw_a.get(f"/v1/notifications/{n['id']}").json()
        return got["n"]["status"] == "failed"
    assert wait_for(failed, timeout=30), got
    attempt, = got["n"]["attempts"]
    assert (attempt["channel"], attempt["status"]) == ("sms", "permanent_failure")
    assert "403 AuthError" in attempt["error"] and "signature" in attempt["error"], attempt
    assert "403" in got["n"]["failureReason"]
    assert api.auth_failures and not api.tokens and not api.messages


def test_a_key_not_in_notifys_format_stops_notify_from_starting(providers):
    sink, api = providers
    logs = Logs("notify")
    restart_notify(0)
    from conftest import stack
    stack("scale", "notify", "1", env=notify_env(sink, **api.env(PARLEY_NOTIFY_API_KEY="not-a-key")), check=False)
    assert wait_for(lambda: logs.matching("PARLEY_NOTIFY_API_KEY must be a GOV.UK Notify API key"), timeout=30)
    assert wait_for(lambda: not pids("notify"), timeout=30), "notify kept running with a malformed key"
    assert not any("not-a-key" in str(line) for line in logs.lines()), "the key is never logged"


def test_without_an_smtp_server_email_goes_through_the_notify_api(providers, cw_a, authority_a):
    sink, api = providers
    env = {k: v for k, v in notify_env(sink, **api.env()).items() if k != "PARLEY_SMTP_URL"}
    restart_notify(1, env)
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    n = send(cw_a, notification_body(authority_a, key, email_addr="amina@example.org"))
    got = {}

    def delivered():
        got["n"] = cw_a.get(f"/v1/notifications/{n['id']}").json()
        return got["n"]["status"] == "delivered"
    assert wait_for(delivered, timeout=30), got
    msg, = api.sent(n["id"])
    assert (msg["type"], msg["to"], msg["subject"], msg["body"]) == (
        "email", "amina@example.org", "s Agnieszka", "Hello Agnieszka R-12")
    assert [(a["channel"], a["status"], a["providerId"]) for a in got["n"]["attempts"]] == [
        ("email", "delivered", next(i for i, m in api.messages.items() if m is msg))]
    assert not sink.all(), "nothing went to the SMTP server"


@pytest.mark.timeout(240)
def test_two_notify_processes_send_each_sms_exactly_once(providers, cw_a, authority_a, db):
    sink, api = providers
    restart_notify(2, notify_env(sink, **api.env()))
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda i: send(cw_a, sms(authority_a, key, i))["id"], range(COUNT)))
    assert len(set(ids)) == COUNT

    def all_delivered():
        with db.cursor() as c:
            c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s"
                      " AND status = 'NOTIFICATION_STATUS_DELIVERED'", (authority_a,))
            return c.fetchone()[0] == COUNT
    assert wait_for(all_delivered, timeout=180), "not every SMS was delivered"
    twice = {i: len(api.posts_for(i)) for i in ids if len(api.posts_for(i)) != 1}
    assert not twice, f"posted to the Notify API other than once: {twice}"
    assert {m["reference"] for m in api.messages.values()} >= set(ids)
    with db.cursor() as c:
        c.execute("SELECT jsonb_array_length(attempts), count(*) FROM notify.notifications"
                  " WHERE authority_id = %s GROUP BY 1", (authority_a,))
        assert c.fetchall() == [(1, COUNT)]
    assert len(pids("notify")) == 2, "a notify process ended during the run"
    assert not api.auth_failures
