"""Helpers the matching end-to-end tests share (test_60 ... test_64).

Supporters are shared across a consortium, so each test gets authorities of
its own (the `tenant` fixture): two fresh authorities X and Y with a
caseworker key for each, a consortium admin for both, a supporter key and an
analyst key for X. Nothing another test makes can then be a candidate.

A supporter key is bound to one supporter: `tenant.supporter_x` is made on
first use for X's first supporter (made then if X has none), and
`tenant.supporter_key(supporter)` makes one for any other."""
import uuid

import pytest

from conftest import Api, make_client, new_authorities, wait_for  # noqa: F401 (wait_for: for the tests)


class Tenant:
    def __init__(self):
        self.x, self.y = new_authorities(2, "Matching test")
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

    @staticmethod
    def _client(roles, authorities, **extra):
        return Api(make_client(roles, authorities, name=f"matching {'/'.join(roles)}", **extra))


@pytest.fixture
def tenant():
    return Tenant()


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
