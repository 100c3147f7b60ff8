"""End-to-end fixtures: a running stack described by stack.env.

`scripts/run-tests` exports stack.env before running pytest; run by hand,
the tests read $PARLEY_VAR_DIR/stack.env (default var/stack.env).

Every test works in authorities of its own: `authority_a` and `authority_b`
are made for the test (through POST /v1/authorities), and `cw_a`, `cw_b`,
`admin` and `partner_a` are fresh API clients for them. So no test sees
another's families, cases or supporters, and the tests pass in any order
(`PYTEST_ADDOPTS=--random-order make test`).

Processes a test starts itself (fake consumers, a second gateway,
parley-admin) get `spawn_env()`: the stack's sanitizer options, so that
their AddressSanitizer/UBSan reports land in the stack's log dir, where
`no_sanitizer_reports` (after every test) and scripts/run-tests (at the
end) look for them.
"""
import datetime
import json
import os
import re
import shlex
import subprocess
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
import pytest
import requests

from contract import contract_each_test, contract_session  # noqa: F401 (every answer checked against the document)

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


def _abs(path):
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


VAR = _abs(ENV.get("PARLEY_VAR_DIR", "var"))
LOG_DIR = VAR / "log"
BIN = _abs(ENV.get("PARLEY_BIN_DIR", "build"))
LONDON = ZoneInfo("Europe/London")


def london_today():
    """Today's date in the UK: the day intake's deadline sweep, timeline and
    review dates count in (now() AT TIME ZONE 'Europe/London')."""
    return datetime.datetime.now(LONDON).date()


class Api:
    """A client with one API key."""

    def __init__(self, key):
        self.key = key
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


# --- waiting for a condition --------------------------------------------------

def wait_for(fn, timeout=15.0, every=0.1):
    """fn() until it returns something truthy (returned), or its last value
    once timeout seconds have passed. Polls; never sleeps past the deadline."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= end:
            return value
        time.sleep(min(every, max(0.0, end - time.monotonic())))


def readyz():
    try:
        r = requests.get(ENV["PARLEY_URL"] + "/readyz", timeout=5)
        return r.status_code, r.json()
    except (requests.RequestException, ValueError) as e:
        return None, str(e)


def wait_stack_ready(timeout=60.0):
    """Until /readyz is 200 with a worker for every service; the last answer
    is in the assertion's message otherwise."""
    last = {}

    def ready():
        last["r"] = readyz()
        status, body = last["r"]
        return status == 200 and isinstance(body, dict) and all(body.get("services", {"": False}).values())

    assert wait_for(ready, timeout, 0.2), f"the stack is not ready after {timeout} s: {last['r']}"


@pytest.fixture(scope="session")
def env():
    return ENV


def pytest_collection_finish(session):
    """With python3-pytest-random-order on (PYTEST_ADDOPTS=--random-order),
    says the seed even under -q, so a failing order can be run again with
    --random-order-seed=N."""
    try:
        from random_order.config import Config
    except ImportError:
        return
    order = Config(session.config)
    if order.is_enabled:
        bucket, seed = order.bucket_type, order.seed
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"random order: bucket {bucket}, seed {seed} "
                                f"(again: PYTEST_ADDOPTS='--random-order-bucket={bucket} --random-order-seed={seed}')")


@pytest.fixture(scope="session", autouse=True)
def stack_ready():
    """Waits until every service has a worker, so no test races start-up."""
    try:
        wait_stack_ready(60)
    except AssertionError as e:
        pytest.exit(str(e), returncode=3)


# --- the stack's processes and logs --------------------------------------------

def stack(*args, check=True, env=None):
    """Runs scripts/stack with the stack's environment (and env's additions)."""
    return subprocess.run([str(ROOT / "scripts" / "stack"), *args], cwd=ROOT, env={**ENV, **(env or {})},
                          check=check, capture_output=True, text=True, timeout=180)


def pids(service):
    return [int(p) for p in stack("pids", service).stdout.split()]


