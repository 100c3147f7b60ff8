"""A local stand-in of the GOV.UK Notify API (http.server on a free loopback
port) for the notify tests: it checks every request's JWT as Notify does
(HS256 over the secret key, iss the service id, iat within 30 s, else 403
AuthError), takes POST /v2/notifications/sms and /email through the one
template it knows, and answers GET /v2/notifications/{id} with each message's
status moving created -> sending -> its final status (delivered unless a test
said otherwise).

A test can tell it to reject a phone number permanently (400
ValidationError, as Notify answers a number it cannot send to), to fail the
next N posts to a number temporarily (500, as Notify's technical failure),
or to end a number's messages in another status (permanent-failure,
temporary-failure). It counts every post by reference (Parley's notification
id), so a test can check that none was sent twice.

Letters (POST /v2/notifications/letter, a precompiled letter: {reference,
content} with content the PDF in base64) are checked to be a PDF and kept
(messages[id]["pdf"]); one whose text (pdftotext) holds a postcode a test
named in rejected_postcodes is refused with a 400 ValidationError, as Notify
refuses an address it cannot post to. A letter's status moves
pending-virus-check -> accepted -> received."""
import base64
import hashlib
import hmac
import json
import re
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def notify_token(service_id, secret, iat):
    """A token as GOV.UK Notify's client libraries make it."""
    header = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    claims = b64url(json.dumps({"iss": service_id, "iat": iat}, separators=(",", ":")).encode())
    signing = f"{header}.{claims}".encode()
    return f"{header}.{claims}.{b64url(hmac.new(secret.encode(), signing, hashlib.sha256).digest())}"


