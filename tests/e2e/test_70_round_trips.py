"""Round trips: what GET answers, PATCH (and PUT) take back.

A family read, changed in one place and sent back whole keeps every id and
changes only that; the same with the read-only fields stripped (as a
generated client does, by the live document's readOnly flags); a PATCH that
changes nothing keeps the version; an item changes by JSON Merge Patch; a
read-only field sent back with another value is refused, on every PATCH and
PUT route; stages carry their case's version and ETag; If-Match lines combine.
"""
import copy
import http.client
import json
import uuid
from urllib.parse import urlsplit

import pytest

from conftest import ENV, family_body
from intake_helpers import outbox, patch
from scheduling_helpers import case_id
from young_helpers import young_person_body


def read(api, path):
    r = api.get(path)
    assert r.status_code == 200, r.text
    return r.json(), r.headers["ETag"]


def family_events(db, family_id):
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.outbox WHERE type = 'family.updated' AND subject_id = %s", (family_id,))
        return c.fetchone()[0]


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def strip_read_only(doc, schema, value):
    """value less every property the document marks readOnly, at any depth
    (what a generated client sends back)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if isinstance(value, list):
        return [strip_read_only(doc, schema.get("items", {}), v) for v in value]
    if not isinstance(value, dict):
        return value
    props = schema.get("properties", {})
    out = {}
    for k, v in value.items():
        p = props.get(k, {})
        ref = p.get("$ref")
        resolved = doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else p
        if p.get("readOnly") or resolved.get("readOnly"):
            continue
        out[k] = strip_read_only(doc, p, v)
    return out


def test_a_family_sent_back_whole_with_one_phone_changed_changes_only_that(cw_a, family_a):
    fam, etag = read(cw_a, f"/v1/families/{family_a['id']}")
    body = copy.deepcopy(fam)
    body["parents"][0]["phone"] = "020 7946 0999"
    r = patch(cw_a, f"/v1/families/{fam['id']}", body, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    got = r.json()
    assert [p["id"] for p in got["parents"]] == [p["id"] for p in fam["parents"]]
    assert [c["id"] for c in got["children"]] == [c["id"] for c in fam["children"]]
    assert got["parents"][0]["phone"] == "020 7946 0999"
    expect = copy.deepcopy(fam)
    expect["parents"][0]["phone"] = "020 7946 0999"
    assert without(got, "version", "updatedAt") == without(expect, "version", "updatedAt")
    assert got["version"] == fam["version"] + 1 and r.headers["ETag"] == f'"{got["version"]}"'
    assert cw_a.get(f"/v1/families/{fam['id']}").json() == got


def test_the_same_with_the_read_only_fields_stripped_gives_the_same_result(cw_a, anon, family_a):
    doc = anon.get("/v1/openapi.json").json()
    fam, _ = read(cw_a, f"/v1/families/{family_a['id']}")
    family_schema = {"$ref": "#/components/schemas/Family"}
    body = strip_read_only(doc, family_schema, copy.deepcopy(fam))
    # What the document calls read-only is what a generator strips: the
    # family's own id, version and times go; the parents' and children's ids,
    # which PATCH matches them by, stay.
    assert not {"version", "createdAt", "updatedAt"} & set(body), body
    assert all("id" in p for p in body["parents"]) and all("id" in c for c in body["children"])
    body["parents"][0]["phone"] = "020 7946 0998"
    r = patch(cw_a, f"/v1/families/{fam['id']}", body)
    assert r.status_code == 200, r.text
    got = r.json()
    expect = copy.deepcopy(fam)
    expect["parents"][0]["phone"] = "020 7946 0998"
    assert without(got, "version", "updatedAt") == without(expect, "version", "updatedAt")
    assert got["version"] == fam["version"] + 1


def test_a_patch_that_changes_nothing_keeps_the_version_and_announces_nothing(cw_a, family_a, db):
    fam, etag = read(cw_a, f"/v1/families/{family_a['id']}")
    events = family_events(db, fam["id"])
    for body in (fam, {}, {"parents": fam["parents"]}, {"children": [{"id": fam["children"][0]["id"]}]}):
        r = patch(cw_a, f"/v1/families/{fam['id']}", body, **{"If-Match": etag})
        assert r.status_code == 200, (body, r.text)
        assert r.json() == fam and r.headers["ETag"] == etag
    assert cw_a.get(f"/v1/families/{fam['id']}").json() == fam
    assert family_events(db, fam["id"]) == events
    with db.cursor() as c:
        c.execute("SELECT version FROM intake.families WHERE id = %s", (fam["id"],))
        assert c.fetchone()[0] == fam["version"]


def test_an_item_changes_by_json_merge_patch(cw_a, authority_a):
    body = family_body(authority_a)
    body["parents"] = body["parents"][:1]
    fam = cw_a.post("/v1/families", body).json()
    parent, child = fam["parents"][0], fam["children"][0]
    # Only what is sent changes; null removes; a nested object merges.
    r = patch(cw_a, f"/v1/families/{fam['id']}",
              {"parents": [{"id": parent["id"], "email": None, "address": {"town": "Leeds"}}],
               "children": [{"id": child["id"], "school": None, "needs": ["hearing"]}]})
    assert r.status_code == 200, r.text
    got = r.json()
    p, c = got["parents"][0], got["children"][0]
    assert "email" not in p and p["address"] == dict(parent["address"], town="Leeds")
    assert without(p, "email", "address") == without(parent, "email", "address")
    assert "school" not in c and c["needs"] == [{"type": "hi", "detail": "hearing"}]
    assert without(c, "school", "needs") == without(child, "school", "needs")
    # A required field cannot be removed.
    r = patch(cw_a, f"/v1/families/{fam['id']}", {"parents": [{"id": parent["id"], "givenName": None}]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "parents[0].givenName", r.text
    # A new item needs what a new one always needs.
    r = patch(cw_a, f"/v1/families/{fam['id']}", {"children": [{"id": child["id"]}, {"givenName": "Nura"}]})
    assert r.status_code == 400, r.text
    assert {"children[1].familyName", "children[1].dateOfBirth"} <= {e["field"] for e in r.json()["errors"]}
    assert cw_a.get(f"/v1/families/{fam['id']}").json() == got


def test_read_only_fields_sent_back_with_another_value_are_refused(cw_a, family_a):
    fam, etag = read(cw_a, f"/v1/families/{family_a['id']}")
    path = f"/v1/families/{fam['id']}"
    for field, value in [("createdAt", "2001-01-01T00:00:00Z"), ("updatedAt", "2001-01-01T00:00:00Z"),
                         ("authorityId", str(uuid.uuid4())), ("id", str(uuid.uuid4()))]:
        r = patch(cw_a, path, dict(fam, **{field: value}))
        assert r.status_code == 400, (field, r.text)
        assert r.json()["code"] == "read_only_field" and [e["field"] for e in r.json()["errors"]] == [field]
    # Another version: as a stale If-Match.
    r = patch(cw_a, path, dict(fam, version=fam["version"] + 7))
    assert r.status_code == 412 and r.json()["code"] == "stale_version", r.text
    # The same instant at a client's millisecond precision is the value read.
    created = fam["createdAt"]
    millis = created[:23] + "Z" if "." in created else created
    r = patch(cw_a, path, dict(fam, createdAt=millis.replace("Z", "+00:00")))
    assert r.status_code == 200, r.text
    assert cw_a.get(path).json() == fam


# Every PATCH and PUT route, with the GET that reads what it changes: the
# object read and sent back whole is accepted; with createdAt (or updatedAt)
# changed it is refused, whatever the route.
def _family(cw_a, authority_a):
    fam = cw_a.post("/v1/families", family_body(authority_a)).json()
    return f"/v1/families/{fam['id']}", f"/v1/families/{fam['id']}", "createdAt"


def _stage(cw_a, authority_a):
    fam = cw_a.post("/v1/families", family_body(authority_a)).json()
    case = cw_a.post("/v1/cases", {"authorityId": authority_a, "familyId": fam["id"],
                                   "childId": fam["children"][0]["id"], "source": "school", "needs": ["information"],
                                   "consent": {"shareWithAgencies": True, "lawfulBasis": "public_task"}}).json()
    r = cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": "2024-01-10"})
    assert r.status_code == 201, r.text
    return r.headers["Location"], r.headers["Location"], "createdAt"


def _supporter(cw_a, authority_a):
    r = cw_a.post("/v1/supporters", {"givenName": "Round", "familyName": "Trip", "authorityIds": [authority_a],
                                     "languages": ["en"], "capacity": 2, "vettingExpiresOn": "2035-01-01",
                                     "status": "paused"})
    assert r.status_code == 201, r.text
    return r.headers["Location"], r.headers["Location"], "createdAt"


def _resource(cw_a, authority_a):
    r = cw_a.post("/v1/resources", {"key": f"rt-{uuid.uuid4().hex[:8]}", "title": "Round trip", "topic": "rights",
                                    "language": "en", "format": "standard", "body": "Text.",
                                    "reviewDueOn": "2030-01-01"})
    assert r.status_code == 201, r.text
    return r.headers["Location"], r.headers["Location"], "createdAt"


def _agency(cw_a, authority_a):
    r = cw_a.post("/v1/agencies", {"name": "Round Trip Forum", "kind": "parent_carer_forum",
                                   "authorityIds": [authority_a], "contact": {"email": "a@example.org"}})
    assert r.status_code == 201, r.text
    return r.headers["Location"], r.headers["Location"], "createdAt"


def _weights(cw_a, authority_a):
    return "/v1/matching/weights", "/v1/matching/weights", "customised"


def _young_person(cw_a, authority_a):
    r = cw_a.post("/v1/young-people", young_person_body(authority_a))
    assert r.status_code == 201, r.text
    return r.headers["Location"], r.headers["Location"], "createdAt"


def _template(cw_a, authority_a):
    path = f"/v1/templates/round-trip-{uuid.uuid4().hex[:8]}"
    r = cw_a.s.put(cw_a.base + path, json={"translations": [{"language": "en", "subject": "S", "body": "B"}]},
                   timeout=10)
    assert r.status_code == 200, r.text
    return path, path, "createdAt"


def _calendar(cw_a, authority_a):
    path = f"/v1/calendars/{uuid.uuid4()}/availability"
    r = cw_a.s.put(cw_a.base + path, json={"authorityId": authority_a, "ownerKind": "room",
                                           "weekly": [{"weekday": 1, "start": "10:00", "end": "12:00"}]}, timeout=10)
    assert r.status_code == 200, r.text
    return path, path, "createdAt"


def _appointment(cw_a, authority_a):
    owner = str(uuid.uuid4())
    calendar_path = f"/v1/calendars/{owner}/availability"
    assert cw_a.s.put(cw_a.base + calendar_path, json={"authorityId": authority_a, "ownerKind": "room"},
                      timeout=10).status_code == 200
    r = cw_a.post("/v1/appointments", {
        "authorityId": authority_a, "caseId": case_id(authority_a, cw_a), "kind": "other", "start": "2027-02-01T10:00:00Z",
        "end": "2027-02-01T11:00:00Z", "location": {"kind": "in_person", "address": "Room 1"},
        "participants": [{"kind": "room", "calendarOwnerId": owner, "name": "Room 1"}]})
    assert r.status_code == 201, r.text
    return r.headers["Location"], r.headers["Location"], "createdAt"


def _requirements(cw_a, authority_a):
    r = cw_a.post("/v1/courses", {"authorityId": authority_a, "code": f"RT-{uuid.uuid4().hex[:8]}", "title": "RT",
                                  "audience": ["governor"], "level": 1, "delivery": "online"})
    assert r.status_code == 201, r.text
    path = "/v1/requirements/governor"
    r = cw_a.s.put(cw_a.base + path, json={"courses": [{"courseId": r.json()["id"], "everyMonths": 6}]}, timeout=10)
    assert r.status_code == 200, r.text
    return path, path, "updatedAt"


def _contact_preferences(cw_a, authority_a):
    r = cw_a.post("/v1/families", family_body(authority_a))
    assert r.status_code == 201, r.text
    path = f"/v1/contacts/{r.json()['parents'][0]['id']}/preferences"
    r = cw_a.s.put(cw_a.base + path, json={"channels": ["sms", "email"], "optOuts": ["case_updates"],
                                           "quietHours": {"start": "21:00", "end": "07:00"}}, timeout=10)
    assert r.status_code == 200, r.text
    return path, path, "createdAt"


@pytest.mark.parametrize("make", [_family, _stage, _supporter, _weights, _resource, _agency, _young_person, _template,
                                  _calendar, _appointment, _requirements, _contact_preferences],
                         ids=["family", "stage", "supporter", "weights", "resource", "agency", "young person",
                              "template", "calendar", "appointment", "requirements", "contact preferences"])
def test_every_patch_and_put_takes_back_what_get_gives_and_refuses_a_changed_read_only_field(
        make, cw_a, admin, authority_a, anon):
    doc = anon.get("/v1/openapi.json").json()
    replaced = {(p, m) for p, item in doc["paths"].items() for m in item if m in ("patch", "put")}
    assert replaced == {("/v1/families/{id}", "patch"), ("/v1/cases/{id}/stages/{stageId}", "patch"),
                        ("/v1/supporters/{id}", "patch"), ("/v1/matching/weights", "put"),
                        ("/v1/resources/{id}", "patch"), ("/v1/agencies/{id}", "patch"),
                        ("/v1/young-people/{id}", "patch"), ("/v1/templates/{key}", "put"),
                        ("/v1/calendars/{ownerId}/availability", "put"), ("/v1/appointments/{id}", "patch"),
                        ("/v1/requirements/{role}", "put"), ("/v1/contacts/{personId}/preferences", "put")}, \
        f"a PATCH or PUT route without a case here: {sorted(replaced)}"
    api = admin if make is _weights else cw_a
    get_path, put_path, field = make(cw_a, authority_a)
    get_path, put_path = urlsplit(get_path).path, urlsplit(put_path).path
    method = "PUT" if make in (_weights, _template, _calendar, _requirements, _contact_preferences) else "PATCH"
    now, etag = read(api, get_path)
    r = api.s.request(method, api.base + put_path, json=now, headers={"If-Match": etag}, timeout=10)
    assert r.status_code == 200, r.text
    now, etag = read(api, get_path)
    wrong = dict(now, **{field: (not now[field]) if isinstance(now[field], bool) else "2001-01-01T00:00:00Z"})
    # With If-Match: a leaflet's or an agency's PATCH needs it (428 without).
    r = api.s.request(method, api.base + put_path, json=wrong, headers={"If-Match": etag}, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "read_only_field" and [e["field"] for e in r.json()["errors"]] == [field], r.text
    assert read(api, get_path)[0] == now


def test_a_stage_carries_its_cases_version_and_etag(cw_a, case_a):
    r = cw_a.post(f"/v1/cases/{case_a['id']}/stages", {"stage": "assessment_requested", "on": "2024-01-10"})
    assert r.status_code == 201, r.text
    stage = r.json()
    case, case_etag = read(cw_a, f"/v1/cases/{case_a['id']}")
    assert stage["version"] == case["version"] and r.headers["ETag"] == case_etag
    got, etag = read(cw_a, r.headers["Location"])
    assert got == stage and etag == case_etag
    # Moving it with the stage's ETag: it is the case's.
    moved = patch(cw_a, r.headers["Location"], dict(got, on="2024-01-11"), **{"If-Match": etag})
    assert moved.status_code == 200, moved.text
    assert moved.json()["on"] == "2024-01-11" and moved.json()["version"] == case["version"] + 1
    assert cw_a.get(f"/v1/cases/{case_a['id']}").headers["ETag"] == moved.headers["ETag"]
    # The stage's old ETag is stale now; one that changes nothing keeps it.
    assert patch(cw_a, r.headers["Location"], {"on": "2024-01-12"}, **{"If-Match": etag}).status_code == 412
    same = patch(cw_a, r.headers["Location"], moved.json(), **{"If-Match": moved.headers["ETag"]})
    assert same.status_code == 200 and same.headers["ETag"] == moved.headers["ETag"], same.text


def _patch_raw(path, body, if_match_lines, auth):
    """A PATCH with the If-Match header on several lines (requests merges
    one header into one line)."""
    url = urlsplit(ENV["PARLEY_URL"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    data = json.dumps(body).encode()
    conn.putrequest("PATCH", path)
    conn.putheader("Authorization", auth)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(data)))
    for line in if_match_lines:
        conn.putheader("If-Match", line)
    conn.endheaders(data)
    r = conn.getresponse()
    out = (r.status, json.loads(r.read() or b"{}"))
    conn.close()
    return out


def test_if_match_on_two_lines_is_one_list(cw_a, family_a):
    fam, etag = read(cw_a, f"/v1/families/{family_a['id']}")
    path = f"/v1/families/{fam['id']}"
    change = {"parents": [dict(fam["parents"][0], relationship="aunt")] + fam["parents"][1:]}
    stale = f'"{fam["version"] + 5}"'
    status, body = _patch_raw(path, change, [stale], cw_a.s.headers["Authorization"])
    assert status == 412 and body["code"] == "stale_version", body
    # The current version on a second line: the lines are one list (RFC 9110 §5.3).
    status, body = _patch_raw(path, change, [stale, etag], cw_a.s.headers["Authorization"])
    assert status == 200, body
    assert body["version"] == fam["version"] + 1 and body["parents"][0]["relationship"] == "aunt"
    # Two stale lines are stale.
    status, body = _patch_raw(path, {"parents": [dict(p, relationship="x") for p in fam["parents"]]}, [stale, etag],
                              cw_a.s.headers["Authorization"])
    assert status == 412, body
