"""Training (issue 15) end to end: courses, sessions and attendance,
completions (back-dated, never in the future), requirements with If-Match,
each person's standing course by course, the compliance and delivered
reports (the latter against a hand count), a trainer's key (training yes,
family data no), tenancy, and the cross-service acceptance: a supporter
whose only required course expires stops being a candidate after the sweep
(the reason shown with includeIneligible), their pending offer is withdrawn
and the family offered to the next candidate, and a new completion brings
them back, with no manual step."""
import datetime
import uuid

import pytest

from conftest import Api, london_today, make_client, new_authorities, scale, wait_for
from matching_helpers import make_case, make_supporter, put, request_match


class Training:
    """An authority X of its own (and Y, another), with a caseworker, a
    trainer and an analyst for X and a caseworker for Y. make test limits a
    trainer key to 20 requests a minute (scripts/run-tests): a test sends
    fewer with it, and the rest as the caseworker."""

    def __init__(self):
        self.x, self.y = new_authorities(2, "Training test")
        self.cw = Api(make_client(["caseworker"], [self.x], name="training caseworker"))
        self.trainer = Api(make_client(["trainer"], [self.x], name="training trainer"))
        self.analyst = Api(make_client(["analyst"], [self.x], name="training analyst"))
        self.cw_y = Api(make_client(["caseworker"], [self.y], name="training caseworker Y"))


@pytest.fixture
def t():
    return Training()


def days(n):
    return (london_today() + datetime.timedelta(days=n)).isoformat()


def course(api, authority, **over):
    body = {"authorityId": authority, "code": f"C-{uuid.uuid4().hex[:8]}", "title": "SEND law for supporters",
            "audience": ["supporter"], "topics": ["EHC plans"], "level": 2, "hours": 6, "validForMonths": 12,
            "delivery": "in_person"}
    body.update(over)
    r = api.post("/v1/courses", body)
    assert r.status_code == 201, r.text
    return r.json()


def session(api, course_id, on=None, capacity=20):
    r = api.post("/v1/training-sessions", {"courseId": course_id, "trainer": "SENDIASS team", "capacity": capacity,
                                           "language": "en", "on": on or days(-1)})
    assert r.status_code == 201, r.text
    return r.json()


def completion(api, person, course_id, on, **evidence):
    r = api.post("/v1/completions", {"person": person, "courseId": course_id, "completedOn": on,
                                     **({"evidence": evidence} if evidence else {})})
    assert r.status_code == 201, r.text
    return r.json()


def require(api, authority, role, courses):
    r = put(api, f"/v1/requirements/{role}", {"authorityId": authority, "courses": courses})
    assert r.status_code == 200, r.text
    return r.json()


def training_of(api, person_id):
    r = api.get(f"/v1/people/{person_id}/training")
    assert r.status_code == 200, r.text
    return r.json()