class NotifyStandIn:
    def __init__(self):
        self.service_id = str(uuid.uuid4())
        self.secret = str(uuid.uuid4())
        self.sms_template = str(uuid.uuid4())
        self.email_template = str(uuid.uuid4())
        self.lock = threading.Lock()
        self.messages = {}       # Notify's id -> {reference, phone, body, statuses: [...], polls}
        self.posts = []          # every POST taken or refused: (reference, phone, answer code)
        self.auth_failures = []  # (path, why)
        self.tokens = []         # every token that passed
        self.rejected = set()    # phone numbers answered 400
        self.fail_next = {}      # phone -> posts still to answer 500
        self.final = {}          # phone -> the status its messages end in
        self.rejected_postcodes = set()  # letters whose text holds one are answered 400
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def key(self, name="parley_test", secret=None):
        """An API key in Notify's format for this service."""
        return f"{name}-{self.service_id}-{secret or self.secret}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def check_token(self, header):
        """None when the Authorization header holds a token Notify would take, else why not."""
        if not header or not header.startswith("Bearer "):
            return "Unauthorized: authentication token must be provided"
        token = header[len("Bearer "):]
        parts = token.split(".")
        if len(parts) != 3:
            return "Invalid token: not enough segments"
        try:
            head = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            return "Invalid token: the segments are not base64url JSON"
        if head != {"typ": "JWT", "alg": "HS256"}:
            return f"Invalid token: header {head}"
        if "=" in token:
            return "Invalid token: padded base64"
        if claims.get("iss") != self.service_id:
            return "Invalid token: service not found"
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(time.time() - iat) > 30:
            return "Error: Your system clock must be accurate to within 30 seconds"
        want = hmac.new(self.secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, signature):
            return "Invalid token: signature, api token not found"
        with self.lock:
            self.tokens.append(token)
        return None

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, code, body):
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def error(self, code, kind, message):
                self.answer(code, {"status_code": code, "errors": [{"error": kind, "message": message}]})

            def authorised(self):
                why = stand_in.check_token(self.headers.get("Authorization"))
                if why is None:
                    return True
                with stand_in.lock:
                    stand_in.auth_failures.append((self.path, why))
                self.error(403, "AuthError", why)
                return False

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, 8 << 20))
                if not self.authorised():
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self.error(400, "BadRequestError", "Invalid JSON supplied in POST data")
                if self.path == "/v2/notifications/letter":
                    return self.post_letter(body)
                kind = {"/v2/notifications/sms": "sms", "/v2/notifications/email": "email"}.get(self.path)
                if kind is None:
                    return self.error(404, "NoResultFound", "No result found")
                to = body.get("phone_number" if kind == "sms" else "email_address")
                template = stand_in.sms_template if kind == "sms" else stand_in.email_template
                personalisation = body.get("personalisation") or {}
                reference = body.get("reference")
                with stand_in.lock:
                    if body.get("template_id") != template:
                        code = 400
                    elif to in stand_in.rejected:
                        code = 400
                    elif stand_in.fail_next.get(to, 0) > 0:
                        stand_in.fail_next[to] -= 1
                        code = 500
                    else:
                        code = 201
                    stand_in.posts.append((reference, to, code))
                if body.get("template_id") != template:
                    return self.error(400, "BadRequestError", "Template not found")
                if not isinstance(to, str) or (kind == "sms" and not re.fullmatch(r"\+?[0-9 ()-]{7,30}", to)):
                    return self.error(400, "ValidationError", "phone_number is a required property")
                for name in ("body",) if kind == "sms" else ("subject", "body"):
                    if name not in personalisation:
                        return self.error(400, "BadRequestError", f"Missing personalisation: {name}")
                if code == 400:
                    return self.error(400, "ValidationError", "phone_number Not a UK mobile number")
                if code == 500:
                    return self.error(500, "Exception", "Internal server error")
                notification_id = str(uuid.uuid4())
                with stand_in.lock:
                    stand_in.messages[notification_id] = {
                        "reference": reference, "to": to, "body": personalisation["body"], "type": kind,
                        "subject": personalisation.get("subject"),
                        "statuses": ["sending", stand_in.final.get(to, "delivered")], "status": "created"}
                self.answer(201, {"id": notification_id, "reference": reference,
                                  "content": {"body": personalisation["body"], "from_number": "PARLEY"},
                                  "uri": f"{stand_in.url}/v2/notifications/{notification_id}",
                                  "template": {"id": template, "version": 1,
                                               "uri": f"{stand_in.url}/v2/template/{template}"}})

            def post_letter(self, body):
                reference = body.get("reference")
                try:
                    pdf = base64.b64decode(body.get("content") or "", validate=True)
                except ValueError:
                    pdf = b""
                text = ""
                if pdf.startswith(b"%PDF-"):
                    run = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, timeout=30)
                    text = run.stdout.decode("utf-8", "replace") if run.returncode == 0 else ""
                with stand_in.lock:
                    if not text:
                        code = 400
                    elif any(p in text for p in stand_in.rejected_postcodes):
                        code = 400
                    else:
                        code = 201
                    stand_in.posts.append((reference, None, code))
                if not text:
                    return self.error(400, "ValidationError", "Letter content is not a valid PDF")
                if code == 400:
                    return self.error(400, "ValidationError", "Last line of address must be a real UK postcode")
                notification_id = str(uuid.uuid4())
                with stand_in.lock:
                    stand_in.messages[notification_id] = {
                        "reference": reference, "to": None, "body": text, "type": "letter", "pdf": pdf,
                        "statuses": ["accepted", stand_in.final.get(reference, "received")],
                        "status": "pending-virus-check"}
                self.answer(201, {"id": notification_id, "reference": reference, "postage": "second"})

            def do_GET(self):
                if not self.authorised():
                    return
                m = re.fullmatch(r"/v2/notifications/([0-9a-f-]{36})", self.path)
                with stand_in.lock:
                    msg = stand_in.messages.get(m.group(1)) if m else None
                    if msg is not None:
                        if msg["statuses"]:
                            msg["status"] = msg["statuses"].pop(0)
                        status, reference, to, kind = msg["status"], msg["reference"], msg["to"], msg["type"]
                if msg is None:
                    return self.error(404, "NoResultFound", "No result found")
                answer = {"id": m.group(1), "reference": reference, "type": kind, "status": status}
                if kind != "letter":
                    answer["phone_number" if kind == "sms" else "email_address"] = to
                self.answer(200, answer)

        return Handler

    def sent(self, reference):
        """The messages taken for this reference."""
        with self.lock:
            return [m for m in self.messages.values() if m["reference"] == reference]

    def posts_for(self, reference):
        with self.lock:
            return [p for p in self.posts if p[0] == reference]

    def env(self, **over):
        """What notify is started with to send through this stand-in."""
        return {"PARLEY_NOTIFY_API_URL": self.url, "PARLEY_NOTIFY_API_KEY": self.key(),
                "PARLEY_NOTIFY_API_SMS_TEMPLATE": self.sms_template,
                "PARLEY_NOTIFY_API_EMAIL_TEMPLATE": self.email_template,
                "PARLEY_NOTIFY_API_POLL_MS": "100", **over}