class Logs:
    """The JSON lines a component's logs ($VAR/log/NAME-N.log) gained since
    this object was made: Logs("broker").lines() -> [record, ...]."""

    def __init__(self, name):
        self.name = name
        self.start = {p: p.stat().st_size for p in LOG_DIR.glob(f"{name}-*.log")}

    def lines(self):
        out = []
        for path in sorted(LOG_DIR.glob(f"{self.name}-*.log")):
            with open(path, "rb") as f:
                f.seek(self.start.get(path, 0))
                data = f.read()
            for line in data.decode(errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    out.append(rec)
        return out

    def matching(self, pattern):
        rx = re.compile(pattern)
        return [r for r in self.lines() if rx.search(r.get("msg", ""))]


def scale(service, n, env=None):
    """scripts/stack scale SERVICE N; when that starts instances, returns
    once the broker has registered a worker for each (its log says so).
    Returns the PIDs."""
    before = set(pids(service))
    broker = Logs("broker")
    stack("scale", service, str(n), env=env)
    now = pids(service)
    assert len(now) == n, f"scale {service} {n}: running {now}"
    started = len(set(now) - before)
    if started:
        registered = wait_for(lambda: len(broker.matching(rf"^broker: {service} worker registered$")) >= started,
                              timeout=30)
        assert registered, f"scale {service} {n}: the broker registered {len(broker.matching(service))} " \
                           f"of {started} new workers within 30 s"
    return now


def log_time(rec):
    """A log record's "ts" (UTC, milliseconds) as seconds since the epoch."""
    return datetime.datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


_SANITIZER_ENV = None
SANITIZER_DIRS_FILE = LOG_DIR / "sanitizer-dirs"
SANITIZER_PATTERNS = ("asan*", "ubsan*", "lsan*")


def sanitizer_env(log_dir=None):
    """The sanitizer options the stack gives its own processes
    (scripts/lib/common.sh sanitizer_env, so the two never drift apart), as
    a dict; empty for an unsanitized build. With log_dir, reports go there
    instead, and the dir is recorded for scripts/run-tests's scan."""
    global _SANITIZER_ENV
    if _SANITIZER_ENV is None:
        script = '. "$ROOT/scripts/lib/common.sh"; VAR=$1; BIN=$2; sanitizer_env'
        out = subprocess.run(["bash", "-c", script, "sanitizer-env", str(VAR), str(BIN)],
                             env={**os.environ, "ROOT": str(ROOT)}, check=True, capture_output=True,
                             text=True, timeout=30).stdout
        _SANITIZER_ENV = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    got = dict(_SANITIZER_ENV)
    if log_dir is not None and got:
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        got = {k: v.replace(str(LOG_DIR), str(log_dir)) for k, v in got.items()}
        with open(SANITIZER_DIRS_FILE, "a") as f:
            f.write(f"{log_dir}\n")
    return got


def spawn_env(log_dir=None, **extra):
    """The environment for a process a test starts: the stack's, with its
    sanitizer options (reports collected like the stack's own), plus extra."""
    return {**ENV, **sanitizer_env(log_dir), **extra}


def sanitizer_files():
    dirs = [LOG_DIR]
    if SANITIZER_DIRS_FILE.exists():
        dirs += [Path(d) for d in SANITIZER_DIRS_FILE.read_text().split() if d]
    found = {}
    for d in dirs:
        for pattern in SANITIZER_PATTERNS:
            for p in d.rglob(pattern):
                if p.is_file():
                    found[p] = p.stat().st_size
    return found


@pytest.fixture(autouse=True)
def no_sanitizer_reports():
    """Fails the test during which a process wrote a sanitizer report (the
    processes this test started, or the stack's). scripts/run-tests scans
    again once the stack is down, for reports written at exit."""
    before = sanitizer_files()
    yield
    new = {p: n for p, n in sanitizer_files().items() if n > before.get(p, 0)}
    if new:
        text = "\n".join(f"== {p}\n{p.read_text(errors='replace')[:4000]}" for p in sorted(new))
        pytest.fail(f"sanitizer: a process reported an error during this test:\n{text}", pytrace=False)


def fake_consumer(service, delay_ms=0):
    """tests/helpers/fake_consumer.c as SERVICE: answers Deliver with OK
    (after delay_ms), prints each event as a JSON line on stdout."""
    binary = BIN / "tests" / "fake-consumer"
    log = open(LOG_DIR / f"fake-consumer-{service}-{uuid.uuid4().hex[:6]}.log", "w")
    try:
        return subprocess.Popen([str(binary), service, str(delay_ms)], cwd=ROOT,
                                env=spawn_env(PARLEY_LOG_LEVEL="warn"), stdout=subprocess.PIPE, stderr=log,
                                text=True)
    finally:
        log.close()


def consumed(proc):
    """Stops a fake consumer; the events it printed, in order."""
    proc.terminate()
    out = proc.communicate(timeout=30)[0]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# --- authorities and clients of a test's own -------------------------------------

# Whoever creates an authority is granted it (and the gateway that answered
# forgets its cached principal at once), so a "maker" key of the demo
# consortium creates them; a fresh maker every MAKER_QUOTA authorities keeps
# each key's list short. _owner remembers which maker holds which authority,
# so that a client for a test's authorities is made by the key holding them.
MAKER_QUOTA = 40
_maker = {"api": None, "made": 0}
_owner = {}


def _seed_admin():
    return Api(ENV["PARLEY_KEY_ADMIN"])


def _maker_api(room):
    if _maker["api"] is None or _maker["made"] + room > MAKER_QUOTA:
        r = _seed_admin().post("/v1/clients", {"name": "tests: authority maker", "roles": ["consortium_admin"],
                                               "authorityIds": [ENV["PARLEY_AUTHORITY_A"]]})
        assert r.status_code == 201, r.text
        _maker["api"], _maker["made"] = Api(r.json()["key"]), 0
    return _maker["api"]


def new_authorities(n=1, label="test"):
    """n fresh authorities of the demo consortium, all held by one maker key."""
    maker = _maker_api(n)
    out = []
    while len(out) < n:
        code = "E0%07d" % (uuid.uuid4().int % 10**7)
        r = maker.post("/v1/authorities", {"code": code, "name": f"{label} {code}"})
        if r.status_code == 409:  # that code is taken: draw another
            continue
        assert r.status_code == 201, r.text
        _maker["made"] += 1
        out.append(r.json()["id"])
        _owner[out[-1]] = maker
    return out


def make_client(roles, authority_ids, name=None, **extra):
    """A new API client of the demo consortium with these roles and
    authorities (and extra fields of the body, e.g. supporterId); returns
    its key (pk_<id>_<secret>). Authorities from
    new_authorities are granted by the maker holding them, the demo's own
    by the demo admin. Each call is a fresh client, so a test that spends a
    client's rate limit never touches another test's."""
    authority_ids = list(authority_ids)
    makers = {id(_owner.get(a)): _owner.get(a) for a in authority_ids}
    assert len(makers) == 1, f"the authorities {authority_ids} are not all held by one key"
    granter = next(iter(makers.values())) or _seed_admin()
    body = {"name": name or f"test client {uuid.uuid4().hex[:8]}", "roles": list(roles),
            "authorityIds": authority_ids, **extra}
    r = granter.post("/v1/clients", body)
    for _ in range(50):  # a key learns a new authority within its cache time on other gateways
        if r.status_code != 400:
            break
        time.sleep(0.1)
        r = granter.post("/v1/clients", body)
    assert r.status_code == 201, r.text
    return r.json()["key"]


class Tenancy:
    """A test's own authorities A and B (made together, on first use) and
    its clients: caseworkers of A and of B, a consortium admin of both, a
    partner agency of A."""

    def __init__(self):
        self._ab = None
        self._clients = {}

    @property
    def a(self):
        return self._pair()[0]

    @property
    def b(self):
        return self._pair()[1]

    def _pair(self):
        if self._ab is None:
            self._ab = new_authorities(2, "Test authority")
        return self._ab

    def client(self, name, roles, authorities):
        if name not in self._clients:
            self._clients[name] = Api(make_client(roles, authorities, name=f"test {name}"))
        return self._clients[name]


@pytest.fixture
def tenancy():
    return Tenancy()


@pytest.fixture
def authority_a(tenancy):
    return tenancy.a


@pytest.fixture
def authority_b(tenancy):
    return tenancy.b


@pytest.fixture
def cw_a(tenancy):
    return tenancy.client("caseworker A", ["caseworker"], [tenancy.a])


@pytest.fixture
def cw_b(tenancy):
    return tenancy.client("caseworker B", ["caseworker"], [tenancy.b])


@pytest.fixture
def admin(tenancy):
    return tenancy.client("admin A+B", ["consortium_admin"], [tenancy.a, tenancy.b])


@pytest.fixture
def partner_a(tenancy):
    return tenancy.client("partner A", ["partner_agency"], [tenancy.a])


@pytest.fixture
def seed_admin():
    """The demo consortium's seeded admin (both demo authorities)."""
    return _seed_admin()


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
    """A case; wantsSupporter=True (pass it) also puts the family on
    matching's waiting list, through intake's case.supporter_requested."""
    body = {
        "authorityId": authority_id,
        "familyId": family["id"],
        "childId": family["children"][0]["id"],
        "source": "school",
        "needs": ["information", "supporter"],
        "wantsSupporter": False,
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


def client_id_of(key):
    """The client id a key names: pk_<32 hex>_... -> the UUID."""
    h = key.split("_")[1]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# After every test: each 201's Location GETs, each problem has a listed code.
from recorder import recorder_each_test, recorder_session  # noqa: E402,F401