def test_courses_sessions_attendance_and_completions(t):
    c = course(t.cw, t.x)
    assert (c["level"], c["hours"], c["validForMonths"], c["delivery"], c["audience"]) == (2, 6, 12, "in_person",
                                                                                          ["supporter"])
    assert t.cw.get(f"/v1/courses/{c['id']}").json()["code"] == c["code"]
    assert c["id"] in [x["id"] for x in t.cw.get("/v1/courses", params={"authorityId": t.x}).json()["items"]]
    # A code the authority has already; a level out of range; no delivery.
    r = t.cw.post("/v1/courses", {"authorityId": t.x, "code": c["code"], "title": "Again", "audience": ["teacher"],
                                       "level": 1, "delivery": "online"})
    assert r.status_code == 400 and "code" in r.text, r.text
    r = t.cw.post("/v1/courses", {"authorityId": t.x, "code": "X1", "title": "T", "audience": ["teacher"],
                                       "level": 4, "delivery": "online"})
    assert r.status_code == 400 and "level" in r.text, r.text
    r = t.cw.post("/v1/courses", {"authorityId": t.x, "code": "X2", "title": "T", "audience": ["teacher"],
                                       "delivery": "online"})
    assert r.status_code == 400 and "level" in r.text, r.text
    r = t.cw.post("/v1/training-sessions", {"courseId": c["id"], "trainer": "T", "on": days(-1)})
    assert r.status_code == 400 and "capacity" in r.text, r.text

    s = session(t.cw, c["id"], capacity=2)
    sup = make_supporter(t.cw, [t.x])
    teacher = {"name": "R. Patel", "organisation": {"urn": "100000"}, "role": "teacher"}
    r = t.trainer.post(f"/v1/training-sessions/{s['id']}/attendance",
                       {"attendees": [{"supporterId": sup["id"]}, teacher]})
    assert r.status_code == 200, r.text
    done = r.json()["completions"]
    assert [x["completedOn"] for x in done] == [s["on"], s["on"]]
    assert done[0]["personId"] == sup["id"]
    assert t.cw.get(f"/v1/training-sessions/{s['id']}").json()["attended"] == 2
    # Past capacity, or someone already there: 400, nothing stored.
    r = t.cw.post(f"/v1/training-sessions/{s['id']}/attendance", {"attendees": [teacher]})
    assert r.status_code == 400 and "seats" in r.text, r.text
    # A supporter matching does not know for the authority.
    s2 = session(t.cw, c["id"])
    r = t.cw.post(f"/v1/training-sessions/{s2['id']}/attendance", {"attendees": [{"supporterId": str(uuid.uuid4())}]})
    assert r.status_code == 400 and "attendees[0].supporterId" in r.text, r.text
    # An attendee outside Parley needs name, organisation and role.
    r = t.cw.post(f"/v1/training-sessions/{s2['id']}/attendance", {"attendees": [{"name": "No organisation"}]})
    assert r.status_code == 400 and "organisation" in r.text, r.text
    # A session that has not run yet takes no attendance.
    s3 = session(t.cw, c["id"], on=days(3))
    r = t.cw.post(f"/v1/training-sessions/{s3['id']}/attendance", {"attendees": [teacher]})
    assert r.status_code == 400, r.text
    assert t.cw.get(f"/v1/training-sessions/{s3['id']}").json()["attended"] == 0

    # A completion recorded directly, back-dated, with evidence; never in the future.
    k = completion(t.cw, {"personId": done[1]["personId"]}, c["id"], "2024-01-31", certificateRef="CDC-1",
                   provider="Council for Disabled Children")
    assert (k["expiresOn"], k["evidence"]["certificateRef"]) == ("2025-01-31", "CDC-1")
    assert t.cw.get(f"/v1/completions/{k['id']}").json()["id"] == k["id"]
    r = t.cw.post("/v1/completions", {"person": {"personId": done[1]["personId"]}, "courseId": c["id"],
                                           "completedOn": days(1)})
    assert r.status_code == 400 and "completedOn" in r.text, r.text


