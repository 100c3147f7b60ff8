"""Two promises every answer of the suite keeps, checked after each test.

- Every `201 Created` names, in `Location`, a URL that answers 200 to GET
  (with the key that created it): after the test that created it, the new
  object is read back at its Location and must be the object created.
- Every problem (`application/problem+json`) has a `code` that
  /docs/problems lists, and a `detail` in words.

The answers are seen by wrapping requests.Session.send for the whole run
(whichever session or thread sends), as tests/e2e/contract.py does on main;
conftest.py imports the fixtures. The GETs are sent after the test's body,
without its X-Request-Id, so nothing a test counts (audit rows, rate limits)
sees them.
"""
import re
import threading
import time
from urllib.parse import urlsplit

import psycopg2
import pytest
import requests

_state = {"created": [], "problems": [], "lock": threading.Lock(), "installed": False, "codes": None,
          "base": None, "checked": 0, "deleted": set()}


def _record(request, response):
    base = _state["base"]
    if not request.url.startswith(base):
        return
    if response.status_code == 201 and response.headers.get("Location"):
        try:
            created_id = response.json().get("id")
        except ValueError:
            created_id = None
        auth = request.headers.get("Authorization")
        with _state["lock"]:
            _state["created"].append((request.method, urlsplit(request.url).path, response.headers["Location"],
                                      created_id, auth))
    # An object the test itself deleted afterwards (DELETE answered 200) is
    # rightly gone from its Location.
    if request.method == "DELETE" and response.status_code == 200:
        with _state["lock"]:
            _state["deleted"].add(urlsplit(request.url).path)
    if response.headers.get("Content-Type", "").startswith("application/problem+json"):
        try:
            body = response.json()
        except ValueError:
            body = {}
        with _state["lock"]:
            _state["problems"].append((request.method, urlsplit(request.url).path, response.status_code, body))


def install(base):
    if _state["installed"]:
        return
    _state["base"] = base.rstrip("/")
    original = requests.Session.send

    def send(self, request, **kw):
        response = original(self, request, **kw)
        if not kw.get("stream"):
            _record(request, response)
        return response

    requests.Session.send = send
    _state["installed"] = True


def _listed_codes():
    """The codes /docs/problems lists (the ids of its <dt> entries)."""
    if _state["codes"] is None:
        page = requests.get(_state["base"] + "/docs/problems", timeout=10)
        assert page.status_code == 200, page.text
        _state["codes"] = set(re.findall(r'<dt id="([a-z_]+)">', page.text))
        assert _state["codes"], "/docs/problems lists no code"
    return _state["codes"]


def _client_left_the_creators_view(location, auth):
    """An API client is shown only to an admin holding every authority it
    holds: one that gained authorities after it was created (a test's
    authority maker) is rightly 404 to its creator. Whether that is so, read
    in the database."""
    m = re.fullmatch(r"/v1/clients/([0-9a-f-]{36})", location)
    k = re.fullmatch(r"Bearer pk_([0-9a-f]{32})_.*", auth or "")
    if m is None or k is None:
        return False
    h = k.group(1)
    creator = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    with psycopg2.connect(_state["dsn"]) as conn, conn.cursor() as c:
        c.execute("SELECT NOT (made.authority_ids <@ maker.authority_ids) FROM gateway.api_clients made,"
                  " gateway.api_clients maker WHERE made.id = %s AND maker.id = %s", (m.group(1), creator))
        row = c.fetchone()
    return bool(row and row[0])


def _get(location, auth):
    """GET location with the creator's key; a 429 or 503 is waited out."""
    headers = {"Authorization": auth} if auth else {}
    deadline = time.monotonic() + 20
    while True:
        r = requests.get(_state["base"] + location, headers=headers, timeout=10)
        if r.status_code not in (429, 503) or time.monotonic() > deadline:
            return r
        time.sleep(min(float(r.headers.get("Retry-After", "1")), 2.0))


@pytest.fixture(scope="session", autouse=True)
def recorder_session(env, stack_ready):
    _state["dsn"] = env["PARLEY_PG_DSN"]
    install(env["PARLEY_URL"])
    yield


@pytest.fixture(autouse=True)
def recorder_each_test(recorder_session):
    with _state["lock"]:
        _state["created"].clear()
        _state["problems"].clear()
        _state["deleted"].clear()
    yield
    with _state["lock"]:
        created, problems, deleted = list(_state["created"]), list(_state["problems"]), set(_state["deleted"])
        _state["created"].clear()
        _state["problems"].clear()
        _state["deleted"].clear()
    wrong = []
    codes = _listed_codes() if problems else set()
    for method, path, status, body in problems:
        code, detail = body.get("code"), body.get("detail")
        if code not in codes:
            wrong.append(f"{method} {path} -> {status}: code {code!r} is not listed at /docs/problems")
        if not isinstance(detail, str) or not detail.strip():
            wrong.append(f"{method} {path} -> {status}: no detail")
    for method, path, location, created_id, auth in created:
        r = _get(location, auth)
        if r.status_code == 404 and location in deleted:
            continue
        if r.status_code == 401:
            continue  # the creating key was revoked by the test itself: nothing left to read it with
        if r.status_code == 404 and _client_left_the_creators_view(location, auth):
            continue
        got = r.json().get("id") if r.status_code == 200 else None
        if r.status_code != 200 or (created_id is not None and got != created_id):
            wrong.append(f"{method} {path} -> 201 Location {location}: GET is {r.status_code} "
                         f"(id {got!r}, created {created_id!r}) {r.text[:200]}")
        _state["checked"] += 1
    if wrong:
        pytest.fail("answers that break the API's conventions:\n" + "\n".join(wrong[:20]), pytrace=False)


def locations_checked():
    """How many Locations have been read back so far in this run."""
    return _state["checked"]
