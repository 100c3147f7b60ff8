"""End-to-end fixtures: a running stack described by stack.env.

`scripts/run-tests` exports stack.env before running pytest; run by hand,
the tests read $PARLEY_VAR_DIR/stack.env (default var/stack.env).
"""
import os
import shlex
import subprocess
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _load_env():
    if os.environ.get("PARLEY_URL") and os.environ.get("PARLEY_KEY_ADMIN"):
        return dict(os.environ)
    var = Path(os.environ.get("PARLEY_VAR_DIR", ROOT / "var"))
    if not var.is_absolute():
        var = ROOT / var
    env = dict(os.environ)
    for line in (var / "stack.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            env[k] = shlex.split(v)[0] if v else ""
    return env


ENV = _load_env()


class Api:
    """A client with one API key."""

    def __init__(self, key):
        self.base = ENV["PARLEY_URL"]
        self.s = requests.Session()
        if key:
            self.s.headers["Authorization"] = f"Bearer {key}"

    def get(self, path, **kw):
        kw.setdefault("timeout", 10)
        return self.s.get(self.base + path, **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("timeout", 10)
        if body is not None:
            kw["json"] = body
        return self.s.post(self.base + path, **kw)


@pytest.fixture(scope="session")
def env():
    return ENV


@pytest.fixture(scope="session", autouse=True)
def stack_ready():
    """Waits until every service has a worker, so no test races start-up."""
    deadline = time.time() + 60
    last = None
    while time.time() < deadline:
        try:
            last = requests.get(ENV["PARLEY_URL"] + "/readyz", timeout=5)
            if last.status_code == 200 and all(last.json()["services"].values()):
                return
        except requests.RequestException as e:
            last = e
        time.sleep(0.5)
    pytest.exit(f"stack not ready: {last}", returncode=3)


@pytest.fixture(scope="session")
def authority_a():
    return ENV["PARLEY_AUTHORITY_A"]


@pytest.fixture(scope="session")
def authority_b():
    return ENV["PARLEY_AUTHORITY_B"]


@pytest.fixture
def cw_a():
    return Api(ENV["PARLEY_KEY_CASEWORKER_A"])


@pytest.fixture
def cw_b():
    return Api(ENV["PARLEY_KEY_CASEWORKER_B"])


@pytest.fixture
def admin():
    return Api(ENV["PARLEY_KEY_ADMIN"])


@pytest.fixture
def partner_a():
    return Api(ENV["PARLEY_KEY_PARTNER_A"])


@pytest.fixture
def anon():
    return Api(None)


@pytest.fixture
def db():
    """A superuser connection, to check what reached PostgreSQL."""
    conn = psycopg2.connect(ENV["PARLEY_PG_DSN"])
    conn.autocommit = True
    yield conn
    conn.close()


def family_body(authority_id, **over):
    tag = uuid.uuid4().hex[:8]
    body = {
        "authorityId": authority_id,
        "parents": [
            {
                "givenName": "Amina",
                "familyName": f"Yusuf-{tag}",
                "email": "amina@example.org",
                "phone": "+44 20 7946 0000",
                "address": {"line1": "1 High Street", "town": "London", "postcode": "W1 1AA"},
                "preferredLanguage": "so",
                "communicationNeeds": ["interpreter", "easy_read"],
                "hasParentalResponsibility": True,
                "relationship": "mother",
            },
            {
                "givenName": "Omar",
                "familyName": f"Yusuf-{tag}",
                "preferredLanguage": "en",
                "hasParentalResponsibility": True,
                "relationship": "father",
            },
        ],
        "children": [
            {
                "givenName": "Sami",
                "familyName": f"Yusuf-{tag}",
                "dateOfBirth": "2016-03-14",
                "school": {"urn": "100000", "name": "St Mary's Primary"},
                "needs": ["autism", "speech and language"],
                "planStatus": "sen_support",
            }
        ],
    }
    body.update(over)
    return body


def case_body(authority_id, family, **over):
    body = {
        "authorityId": authority_id,
        "familyId": family["id"],
        "childId": family["children"][0]["id"],
        "source": "school",
        "needs": ["information", "supporter"],
        "wantsSupporter": True,
        "summary": "Parent asks about requesting an EHC needs assessment.",
        "consent": {"shareWithAgencies": True, "lawfulBasis": "public_task", "givenBy": "Amina Yusuf"},
    }
    body.update(over)
    return body


@pytest.fixture
def family_a(cw_a, authority_a):
    r = cw_a.post("/v1/families", family_body(authority_a))
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def case_a(cw_a, authority_a, family_a):
    r = cw_a.post("/v1/cases", case_body(authority_a, family_a))
    assert r.status_code == 201, r.text
    return r.json()


def stack(*args, check=True):
    """Runs scripts/stack with the stack's environment."""
    return subprocess.run([str(ROOT / "scripts" / "stack"), *args], cwd=ROOT, env=ENV, check=check,
                          capture_output=True, text=True, timeout=180)


def make_client(roles, authority_ids, name=None):
    """A new API client of the demo consortium with these roles and
    authorities, made by the demo admin through POST /v1/clients; returns its
    key (pk_<id>_<secret>). Each call is a fresh client, so a test that spends
    a client's rate limit never touches another test's."""
    body = {"name": name or f"test client {uuid.uuid4().hex[:8]}", "roles": list(roles),
            "authorityIds": list(authority_ids)}
    r = Api(ENV["PARLEY_KEY_ADMIN"]).post("/v1/clients", body)
    assert r.status_code == 201, r.text
    return r.json()["key"]


def client_id_of(key):
    """The client id a key names: pk_<32 hex>_... -> the UUID."""
    h = key.split("_")[1]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# After every test: each 201's Location GETs, each problem has a listed code.
from recorder import recorder_each_test, recorder_session  # noqa: E402,F401
