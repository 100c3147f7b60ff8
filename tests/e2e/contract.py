"""Every answer the end-to-end tests receive, checked against the OpenAPI
document the gateway serves (GET /v1/openapi.json).

Each response to a request for the stack's URL whose method and path are a
documented operation must have a documented status, the content type
documented for it and a body that validates against that response's schema
(JSON Schema 2020-12, with Debian's python3-jsonschema; formats checked,
date-time and URIs by the checks below);
every documented header it carries must validate against its schema. A
mismatch fails the test that received the answer, naming the request. A
path the document does not describe (/healthz, /metrics, /docs, a route that
does not exist) or a method it does not list for a documented path (405) is
not an operation: nothing is there to check it against.

conftest.py imports the two fixtures below, so every test runs under them:
the check wraps requests.Session.send for the whole run, whichever session
or thread sends.
"""
import datetime
import json
import re
import threading
from urllib.parse import urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator, FormatChecker, RefResolver

METHODS = ("get", "put", "post", "patch", "delete")

# Statuses the HTTP layer answers before any route is matched (gateway/
# http_guard.c), whatever the operation: they are no operation's answer.
# Each is still checked to be a problem document.
BEFORE_ROUTING = {
    408: "the body did not arrive within the read deadline",
    414: "the request line is too long",
    431: "the request's headers are too large",
}


# The formats jsonschema checks by itself (date, uuid, email ...), and those
# it leaves to packages Debian does not have: date-time (RFC 3339) and URIs.
FORMATS = FormatChecker()
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    whole = re.sub(r"\.\d+", "", value).replace("Z", "+00:00")
    datetime.datetime.fromisoformat(whole)
    return True


@FORMATS.checks("uri")
def _uri(value):
    return not isinstance(value, str) or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$", value) is not None


@FORMATS.checks("uri-reference")
def _uri_reference(value):
    return not isinstance(value, str) or re.match(r"^[^\s]*$", value) is not None


class Contract:
    """The document, and the checks of one answer against it."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.doc = None
        self.lock = threading.Lock()
        self.validators = {}

    def load(self, send):
        with self.lock:
            if self.doc is None:
                r = send(requests.Request("GET", self.base + "/v1/openapi.json").prepare())
                r.raise_for_status()
                self.doc = r.json()
                self.resolver = RefResolver.from_schema(self.doc)
                self.ops = []
                for template, item in self.doc["paths"].items():
                    pattern = re.escape(template)
                    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", pattern)
                    self.ops.append((re.compile("^" + pattern + "$"), template, item))
        return self.doc

    def operation(self, method, path):
        for pattern, template, item in self.ops:
            if pattern.match(path):
                return template, item.get(method.lower())
        return None, None

    def deref(self, obj):
        """A component ($ref) as the object it names."""
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def validator(self, key, schema):
        with self.lock:
            v = self.validators.get(key)
            if v is None:
                v = Draft202012Validator(schema, resolver=self.resolver, format_checker=FORMATS)
                self.validators[key] = v
        return v

    def check(self, response):
        """What is wrong with response against the document: a list of texts."""
        req = response.request
        url = urlsplit(req.url)
        if not req.url.startswith(self.base + "/"):
            return []
        template, op = self.operation(req.method, url.path)
        if op is None:
            return []
        where = f"{req.method} {url.path} -> {response.status_code} ({op.get('operationId')})"
        status = response.status_code
        documented = op.get("responses", {})
        spec = documented.get(str(status)) or documented.get(f"{status // 100}XX") or documented.get("default")
        problems = []
        if spec is None:
            if status not in BEFORE_ROUTING:
                return [f"{where}: status {status} is not documented (documented: {', '.join(documented)})"]
            spec = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        spec = self.deref(spec)
        content = spec.get("content")
        body = response.content
        ctype = response.headers.get("Content-Type", "")
        if not content:
            if body:
                problems.append(f"{where}: documented without a body, answered {len(body)} bytes ({ctype})")
        else:
            media = next((m for m in content if m.lower().replace(" ", "") == ctype.lower().replace(" ", "")), None)
            if media is None:
                problems.append(f"{where}: Content-Type {ctype!r}, documented {list(content)}")
            else:
                try:
                    # ics: a text answer (text/calendar) is its schema's string.
                    value = json.loads(body) if "json" in media else body.decode("utf-8")
                except ValueError as e:
                    problems.append(f"{where}: the body is not {'JSON' if 'json' in media else 'UTF-8'}: {e}")
                else:
                    schema = content[media].get("schema", {})
                    v = self.validator((template, req.method, status, media), schema)
                    for err in sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))[:5]:
                        at = "/".join(str(p) for p in err.absolute_path) or "(the body)"
                        problems.append(f"{where}: body at {at}: {err.message[:300]}")
        for name, header in (spec.get("headers") or {}).items():
            header = self.deref(header)
            raw = response.headers.get(name)
            if raw is None:
                continue
            schema = header.get("schema", {})
            value = raw
            if schema.get("type") == "integer":
                try:
                    value = int(raw)
                except ValueError:
                    problems.append(f"{where}: header {name}: {raw!r} is not an integer")
                    continue
            v = self.validator(("header", name, json.dumps(schema, sort_keys=True)), schema)
            for err in v.iter_errors(value):
                problems.append(f"{where}: header {name} {raw!r}: {err.message[:200]}")
        return problems


_state = {"contract": None, "problems": [], "lock": threading.Lock(), "installed": False}


def install(base):
    """Checks every answer a requests session receives from base from now on."""
    if _state["installed"]:
        return
    contract = Contract(base)
    _state["contract"] = contract
    original = requests.Session.send

    def send(self, request, **kw):
        response = original(self, request, **kw)
        if kw.get("stream"):
            return response  # a streamed body is the test's to read
        contract.load(lambda r: original(requests.Session(), r, timeout=10))
        found = contract.check(response)
        if found:
            with _state["lock"]:
                _state["problems"].extend(found)
        return response

    requests.Session.send = send
    _state["installed"] = True


@pytest.fixture(scope="session", autouse=True)
def contract_session(env, stack_ready):
    """Installs the check for the whole run (after the stack is ready)."""
    install(env["PARLEY_URL"])
    yield


@pytest.fixture(autouse=True)
def contract_each_test(contract_session):
    """Fails a test that received an answer the document does not describe."""
    with _state["lock"]:
        _state["problems"].clear()
    yield
    with _state["lock"]:
        found = list(_state["problems"])
        _state["problems"].clear()
    if found:
        shown = "\n".join(found[:20])
        more = f"\n(and {len(found) - 20} more)" if len(found) > 20 else ""
        pytest.fail(f"answers that break the OpenAPI document (/v1/openapi.json):\n{shown}{more}", pytrace=False)
