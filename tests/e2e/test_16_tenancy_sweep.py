"""The tenancy sweep, generated from the live OpenAPI document.

For every documented operation on a path with a parameter, authority B's
caseworker calls it on an object of authority A and must get 404, exactly as
if the object did not exist (an operation whose roles leave caseworkers out
is 403 for them, before any lookup). A consortium admin of another
consortium, made for the test, must get 404 from every operation admins may
call. Afterwards A's objects read exactly as before: no call changed them.

The sweep needs an object of authority A for each path: REGISTRY maps a path
prefix to a function making one. Adding a route with a path parameter means
adding (or reusing) a prefix here; a documented path that no prefix covers
fails the test.
"""
import re
import subprocess
import uuid
import warnings

import pytest

from conftest import ENV, ROOT, Api, case_body, family_body, spawn_env
from webhook_helpers import sweep_url
from young_helpers import LINK_BODY, young_person_body

# Paths with a parameter that were routed when the sweep was written. One of
# these without a REGISTRY prefix fails the test; a path routed later that no
# prefix covers is reported as a warning until a prefix is added for it (and
# then it is swept like the rest).
ROUTED_WHEN_WRITTEN = {
    "/v1/clients/{id}",
    "/v1/families/{id}",
    "/v1/children/{id}/views",
    "/v1/cases/{id}",
    "/v1/cases/{id}/consent/withdraw",
    "/v1/cases/{id}/close",
    "/v1/cases/{id}/stages",
    "/v1/cases/{id}/stages/{stageId}",
    "/v1/cases/{id}/timeline",
    "/v1/cases/{id}/signposts",
    "/v1/agencies/{id}",
    "/v1/resources/{id}",
    "/v1/referrals/{id}",
}