def test_requirements_and_a_persons_standing_course_by_course(t):
    never = course(t.cw, t.x, validForMonths=0, title="Induction")
    law = course(t.cw, t.x, validForMonths=12)
    other = course(t.cw, t.x, validForMonths=12)
    assert t.cw.get("/v1/requirements/teacher", params={"authorityId": t.x}).status_code == 404
    r = put(t.cw, "/v1/requirements/teacher", {"authorityId": t.x, "courses": []}, **{"If-Match": '"1"'})
    assert r.status_code == 404, r.text
    got = require(t.cw, t.x, "teacher", [{"courseId": never["id"]}, {"courseId": law["id"]},
                                         {"courseId": other["id"], "everyMonths": 24}])
    assert got["version"] == 1 and got["role"] == "teacher"
    # What GET answers goes back whole; a stale If-Match is 412; an unknown course 400.
    back = t.cw.get("/v1/requirements/teacher", params={"authorityId": t.x}).json()
    r = put(t.cw, "/v1/requirements/teacher", back, **{"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    r = put(t.cw, "/v1/requirements/teacher", back, **{"If-Match": '"1"'})
    assert r.status_code == 412, r.text
    r = put(t.cw, "/v1/requirements/teacher", {"authorityId": t.x, "courses": [{"courseId": str(uuid.uuid4())}]})
    assert r.status_code == 400 and "courses[0].courseId" in r.text, r.text
    assert t.cw.get("/v1/requirements/astronaut", params={"authorityId": t.x}).status_code == 404

    person = {"name": "G. Okafor", "organisation": {"urn": "123456"}, "role": "teacher"}
    first = completion(t.cw, person, never["id"], "2001-05-01")
    pid = first["personId"]
    # law: 11 months ago and valid 12 -> expiring within 60 days; other: renewed every 24 months, 30 months ago.
    completion(t.cw, {"personId": pid}, law["id"], days(-335))
    completion(t.cw, {"personId": pid}, other["id"], (london_today() - datetime.timedelta(days=900)).isoformat())
    got = training_of(t.cw, pid)
    by = {c["courseId"]: c for c in got["courses"]}
    assert by[never["id"]]["status"] == "compliant" and "expiresOn" not in by[never["id"]]
    assert by[law["id"]]["status"] == "expiring", by[law["id"]]
    assert by[other["id"]]["status"] == "expired", by[other["id"]]
    assert got["status"] == "expired" and got["asOf"] == london_today().isoformat()
    assert len(got["completions"]) == 3 and got["role"] == "teacher" and got["organisation"] == {"urn": "123456"}
    # A course never done is missing.
    newer = course(t.cw, t.x)
    require(t.cw, t.x, "teacher", [{"courseId": newer["id"]}])
    assert training_of(t.cw, pid)["courses"] == [{"courseId": newer["id"], "code": newer["code"], "status": "missing"}]


def test_the_compliance_report_names_who_is_out_of_date_or_lapsing(t):
    c = course(t.cw, t.x, validForMonths=6, audience=["governor"])
    require(t.cw, t.x, "governor", [{"courseId": c["id"]}])
    people = {}
    for label, on in (("ok", days(-10)), ("lapsing", days(-170)), ("expired", days(-400))):
        k = completion(t.cw, {"name": label, "organisation": {"urn": "200000"}, "role": "governor"}, c["id"], on)
        people[label] = k["personId"]
    r = t.cw.get("/v1/training/compliance", params={"authorityId": t.x, "role": "governor"})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["people"], rep["compliant"]) == (3, 1), rep
    assert [(i["personId"], i["status"]) for i in rep["items"]] == [(people["expired"], "expired"),
                                                                    (people["lapsing"], "expiring")]
    # Another authority's caseworker sees none of it.
    r = t.cw_y.get("/v1/training/compliance", params={"authorityId": t.x})
    assert r.status_code == 400, r.text


def test_the_delivered_report_equals_a_hand_count(t):
    law = course(t.trainer, t.x, hours=6, audience=["teacher", "governor"])
    intro = course(t.trainer, t.x, hours=2.5, audience=["authority_staff"])
    sup = make_supporter(t.cw, [t.x])
    seeded = [  # (attendee, course, day)
        ({"name": "T1", "organisation": {"urn": "100001"}, "role": "teacher"}, law, "2026-01-10"),
        ({"name": "T2", "organisation": {"urn": "100001"}, "role": "teacher"}, law, "2026-01-10"),
        ({"name": "G1", "organisation": {"urn": "100002"}, "role": "governor"}, law, "2026-02-01"),
        ({"name": "A1", "organisation": {"authorityId": t.x}, "role": "authority_staff"}, intro, "2026-02-15"),
        ({"supporterId": sup["id"]}, intro, "2026-03-01"),
        ({"name": "Late", "organisation": {"urn": "100001"}, "role": "teacher"}, law, "2026-06-01"),  # after `to`
    ]
    ids = []
    for who, c, on in seeded:
        ids.append(completion(t.trainer, who, c["id"], on)["personId"])
    # T1 does intro too, in range: one person, two completions.
    completion(t.trainer, {"personId": ids[0]}, intro["id"], "2026-03-02")
    # Another authority's training is not counted.
    other = course(t.cw_y, t.y)
    completion(t.cw_y, {"name": "Y", "organisation": {"urn": "100001"}, "role": "teacher"}, other["id"], "2026-01-10")

    in_range = [(ids[i], seeded[i][0], seeded[i][1]) for i in range(5)] + [(ids[0], seeded[0][0], intro)]

    def hand(key):
        groups = {}
        for pid, who, c in in_range:
            g = groups.setdefault(key(who, c), {"people": set(), "completions": 0, "hours": 0.0})
            g["people"].add(pid)
            g["completions"] += 1
            g["hours"] += c["hours"]
        return {k: (len(v["people"]), v["completions"], v["hours"]) for k, v in groups.items()}

    def org(who, c):
        o = who.get("organisation")
        return "supporters" if o is None else (f"urn:{o['urn']}" if "urn" in o else f"authority:{o['authorityId']}")

    keys = {"course": lambda who, c: c["id"], "audience": lambda who, c: who.get("role", "supporter"),
            "organisation": org}
    for group_by, key in keys.items():
        r = t.analyst.get("/v1/training/delivered", params={"authorityId": t.x, "from": "2026-01-01",
                                                              "to": "2026-05-31", "groupBy": group_by})
        assert r.status_code == 200, r.text
        got = r.json()
        assert {g["key"]: (g.get("peopleTrained", 0), g.get("completions", 0), g.get("hoursDelivered", 0))
                for g in got["groups"]} == hand(key), group_by
        assert (got["peopleTrained"], got["completions"], got["hoursDelivered"]) == (5, 6, 3 * 6 + 3 * 2.5)


def test_a_trainer_records_training_and_reads_no_family_data(t):
    fam = t.cw.post("/v1/families", {"authorityId": t.x, "parents": [
        {"givenName": "P", "familyName": "Q", "hasParentalResponsibility": True, "relationship": "mother"}],
        "children": [{"givenName": "K", "familyName": "Q", "dateOfBirth": "2015-01-01"}]})
    assert fam.status_code == 201, fam.text
    fam = fam.json()
    case = make_case(t.cw, t.x)
    for path in (f"/v1/families/{fam['id']}", "/v1/families", f"/v1/cases/{case['id']}", "/v1/cases",
                 f"/v1/cases/{case['id']}/timeline", f"/v1/children/{fam['children'][0]['id']}/views",
                 "/v1/supporters", "/v1/deadlines"):
        assert t.trainer.get(path).status_code == 403, path
    assert t.trainer.post(f"/v1/cases/{case['id']}/candidates", {}).status_code == 403
    assert t.trainer.post("/v1/match-requests", {"caseId": case["id"]}).status_code == 403
    # ... and records sessions and attendance.
    c = course(t.trainer, t.x)
    s = session(t.trainer, c["id"])
    r = t.trainer.post(f"/v1/training-sessions/{s['id']}/attendance",
                       {"attendees": [{"name": "S", "organisation": {"urn": "100000"}, "role": "teacher"}]})
    assert r.status_code == 200, r.text
    assert t.trainer.get(f"/v1/people/{r.json()['completions'][0]['personId']}/training").status_code == 200
    # Requirements are staff's to set.
    r = put(t.trainer, "/v1/requirements/teacher", {"authorityId": t.x, "courses": []})
    assert r.status_code == 403, r.text


def test_another_authoritys_training_objects_are_404(t):
    c = course(t.cw, t.x)
    s = session(t.cw, c["id"])
    k = completion(t.cw, {"name": "N", "organisation": {"urn": "100000"}, "role": "teacher"}, c["id"], days(-1))
    for path in (f"/v1/courses/{c['id']}", f"/v1/training-sessions/{s['id']}", f"/v1/completions/{k['id']}",
                 f"/v1/people/{k['personId']}/training"):
        assert t.cw_y.get(path).status_code == 404, path
    r = t.cw_y.post(f"/v1/training-sessions/{s['id']}/attendance",
                    {"attendees": [{"name": "N", "organisation": {"urn": "100000"}, "role": "teacher"}]})
    assert r.status_code == 404, r.text
    # B cannot record a completion of A's course, nor of A's person.
    r = t.cw_y.post("/v1/completions", {"person": {"personId": k["personId"]}, "courseId": c["id"],
                                        "completedOn": days(-1)})
    assert r.status_code == 400 and "courseId" in r.text, r.text
    assert t.cw.get(f"/v1/training-sessions/{s['id']}").json()["attended"] == 0


def _row(db, sql, *args):
    with db.cursor() as c:
        c.execute(sql, args)
        return c.fetchall()


def _candidate(api, case_id, supporter_id):
    r = api.post(f"/v1/cases/{case_id}/candidates", {"includeIneligible": True, "limit": 50})
    assert r.status_code == 200, r.text
    return next((c for c in r.json()["items"] if c["supporterId"] == supporter_id), None)


@pytest.mark.timeout(120)
def test_a_supporter_whose_training_expires_stops_being_a_candidate_and_returns_on_completion(t, db):
    c = course(t.cw, t.x, validForMonths=1, code=f"LAW-{uuid.uuid4().hex[:6]}")
    require(t.cw, t.x, "supporter", [{"courseId": c["id"]}])
    best = make_supporter(t.cw, [t.x], languages=["en"], areas=["N1"], capacity=3)  # near: ranks first
    other = make_supporter(t.cw, [t.x], languages=["en"], capacity=3)
    done = completion(t.cw, {"supporterId": best["id"]}, c["id"], days(-5))
    assert training_of(t.cw, best["id"])["status"] == "expiring"  # in date: within the 60-day window
    case = make_case(t.cw, t.x, language="en")
    assert _candidate(t.cw, case["id"], best["id"])["eligible"] is True
    mr = request_match(t.cw, case["id"])
    assert mr["currentOffer"]["supporterId"] == best["id"], mr

    # Time passes: the completion is a month and more old. The sweep (every
    # second in the tests) finds it expired, and matching hears of it.
    with db.cursor() as cur:
        cur.execute("UPDATE training.completions SET completed_on = completed_on - interval '40 days' WHERE id = %s",
                    (done["id"],))

    def ruled_out():
        cand = _candidate(t.cw, case["id"], best["id"])
        return cand if cand and not cand["eligible"] else None
    cand = wait_for(ruled_out, timeout=30, every=0.3)
    assert cand, "the supporter whose training expired is still a candidate"
    assert any("training_expired" in why and c["code"] in why for why in cand["ruledOut"]), cand
    assert training_of(t.cw, best["id"])["status"] == "expired"
    r = t.cw.get(f"/v1/supporters/{best['id']}").json()
    assert r["eligible"] is False and any("training_expired" in w for w in r["ineligibleReasons"]), r
    # The offer made to them is withdrawn, and the family offered to the next candidate.
    offers = _row(db, "SELECT supporter_id::text, status, answer_reason FROM matching.offers WHERE case_id = %s"
                      " ORDER BY offered_at", case["id"])
    assert offers[0][:2] == (best["id"], "withdrawn") and "training_expired" in offers[0][2], offers
    got = t.cw.get(f"/v1/match-requests/{mr['id']}").json()
    assert got.get("currentOffer", {}).get("supporterId") == other["id"], (got, offers)
    # Candidates without includeIneligible leave them out.
    r = t.cw.post(f"/v1/cases/{case['id']}/candidates", {})
    assert best["id"] not in [x["supporterId"] for x in r.json()["items"]]

    # A new completion: eligible again, without any other step.
    completion(t.cw, {"supporterId": best["id"]}, c["id"], days(0))
    assert wait_for(lambda: (_candidate(t.cw, case["id"], best["id"]) or {}).get("eligible"), timeout=30, every=0.3)
    assert t.cw.get(f"/v1/supporters/{best['id']}").json()["eligible"] is True
    # Each change was announced once, in order of the person's standing version.
    evs = _row(db, "SELECT data->>'status', (data->>'version')::int FROM training.outbox"
                   " WHERE subject_id = %s AND type = 'training.status_changed' ORDER BY seq", best["id"])
    assert evs == [("expiring", 1), ("expired", 2), ("expiring", 3)], evs


@pytest.mark.timeout(120)
def test_with_two_training_processes_each_expiry_is_announced_once(t, db):
    c = course(t.cw, t.x, validForMonths=1)
    require(t.cw, t.x, "governor", [{"courseId": c["id"]}])
    people = [completion(t.cw, {"name": f"G{i}", "organisation": {"urn": "300000"}, "role": "governor"}, c["id"],
                         days(-3)) for i in range(5)]
    ids = [k["id"] for k in people]
    pids = [k["personId"] for k in people]
    try:
        scale("training", 2)
        with db.cursor() as cur:  # time passes for all five at once
            cur.execute("UPDATE training.completions SET completed_on = completed_on - interval '40 days'"
                        " WHERE id = ANY (%s::uuid[])", (ids,))

        def expired_events():
            return _row(db, "SELECT subject_id::text, (data->>'version')::int FROM training.outbox"
                            " WHERE subject_id = ANY (%s::uuid[]) AND type = 'training.status_changed'"
                            " AND data->>'status' = 'expired'", pids)
        assert wait_for(lambda: len(expired_events()) >= 5, timeout=30, every=0.3), expired_events()
        # The next sweeps of both processes (every second) announce nothing
        # again: watched for three of them, failing as soon as one does.
        wait_for(lambda: len(expired_events()) > 5, timeout=3, every=0.2)
        got = expired_events()
        assert sorted(got) == sorted((p, 2) for p in pids), got
        assert all(training_of(t.cw, p)["status"] == "expired" for p in pids)
    finally:
        scale("training", 1)
