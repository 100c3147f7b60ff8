"""Webhooks for the end-to-end tests: a receiver in the test process
(http.server on a loopback port), the Standard Webhooks verification a
partner agency would write, and where the stack lets webhooks go.

The stack allow-lists one loopback port for the tests
(PARLEY_WEBHOOK_ALLOW_HOSTS, set by scripts/run-tests and recorded in
stack.env); without it (a stack started by hand) allowed_port() picks a free
one and notify_env() passes it to the notify it restarts."""
import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time

from conftest import ENV


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stack_port():
    for entry in ENV.get("PARLEY_WEBHOOK_ALLOW_HOSTS", "").split(","):
        host, _, port = entry.strip().rpartition(":")
        if host == "127.0.0.1" and port.isdigit():
            return int(port)
    return None


_PORT = {"port": _stack_port()}


def allowed_port():
    """The loopback port webhooks may be sent to (the stack's, or one this
    run allow-lists when it restarts notify)."""
    if _PORT["port"] is None:
        _PORT["port"] = free_port()
    return _PORT["port"]


def allow_hosts():
    """PARLEY_WEBHOOK_ALLOW_HOSTS as notify must have it for the tests."""
    stack = ENV.get("PARLEY_WEBHOOK_ALLOW_HOSTS", "")
    if _stack_port() is not None:
        return stack
    return ",".join(x for x in (stack, f"127.0.0.1:{allowed_port()}") if x)


def notify_env(**extra):
    """notify restarted for webhook tests: the allow-list, and retries quick
    enough for a test (still exponential, with jitter)."""
    return {"PARLEY_WEBHOOK_ALLOW_HOSTS": allow_hosts(), "PARLEY_WEBHOOK_SEND_INTERVAL_MS": "50",
            "PARLEY_WEBHOOK_RETRY_BASE_MS": "100", "PARLEY_WEBHOOK_RETRY_MAX_MS": "400",
            "PARLEY_WEBHOOK_MAX_ATTEMPTS": "5", "PARLEY_WEBHOOK_TIMEOUT_MS": "3000", **extra}


def sweep_url(tag):
    """A URL a webhook may be registered with, where nothing listens unless
    a test's receiver does."""
    return f"http://127.0.0.1:{allowed_port()}/{tag}" if _stack_port() is not None else f"https://192.0.2.1/{tag}"


def verify(secret, headers, body):
    """Standard Webhooks verification: whether the v1 signature in headers
    is HMAC-SHA256 of id.timestamp.body under the secret's decoded bytes."""
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id, ts = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not msg_id or not ts:
        return False
    want = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    for sig in headers.get("webhook-signature", "").split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, want):
            return True
    return False


class Receiver:
    """An HTTP server on 127.0.0.1:port keeping every request it is sent.
    The first path segment says how it answers: /ok/... 200; /fail<n>/...
    500 to the first n requests on that path, then 200; /down/... always
    500; /gone/... 410; /redirect/... 302 to /ok/."""

    def __init__(self, port):
        self.port = port
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, 1 << 20))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "at": time.time()})
                    seen = sum(1 for r in receiver.requests if r["path"] == self.path)
                kind = self.path.split("/")[1]
                status, extra = 200, {}
                if kind.startswith("fail") and seen <= int(kind[4:] or 0):
                    status = 500
                elif kind == "down":
                    status = 500
                elif kind == "gone":
                    status = 410
                elif kind == "redirect":
                    status, extra = 302, {"Location": f"http://127.0.0.1:{receiver.port}/ok/redirected"}
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def on(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def events(self, path):
        return [json.loads(r["body"]) for r in self.on(path)]