class Owner:
    """Makes objects of authority A, each kind once, through the public API."""

    def __init__(self, authority, caseworker, admin):
        self.a = authority
        self.cw = caseworker
        self.admin = admin
        self.made = {}

    def once(self, kind, make):
        if kind not in self.made:
            self.made[kind] = make()
        return self.made[kind]

    def created(self, api, path, body):
        r = api.post(path, body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code in (200, 201), f"making an object of authority A: POST {path}: {r.status_code} {r.text}"
        return r.json()

    def family(self):
        return self.once("family", lambda: self.created(self.cw, "/v1/families", family_body(self.a)))

    def case(self):
        return self.once("case", lambda: self.created(self.cw, "/v1/cases", case_body(self.a, self.family())))

    def stage(self):
        return self.once("stage", lambda: self.created(
            self.cw, f"/v1/cases/{self.case()['id']}/stages", {"stage": "assessment_requested", "on": "2024-01-10"}))

    def view(self):
        return self.once("view", lambda: self.created(
            self.cw, f"/v1/children/{self.family()['children'][0]['id']}/views",
            {"recordedOn": "2024-01-10", "method": "conversation", "summary": "Sweep.", "recordedBy": "A"}))

    def signpost(self):
        return self.once("signpost", lambda: self.created(
            self.cw, f"/v1/cases/{self.case()['id']}/signposts",
            {"agencyId": self.agency()["id"], "on": "2024-01-10", "method": "email"}))

    def client(self):
        return self.once("client", lambda: self.created(
            self.admin, "/v1/clients",
            {"name": "tenancy sweep", "roles": ["caseworker"], "authorityIds": [self.a]}))

    def agency(self):
        return self.once("agency", lambda: self.created(
            self.cw, "/v1/agencies",
            {"name": "Sweep Parent Carer Forum", "kind": "parent_carer_forum", "authorityIds": [self.a],
             "needs": ["autism"], "languages": ["en"]}))

    def resource(self):
        return self.once("resource", lambda: self.created(
            self.cw, "/v1/resources",
            {"key": f"sweep-{uuid.uuid4().hex[:8]}", "title": "Local offer", "topic": "options", "language": "en",
             "format": "standard", "body": "Local information.", "reviewDueOn": "2030-01-01",
             "authorityIds": [self.a]}))

    def supporter(self):
        # Paused, so that no family waiting in A is offered to it while the sweep reads it.
        return self.once("supporter", lambda: self.created(
            self.cw, "/v1/supporters",
            {"givenName": "Sweep", "familyName": "Paused", "authorityIds": [self.a], "languages": ["en"],
             "capacity": 1, "vettingExpiresOn": "2035-01-01", "status": "paused"}))

    def _offered(self):
        """A match request of A offered to a supporter of A (who alone speaks Cornish)."""
        self.once("offering supporter", lambda: self.created(
            self.cw, "/v1/supporters",
            {"givenName": "Sweep", "familyName": "Offered", "authorityIds": [self.a], "languages": ["kw", "en"],
             "capacity": 50, "vettingExpiresOn": "2035-01-01"}))
        case = self.created(self.cw, "/v1/cases", case_body(self.a, self.family(), wantsSupporter=False))
        mr = self.created(self.cw, "/v1/match-requests",
                          {"caseId": case["id"], "preferences": {"languages": ["kw"], "requireLanguage": True}})
        assert mr.get("currentOffer"), f"no offer for the sweep's match request: {mr}"
        return mr

    # Young people as clients (tests/e2e/test_48_young_people.py).
    def young_person(self):
        return self.once("young person", lambda: self.created(self.cw, "/v1/young-people", young_person_body(self.a)))

    def linked_parent(self):
        return self.once("linked parent", lambda: self.created(
            self.cw, f"/v1/young-people/{self.young_person()['id']}/parents", LINK_BODY))

    def young_person_view(self):
        return self.once("young person view", lambda: self.created(
            self.cw, f"/v1/young-people/{self.young_person()['id']}/views",
            {"recordedOn": "2024-01-10", "method": "conversation", "summary": "Sweep.", "recordedBy": "A"}))

    def match_request(self):
        return self.once("match request", self._offered)

    def template(self):
        return self.once("template", lambda: self._put(
            f"/v1/templates/sweep-{uuid.uuid4().hex[:8]}",
            {"authorityId": self.a, "translations": [{"language": "en", "subject": "S ((name))", "body": "B"}]}))

    def notification(self):
        return self.once("notification", lambda: self._sent(
            {"authorityId": self.a, "template": self.template()["key"], "data": {"name": "Sweep"},
             "recipient": {"email": "sweep@example.org"}, "category": "sweep"}))

    def contact_preferences(self):
        # contacts: a parent of A's family, with preferences set.
        return self.once("contact_preferences", lambda: self._put(
            f"/v1/contacts/{self.family()['parents'][0]['id']}/preferences", {"channels": ["email"]}))

    def webhook(self):
        # A consortium admin's (a caseworker may not make one); where nothing listens.
        return self.once("webhook", lambda: self.created(
            self.admin, "/v1/webhooks",
            {"authorityId": self.a, "url": sweep_url(f"sweep/{uuid.uuid4().hex}"), "eventTypes": ["case.closed"]}))

    def _put(self, path, body):
        r = self.cw.s.put(self.cw.base + path, json=body, timeout=10)
        assert r.status_code == 200, f"making an object of authority A: PUT {path}: {r.status_code} {r.text}"
        return r.json()

    def _sent(self, body):
        r = self.cw.post("/v1/notifications", body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 202, f"making an object of authority A: POST /v1/notifications: {r.status_code} {r.text}"
        return r.json()

    def calendar(self):
        def make():
            owner = str(uuid.uuid4())
            return self._put(f"/v1/calendars/{owner}/availability",
                             {"authorityId": self.a, "ownerKind": "room",
                              "weekly": [{"weekday": 1, "start": "10:00", "end": "12:00"}]})
        return self.once("calendar", make)

    def appointment(self):
        return self.once("appointment", lambda: self.created(self.cw, "/v1/appointments", {
            "authorityId": self.a, "caseId": self.case()["id"], "kind": "school_meeting",
            "start": "2027-01-04T10:00:00Z", "end": "2027-01-04T11:00:00Z",
            "location": {"kind": "phone", "phone": "0113 496 0000"},
            "participants": [{"kind": "room", "calendarOwnerId": self.calendar()["ownerId"], "name": "Room 1"}]}))

    def session(self):
        return self.once("session", lambda: self.created(self.cw, "/v1/sessions", {
            "authorityId": self.a, "title": "Sweep", "kind": "support_group", "audience": ["parents"], "capacity": 5,
            "start": "2027-01-04T18:00:00Z", "end": "2027-01-04T19:00:00Z",
            "location": {"kind": "in_person", "address": "Hall"}}))

    def session_booking(self):
        return self.once("session booking", lambda: self.created(
            self.cw, f"/v1/sessions/{self.session()['id']}/bookings", {"name": "Sweep"}))
    # Training (issue 15): a course, a session, a completion and its person, requirements.
    def course(self):
        return self.once("course", lambda: self.created(self.cw, "/v1/courses", {
            "authorityId": self.a, "code": f"SWEEP-{uuid.uuid4().hex[:8]}", "title": "Sweep", "audience": ["teacher"],
            "level": 1, "validForMonths": 12, "delivery": "online"}))

    def training_session(self):
        return self.once("training_session", lambda: self.created(self.cw, "/v1/training-sessions", {
            "courseId": self.course()["id"], "trainer": "A", "capacity": 5, "on": "2024-01-10"}))

    def completion(self):
        return self.once("completion", lambda: self.created(self.cw, "/v1/completions", {
            "person": {"name": "Sweep", "organisation": {"urn": "100000"}, "role": "teacher"},
            "courseId": self.course()["id"], "completedOn": "2024-01-10"}))

    def requirements(self):
        def make():
            r = self.cw.s.put(self.cw.base + "/v1/requirements/governor", timeout=10,
                              json={"authorityId": self.a, "courses": [{"courseId": self.course()["id"]}]})
            assert r.status_code == 200, f"making an object of authority A: PUT requirements: {r.status_code} {r.text}"
            return r.json()
        return self.once("requirements", make)

    def assignment(self):
        def make():
            offer = self._offered()["currentOffer"]["id"]
            r = self.cw.post(f"/v1/offers/{offer}/accept", {})
            assert r.status_code == 200, r.text
            return {"id": r.json()["assignmentId"]}
        return self.once("assignment", make)


# Path prefix -> the path parameters of an object of authority A. The longest
# prefix that covers a path (equal to it, or followed by "/") is used.
REGISTRY = {
    "/v1/clients/{id}": lambda o: {"id": o.client()["id"]},
    "/v1/families/{id}": lambda o: {"id": o.family()["id"]},
    "/v1/children/{id}": lambda o: {"id": o.family()["children"][0]["id"]},
    "/v1/children/{id}/views/{viewId}": lambda o: {"id": o.family()["children"][0]["id"], "viewId": o.view()["id"]},
    "/v1/cases/{id}/signposts/{signpostId}": lambda o: {"id": o.case()["id"], "signpostId": o.signpost()["id"]},
    "/v1/authorities/{id}": lambda o: {"id": o.a},
    "/v1/cases/{id}": lambda o: {"id": o.case()["id"]},
    "/v1/cases/{id}/stages/{stageId}": lambda o: {"id": o.case()["id"], "stageId": o.stage()["id"]},
    "/v1/agencies/{id}": lambda o: {"id": o.agency()["id"]},
    "/v1/resources/{id}": lambda o: {"id": o.resource()["id"]},
    "/v1/referrals/{id}": lambda o: {"id": o.case()["id"]},
    "/v1/supporters/{id}": lambda o: {"id": o.supporter()["id"]},
    "/v1/match-requests/{id}": lambda o: {"id": o.match_request()["id"]},
    "/v1/offers/{id}": lambda o: {"id": o.match_request()["currentOffer"]["id"]},
    "/v1/assignments/{id}": lambda o: {"id": o.assignment()["id"]},
    "/v1/young-people/{id}": lambda o: {"id": o.young_person()["id"]},
    "/v1/young-people/{id}/parents/{parentId}": lambda o: {"id": o.young_person()["id"],
                                                          "parentId": o.linked_parent()["id"]},
    "/v1/young-people/{id}/views/{viewId}": lambda o: {"id": o.young_person()["id"],
                                                      "viewId": o.young_person_view()["id"]},
    "/v1/templates/{key}": lambda o: {"key": o.template()["key"]},
    "/v1/notifications/{id}": lambda o: {"id": o.notification()["id"]},
    "/v1/contacts/{personId}": lambda o: {"personId": o.contact_preferences()["personId"]},
    "/v1/calendars/{ownerId}": lambda o: {"ownerId": o.calendar()["ownerId"]},
    "/v1/appointments/{id}": lambda o: {"id": o.appointment()["id"]},
    # ics: the .ics answer, and the feed (keyless: B holds no token of A's; a made-up one).
    "/v1/appointments/{id}.ics": lambda o: {"id": o.appointment()["id"]},
    "/v1/calendars/{ownerId}.ics": lambda o: {"ownerId": o.calendar()["ownerId"], "?": "token=ft_" + "A" * 43},
    "/v1/sessions/{id}": lambda o: {"id": o.session()["id"]},
    "/v1/sessions/{id}/bookings/{bookingId}": lambda o: {"id": o.session()["id"],
                                                        "bookingId": o.session_booking()["id"]},
    "/v1/bookings/{id}": lambda o: {"id": o.session_booking()["id"]},
    "/v1/webhooks/{id}": lambda o: {"id": o.webhook()["id"]},
    "/v1/courses/{id}": lambda o: {"id": o.course()["id"]},
    "/v1/training-sessions/{id}": lambda o: {"id": o.training_session()["id"]},
    "/v1/completions/{id}": lambda o: {"id": o.completion()["id"]},
    "/v1/people/{id}": lambda o: {"id": o.completion()["personId"]},
    "/v1/requirements/{role}": lambda o: {"role": o.requirements()["role"]},
}

# Bodies that pass validation, so that only the tenancy check can refuse.
# Any other write is sent {}.
BODIES = {
    ("POST", "/v1/children/{id}/views"): {"recordedOn": "2024-01-10", "method": "conversation",
                                          "summary": "Likes the quiet room.", "recordedBy": "B"},
    ("POST", "/v1/cases/{id}/stages"): {"stage": "assessment_requested", "on": "2024-01-10"},
    ("PATCH", "/v1/cases/{id}/stages/{stageId}"): {"on": "2024-01-11"},
    ("POST", "/v1/cases/{id}/close"): {"outcome": "resolved", "reason": "tenancy sweep"},
    ("POST", "/v1/cases/{id}/consent/withdraw"): {"reason": "tenancy sweep", "withdrawnBy": "B"},
    ("POST", "/v1/cases/{id}/signposts"): {"agencyId": str(uuid.uuid4()), "on": "2024-01-10", "method": "email"},
    ("POST", "/v1/young-people/{id}/parents"): LINK_BODY,
    ("POST", "/v1/young-people/{id}/views"): {"recordedOn": "2024-01-10", "method": "conversation",
                                              "summary": "Wants to stay at college.", "recordedBy": "B"},
    ("PATCH", "/v1/young-people/{id}"): {"phone": "07700 900111"},
    ("PUT", "/v1/templates/{key}"): {"translations": [{"language": "en", "subject": "S", "body": "B"}]},
    ("PUT", "/v1/contacts/{personId}/preferences"): {"channels": ["sms"], "optOuts": ["case_updates"]},
    ("PUT", "/v1/calendars/{ownerId}/availability"): {"ownerKind": "room"},
    ("PATCH", "/v1/appointments/{id}"): {"start": "2027-01-04T12:00:00Z", "end": "2027-01-04T13:00:00Z"},
    ("POST", "/v1/appointments/{id}/cancel"): {"reason": "tenancy sweep"},
    ("POST", "/v1/sessions/{id}/cancel"): {"reason": "tenancy sweep"},
    ("POST", "/v1/sessions/{id}/bookings"): {"name": "B"},
    ("POST", "/v1/training-sessions/{id}/attendance"): {"attendees": [{"name": "B", "organisation": {"urn": "100000"},
                                                                       "role": "teacher"}]},
}

METHODS = ("get", "put", "post", "delete", "patch")
PARAM = re.compile(r"\{([^}/]+)\}")


def prefix_for(path):
    covering = [p for p in REGISTRY if path == p or path.startswith(p + "/")]
    return max(covering, key=len) if covering else None


def call(api, method, path, params):
    url = PARAM.sub(lambda m: params.get(m.group(1), str(uuid.uuid4())), path)
    if "?" in params:  # ics: a query the route needs (the feed's token)
        url += "?" + params["?"]
    headers = {}
    kw = {"timeout": 10, "headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kw["json"] = BODIES.get((method, path), {})
        headers["Idempotency-Key"] = str(uuid.uuid4())
        headers["If-Match"] = '"1"'
    return api.s.request(method, api.base + url, **kw)


@pytest.fixture(scope="module")
def other_consortium_admin():
    """The consortium admin of a second consortium, seeded by parley-admin
    the way scripts/stack seeds the demo one."""
    var = ROOT / ENV.get("PARLEY_VAR_DIR", "var")
    if not var.is_absolute():
        var = ROOT / var
    binary = ROOT / ENV.get("PARLEY_BIN_DIR", "build") / "parley-admin"
    secret = var / "secret"
    if not binary.exists() or not secret.exists():
        pytest.skip(f"needs {binary} and {secret} to seed a second consortium")
    # As the gateway's own role: its tables live in its schema.
    dsn = re.sub(r"\buser=\S+", "user=parley_gateway", ENV["PARLEY_PG_DSN"])
    env = spawn_env(PARLEY_PG_DSN=dsn, PARLEY_KEY_SECRET=secret.read_text().strip(), PARLEY_LOG_LEVEL="error")
    p = subprocess.run([str(binary), "seed"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    keys = dict(line.split("=", 1) for line in p.stdout.splitlines() if line.startswith("PARLEY_"))
    return Api(keys["PARLEY_KEY_ADMIN"])


def test_another_authority_gets_404_on_every_object_path(anon, authority_a, cw_a, admin, cw_b, other_consortium_admin):
    doc = anon.get("/v1/openapi.json").json()
    owner = Owner(authority_a, cw_a, admin)
    ops = [(path, method.upper(), item[method]) for path, item in doc["paths"].items() for method in METHODS
           if method in item and PARAM.search(path)]
    assert ops, "the document has no path with a parameter"

    unregistered = sorted({p for p, _, _ in ops if prefix_for(p) is None})
    missing = [p for p in unregistered if p in ROUTED_WHEN_WRITTEN]
    assert not missing, (f"add an entry to REGISTRY in {__file__} for: {', '.join(missing)} "
                         "(a function making an object of authority A), so the tenancy sweep covers it")
    for p in unregistered:
        warnings.warn(f"tenancy sweep: no REGISTRY prefix covers {p}; add one in {__file__}")

    # What A's own caseworker reads before, to prove that nothing changed.
    swept = [(p, m, op, REGISTRY[prefix_for(p)](owner)) for p, m, op in ops if prefix_for(p) is not None]
    before = {(p, m): call(owner.cw, m, p, params).text for p, m, op, params in swept
              if m == "GET" and "caseworker" in op["x-parley-roles"]}

    wrong = []
    for path, method, op, params in swept:
        roles = op["x-parley-roles"]
        # ics: a route reached without a key (security: []) answers every miss 404.
        want = 404 if "caseworker" in roles or op.get("security") == [] else 403
        r = call(cw_b, method, path, params)
        if r.status_code != want:
            wrong.append(f"B's caseworker: {method} {path} -> {r.status_code} (want {want}) {r.text[:300]}")
        if "consortium_admin" in roles:
            r = call(other_consortium_admin, method, path, params)
            if r.status_code != 404:
                wrong.append(f"another consortium's admin: {method} {path} -> {r.status_code} (want 404) "
                             f"{r.text[:300]}")
    assert not wrong, "tenancy: another authority reached (or learned of) A's objects:\n" + "\n".join(wrong)

    for (path, method), text in before.items():
        params = next(pr for p, m, _, pr in swept if (p, m) == (path, method))
        assert call(owner.cw, method, path, params).text == text, f"{method} {path} changed during the sweep"
