"""Helpers the matching end-to-end tests share (test_60 ... test_64).

Supporters are shared across a consortium, so each test gets authorities of
its own (the `tenant` fixture): two fresh authorities X and Y with a
caseworker key for each, a consortium admin for both, a supporter key and an
analyst key for X. Nothing another test makes can then be a candidate.

A supporter key is bound to one supporter: `tenant.supporter_x` is made on
first use for X's first supporter (made then if X has none), and
`tenant.supporter_key(supporter)` makes one for any other."""
import time
import uuid

import pytest

from conftest import ENV, Api

# Whoever creates an authority is granted it, and a key holds at most 64
# authorities; so authorities are made by throwaway creator keys, a fresh one
# every CREATOR_QUOTA authorities, and the seeded admin gains none.
CREATOR_QUOTA = 40
_creator = {"api": None, "made": 0}


def _creator_api(seed_admin):
    if _creator["api"] is None or _creator["made"] >= CREATOR_QUOTA:
        r = seed_admin.post("/v1/clients", {"name": "matching tests: authority maker", "roles": ["consortium_admin"],
                                            "authorityIds": [ENV["PARLEY_AUTHORITY_A"]]})
        assert r.status_code == 201, r.text
        _creator["api"], _creator["made"] = Api(r.json()["key"]), 0
    return _creator["api"]


class Tenant:
    def __init__(self, seed_admin):
        self.maker = _creator_api(seed_admin)
        self.x = self._authority("X")
        self.y = self._authority("Y")
        self.cw_x = self._client(["caseworker"], [self.x])
        self.cw_y = self._client(["caseworker"], [self.y])
        self.admin = self._client(["consortium_admin"], [self.x, self.y])
        self.analyst_x = self._client(["analyst"], [self.x])
        self._supporter_x = None

    @property
    def supporter_x(self):
        """A supporter key for the first supporter serving X, oldest first."""
        if self._supporter_x is None:
            r = self.cw_x.get("/v1/supporters", params={"authorityId": self.x, "pageSize": 1})
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            self._supporter_x = self.supporter_key(items[0] if items else make_supporter(self.cw_x, [self.x]))
        return self._supporter_x

    def supporter_key(self, supporter, authorities=None):
        """A supporter-role key bound to supporter, for X unless told."""
        return self._client(["supporter"], authorities or [self.x], supporterId=supporter["id"])

    def _authority(self, name):
        code = "E0%07d" % (uuid.uuid4().int % 10**7)
        r = self.maker.post("/v1/authorities", {"code": code, "name": f"Matching test {name} {code}"})
        assert r.status_code == 201, r.text
        _creator["made"] += 1
        return r.json()["id"]

    def _client(self, roles, authorities, **extra):
        for _ in range(50):  # the maker's key learns its new authority within its cache time
            r = self.maker.post("/v1/clients", {"name": f"matching {'/'.join(roles)}", "roles": roles,
                                                "authorityIds": authorities, **extra})
            if r.status_code == 201:
                return Api(r.json()["key"])
            assert r.status_code == 400, r.text
            time.sleep(0.2)
        raise AssertionError(f"could not make a {roles} client: {r.text}")


@pytest.fixture
def tenant(admin):
    return Tenant(admin)


def supporter_body(authority_ids, **over):
    body = {
        "givenName": "Sam",
        "familyName": f"Supporter-{uuid.uuid4().hex[:6]}",
        "email": "sam@example.org",
        "authorityIds": authority_ids,
        "languages": ["en"],
        "specialisms": [],
        "capacity": 3,
        "vettingExpiresOn": "2030-01-01",
        "areas": [],
    }
    body.update(over)
    return body


def make_supporter(api, authority_ids, **over):
    r = api.post("/v1/supporters", supporter_body(authority_ids, **over))
    assert r.status_code == 201, r.text
    return r.json()


def make_case(api, authority, language="en", needs=("autism",), postcode="N1 7AA", comm=(), second_language=None,
              wants_supporter=False, born="2015-05-01"):
    """A family (one parent, or two with second_language) and an open case."""
    parents = [{"givenName": "Ana", "familyName": "Family", "preferredLanguage": language,
                "communicationNeeds": list(comm), "hasParentalResponsibility": True, "relationship": "mother",
                "address": {"line1": "1 Road", "town": "London", "postcode": postcode}}]
    if second_language:
        parents.append({"givenName": "Ben", "familyName": "Family", "preferredLanguage": second_language,
                        "hasParentalResponsibility": True, "relationship": "father"})
    fam = api.post("/v1/families", {"authorityId": authority, "parents": parents,
                                    "children": [{"givenName": "Kid", "familyName": "Family", "dateOfBirth": born,
                                                  "needs": list(needs)}]})
    assert fam.status_code == 201, fam.text
    fam = fam.json()
    case = api.post("/v1/cases", {"authorityId": authority, "familyId": fam["id"], "childId": fam["children"][0]["id"],
                                  "source": "school", "needs": ["supporter"], "wantsSupporter": wants_supporter,
                                  "consent": {"shareWithAgencies": True, "lawfulBasis": "public_task"}})
    assert case.status_code == 201, case.text
    return case.json()


def candidates(api, case_id, **body):
    r = api.post(f"/v1/cases/{case_id}/candidates", body)
    assert r.status_code == 200, r.text
    return r.json()


def request_match(api, case_id, **body):
    r = api.post("/v1/match-requests", {"caseId": case_id, **body})
    assert r.status_code == 201, r.text
    return r.json()


def patch(api, path, body, **headers):
    return api.s.patch(api.base + path, json=body, headers=headers, timeout=10)


def put(api, path, body, **headers):
    return api.s.put(api.base + path, json=body, headers=headers, timeout=10)


def wait_for(fn, timeout=15.0, every=0.25):
    """fn() until it returns something truthy, or None after timeout."""
    end = time.time() + timeout
    while time.time() < end:
        got = fn()
        if got:
            return got
        time.sleep(every)
    return None


def events(db, case_id, type_=None):
    """matching's events about a case, oldest first: [(type, data)]."""
    with db.cursor() as c:
        c.execute("SELECT type, data FROM matching.outbox WHERE subject_id = %s"
                  " AND (%s::text IS NULL OR type = %s) ORDER BY seq", (case_id, type_, type_))
        return c.fetchall()


def count(db, sql, *args):
    with db.cursor() as c:
        c.execute(sql, args)
        return c.fetchone()[0]
