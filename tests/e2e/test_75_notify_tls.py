"""Mail to an SMTP server that is not on loopback goes over STARTTLS or not
at all: a server that does not offer it gets nothing, and the notification
waits (a temporary failure, retried) saying why."""
import pytest

from conftest import wait_for
from notify_helpers import MailSink, notification_body, notify_env, outside_address, put_template, restart_notify, send


@pytest.fixture
def plain_server_off_loopback():
    addr = outside_address()
    if addr is None:
        pytest.skip("this machine has no address but loopback")
    sink = MailSink(host=addr)
    sink.start()
    try:
        restart_notify(1, notify_env(sink))
        yield sink
    finally:
        restart_notify(1)
        sink.stop()


def test_a_relay_off_loopback_without_starttls_gets_no_mail(plain_server_off_loopback, cw_a, authority_a):
    mail = plain_server_off_loopback
    key = put_template(cw_a, authority_a)["key"]
    n = send(cw_a, notification_body(authority_a, key))
    got = {}

    def tried():
        got["n"] = cw_a.get(f"/v1/notifications/{n['id']}").json()
        return got["n"]["attempts"]
    assert wait_for(tried, timeout=30), got
    attempt = got["n"]["attempts"][0]
    assert attempt["status"] == "temporary_failure" and "TLS" in attempt["error"].upper(), attempt
    assert got["n"]["status"] == "pending"
    assert mail.for_notification(n["id"]) == []
