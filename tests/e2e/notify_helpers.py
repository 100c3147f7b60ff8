"""A real SMTP server for the notify tests (Debian's python3-aiosmtpd), on a
free loopback port, that keeps every message it is given; and notify
restarted to send through it.

MailSink.start()/stop() open and close the port (stop: connection refused,
as an SMTP server that is down), so a test can take the server away and
bring it back on the same port. A recipient address starting "reject550"
is refused at RCPT with a 550 (a permanent failure), "defer451" with a 451
(a temporary one)."""
import email
import email.policy
import email.utils
import socket
import threading
import uuid

from aiosmtpd.controller import Controller

from conftest import pids, scale, stack, wait_for


def outside_address():
    """This machine's address on a network (not loopback), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent, a route is chosen
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject550"):
            return "550 5.1.1 no such mailbox here"
        if address.startswith("defer451"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(msg)
        return "250 OK"


class MailSink:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.port = free_port()
        self.url = f"smtp://{host}:{self.port}"
        self.messages = []
        self.lock = threading.Lock()
        self.controller = None

    def start(self):
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def all(self):
        with self.lock:
            return list(self.messages)

    def for_notification(self, notification_id):
        """Every message received for this notification (by its Message-ID)."""
        return [m for m in self.all() if m["Message-ID"] and m["Message-ID"].startswith(f"<{notification_id}@")]

    def wait_for(self, notification_id, timeout=30):
        got = wait_for(lambda: self.for_notification(notification_id), timeout=timeout)
        assert got, f"no message for notification {notification_id} reached the SMTP server in {timeout} s"
        return got


def notify_env(sink, **extra):
    """What notify is restarted with: this sink, and retries quick enough
    for a test (still exponential, with jitter)."""
    return {"PARLEY_SMTP_URL": sink.url, "PARLEY_NOTIFY_SEND_INTERVAL_MS": "100",
            "PARLEY_NOTIFY_RETRY_BASE_MS": "200", "PARLEY_NOTIFY_RETRY_MAX_MS": "1000",
            "PARLEY_NOTIFY_MAX_ATTEMPTS": "50", **extra}


def restart_notify(n=1, env=None):
    """Every notify instance stopped, then n started with env."""
    if pids("notify"):
        stack("stop", "notify")
    return scale("notify", n, env=env or {})


def mail_sink_and_notify():
    """A started sink and notify sending through it; a generator for a
    module fixture (notify is restarted without it afterwards)."""
    sink = MailSink()
    sink.start()
    restart_notify(1, notify_env(sink))
    try:
        yield sink
    finally:
        restart_notify(1)
        sink.stop()


def mail_sink_stand_in_and_notify():
    """A started sink and GOV.UK Notify stand-in, and notify sending through
    both; a generator for a module fixture yielding (sink, stand_in) (notify
    is restarted without them afterwards)."""
    from notify_api_stand_in import NotifyStandIn
    sink, api = MailSink(), NotifyStandIn().start()
    sink.start()
    restart_notify(1, notify_env(sink, **api.env()))
    try:
        yield sink, api
    finally:
        restart_notify(1)
        sink.stop()
        api.stop()


TEMPLATE = {
    "translations": [
        {"language": "en", "subject": "We have your request, ((name))",
         "body": "Hello ((name)), your case reference is ((ref)).",
         "html": "<p>Hello <b>((name))</b>, your case reference is ((ref)).</p>"},
        {"language": "pl", "subject": "Otrzymaliśmy Twoją prośbę, ((name))",
         "body": "Dzień dobry ((name)), numer sprawy: ((ref)).",
         "html": "<p>Dzień dobry <b>((name))</b>, numer sprawy: ((ref)).</p>"},
        {"language": "cy", "format": "easy_read", "subject": "Mae gennym eich cais, ((name))",
         "body": "Helo ((name)). Rhif: ((ref))."},
    ]
}


def put_template(api, authority, key=None, body=None, **headers):
    key = key or f"t-{uuid.uuid4().hex[:10]}"
    r = api.s.put(f"{api.base}/v1/templates/{key}", json={"authorityId": authority, **(body or TEMPLATE)},
                  headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def notification_body(authority, template, email_addr=None, language="en", **over):
    body = {"authorityId": authority, "template": template, "data": {"name": "Agnieszka", "ref": "R-12"},
            "recipient": {"email": email_addr or f"parent-{uuid.uuid4().hex[:8]}@example.org", "language": language},
            "category": "case_updates"}
    body.update(over)
    return body


def send(api, body, **headers):
    r = api.post("/v1/notifications", body, headers={"Idempotency-Key": str(uuid.uuid4()), **headers})
    assert r.status_code == 202, r.text
    return r.json()


def parts(msg):
    """(plain text, HTML or None) of a received message."""
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return (plain.get_content() if plain else None), (html.get_content() if html else None)


def delivered_to(sink, n, timeout=40):
    """The address notification n went to: its own recipient.email, or, for
    a person named by id (their address read when it was sent, never kept
    on the notification), the To of the message the sink received for it."""
    if n["recipient"].get("email"):
        return n["recipient"]["email"]
    msgs = sink.wait_for(n["id"], timeout=timeout)
    return email.utils.parseaddr(str(msgs[0]["To"]))[1]
