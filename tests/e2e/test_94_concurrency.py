"""200 concurrent mixed requests against 2 processes x PARLEY_WORKER_THREADS
(default 4) handler threads of intake and of matching, every answer and every
row checked: no reply reaches the wrong request, no write is lost or made
twice, no supporter takes more families than its capacity.

The mix, shuffled and sent by 32 client threads at once: creates of families,
cases and supporters (each with a marker of its own in its text, so each 201
is matched to its row), reads of known families, cases and supporters (the
answer must be the object asked for: its id and its marker), reads of another
authority's objects (404), lists, candidate rankings, match requests (some
twice at once for one case) and accepts of offers racing for supporters with
two places each. Then the database is reconciled with the answers.

Everything is made for authorities of the test's own (X and Y), so nothing
another test makes is a candidate. The stack is scaled through scripts/stack
and put back to one instance of each service afterwards."""
import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

from conftest import ENV, ROOT, stack

CLIENTS = 32            # client threads sending at once (> PRIMARIES * (OFFERS_EACH - 1))
PRIMARIES = 4           # supporters whose places are raced for
OFFERS_EACH = 6         # offers held by each of them when the race starts
PLACES = 2              # places each of them has then
THREADS = int(ENV.get("PARLEY_WORKER_THREADS") or 4)  # what the stack's processes inherit
TIMEOUT = 30


# -- a client with one key, usable from many threads (a fresh connection a call)

class Key:
    def __init__(self, key):
        self.headers = {"Authorization": f"Bearer {key}"}

    def call(self, method, path, body=None, **kw):
        return requests.request(method, ENV["PARLEY_URL"] + path, json=body, headers=self.headers,
                                timeout=TIMEOUT, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body):
        return self.call("POST", path, body)


def _made(r, what):
    assert r.status_code == 201, f"{what}: {r.status_code} {r.text}"
    return r.json()


# -- authorities and keys of the test's own

class Tenant:
    """Two fresh authorities X and Y, a caseworker key for each, made by a
    consortium_admin key of the demo consortium made for this test."""

    def __init__(self):
        seed = Key(ENV["PARLEY_KEY_ADMIN"])
        self.maker = Key(_made(seed.post("/v1/clients", {"name": "concurrency test: authority maker",
                                                         "roles": ["consortium_admin"],
                                                         "authorityIds": [ENV["PARLEY_AUTHORITY_A"]]}),
                               "maker")["key"])
        self.x, self.y = self._authority("X"), self._authority("Y")
        self.cw_x = self.client(["caseworker"], [self.x])
        self.cw_y = self.client(["caseworker"], [self.y])

    def _authority(self, name):
        code = "E0%07d" % (uuid.uuid4().int % 10**7)
        return _made(self.maker.post("/v1/authorities", {"code": code, "name": f"Concurrency {name} {code}"}),
                     "authority")["id"]

    def client(self, roles, authorities, **extra):
        for _ in range(50):  # the maker's key learns its new authorities within its cache time
            r = self.maker.post("/v1/clients", {"name": f"concurrency {'/'.join(roles)}", "roles": roles,
                                                "authorityIds": authorities, **extra})
            if r.status_code == 201:
                return Key(r.json()["key"])
            assert r.status_code == 400, r.text
            time.sleep(0.2)
        raise AssertionError(f"could not make a {roles} client: {r.text}")


# -- bodies, each carrying its marker

def family_body(authority, marker, postcode="W1 1AA"):
    return {"authorityId": authority,
            "parents": [{"givenName": "Ana", "familyName": marker, "preferredLanguage": "en",
                         "hasParentalResponsibility": True, "relationship": "mother",
                         "address": {"line1": "1 Road", "town": "London", "postcode": postcode}},
                        {"givenName": "Ben", "familyName": marker, "preferredLanguage": "en",
                         "hasParentalResponsibility": True, "relationship": "father"}],
            "children": [{"givenName": "Kid", "familyName": marker, "dateOfBirth": "2015-05-01",
                          "needs": ["autism"]}]}


def case_body(authority, family, marker, wants_supporter=False):
    return {"authorityId": authority, "familyId": family["id"], "childId": family["children"][0]["id"],
            "source": "school", "needs": ["supporter"], "wantsSupporter": wants_supporter, "summary": marker,
            "consent": {"shareWithAgencies": True, "lawfulBasis": "public_task"}}


def supporter_body(authorities, marker, capacity, **over):
    body = {"givenName": "Sam", "familyName": marker, "email": "sam@example.org", "authorityIds": authorities,
            "languages": ["en"], "specialisms": [], "areas": [], "capacity": capacity,
            "vettingExpiresOn": "2030-01-01"}
    body.update(over)
    return body


# -- the stack

def _log_records(service):
    var = Path(ENV.get("PARLEY_VAR_DIR", "var"))
    logs = (var if var.is_absolute() else ROOT / var) / "log"
    for path in sorted(logs.glob(f"{service}-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                yield rec


def _pids(service):
    return {int(p) for p in stack("pids", service).stdout.split()}


def _threads_of(service, pids, deadline_s=30):
    """{pid: the handler threads its log says it serves with}, once every
    pid has said it (a new process migrates and starts its relay first)."""
    end = time.time() + deadline_s
    while True:
        out = {}
        for rec in _log_records(service):
            msg = rec.get("msg", "")
            if rec.get("pid") in pids and msg.startswith(f"{service}: serving with "):
                out[rec["pid"]] = int(msg.split()[3])
        if set(out) == pids or time.time() > end:
            return out
        time.sleep(0.2)


def _served(service, request_ids):
    """[(pid, start ms, end ms, requestId)] of the requests service's logs
    show as answered, for these gateway request ids."""
    out = []
    for rec in _log_records(service):
        msg = rec.get("msg", "")
        if rec.get("requestId") in request_ids and msg.startswith("request method="):
            end = datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
            dur = float(msg.rsplit("durationMs=", 1)[1])
            out.append((rec["pid"], end - dur, end, rec["requestId"]))
    return out


def _wait_all_serve(service, probe, pids, deadline_s=30):
    """Sends probe() one at a time until every pid has answered one: each
    process registered its workers with the broker."""
    rids, end = set(), time.time() + deadline_s
    while time.time() < end:
        r = probe()
        assert r.status_code == 200, r.text
        rids.add(r.headers["X-Request-Id"])
        if {pid for pid, *_ in _served(service, rids)} >= pids:
            return
        time.sleep(0.05)
    raise AssertionError(f"not every {service} process answered within {deadline_s} s")


def _overlaps(spans, margin_ms=2.0):
    """How many requests began while another of the same process was still
    being served (by more than the log's millisecond timestamps could blur)."""
    n, by_pid = 0, {}
    for pid, start, end, _ in spans:
        by_pid.setdefault(pid, []).append((start, end))
    for items in by_pid.values():
        items.sort()
        busy_until = None
        for start, end in items:
            if busy_until is not None and start < busy_until - margin_ms:
                n += 1
            busy_until = end if busy_until is None else max(busy_until, end)
    return n


# -- the database

def rows(db, sql, *args):
    with db.cursor() as c:
        c.execute(sql, args)
        return c.fetchall()


def _parallel(fn, items, workers=8):
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


# -- the test

def test_two_hundred_concurrent_mixed_requests_over_two_processes_of_each(db):
    run = uuid.uuid4().hex[:8]
    pre, burst = f"Pre{run}", f"Burst{run}"  # the markers' prefixes: made before, and during, the burst
    try:
        stack("scale", "intake", "2")
        stack("scale", "matching", "2")
        intake_pids, matching_pids = _pids("intake"), _pids("matching")
        assert len(intake_pids) == 2 and len(matching_pids) == 2, (intake_pids, matching_pids)
        # What really runs: each process says how many handler threads it serves with.
        assert _threads_of("intake", intake_pids) == {p: THREADS for p in intake_pids}
        assert _threads_of("matching", matching_pids) == {p: THREADS for p in matching_pids}

        t = Tenant()
        _wait_all_serve("intake", lambda: t.cw_x.get("/v1/cases?pageSize=1"), intake_pids)
        _wait_all_serve("matching", lambda: t.cw_x.get("/v1/supporters?pageSize=1"), matching_pids)
        _run(t, db, pre, burst, intake_pids, matching_pids)
    finally:
        stack("scale", "intake", "1")
        stack("scale", "matching", "1")


def _setup(t, pre):
    """What the burst reads, lists and races for, made before it."""
    s = {}
    # Families and cases to read, in X and in Y.
    def fam(args):
        key, auth, marker, postcode = args
        return _made(key.post("/v1/families", family_body(auth, marker, postcode)), "family")
    s["fam_x"] = _parallel(fam, [(t.cw_x, t.x, f"{pre}-fx{i}", "W1 1AA") for i in range(6)])
    s["fam_y"] = _parallel(fam, [(t.cw_y, t.y, f"{pre}-fy{i}", "W1 1AA") for i in range(6)])

    def case(args):
        key, auth, family, marker = args
        return _made(key.post("/v1/cases", case_body(auth, family, marker)), "case")
    s["case_x"] = _parallel(case, [(t.cw_x, t.x, f, f"{pre}-cx{i}") for i, f in enumerate(s["fam_x"])])
    s["case_y"] = _parallel(case, [(t.cw_y, t.y, f, f"{pre}-cy{i}") for i, f in enumerate(s["fam_y"])])

    # Y: supporters with room, and cases with no match request yet.
    s["sup_y"] = [_made(t.cw_y.post("/v1/supporters", supporter_body([t.y], f"{pre}-sy{i}", 50)), "supporter")
                  for i in range(3)]
    mr_fams = _parallel(fam, [(t.cw_y, t.y, f"{pre}-my{i}", "W1 1AA") for i in range(15)])
    s["mr_cases"] = _parallel(case, [(t.cw_y, t.y, f, f"{pre}-mc{i}") for i, f in enumerate(mr_fams)])

    # X: PRIMARIES supporters who fit the families best (autism, N1), each
    # offered OFFER_EACH families, then left PLACES places; and a backup who
    # fits less well, for the families refused.
    s["primaries"] = [_made(t.cw_x.post("/v1/supporters",
                                        supporter_body([t.x], f"{pre}-px{i}", 10, specialisms=["autism"],
                                                       areas=["N1"])), "supporter")
                      for i in range(PRIMARIES)]
    s["backup"] = _made(t.cw_x.post("/v1/supporters", supporter_body([t.x], f"{pre}-bx", 50)), "supporter")
    prim_ids = [p["id"] for p in s["primaries"]]
    race_fams = _parallel(fam, [(t.cw_x, t.x, f"{pre}-rx{i}", "N1 7AA") for i in range(PRIMARIES * OFFERS_EACH)])
    race_cases = _parallel(case, [(t.cw_x, t.x, f, f"{pre}-rc{i}") for i, f in enumerate(race_fams)])

    def offer(i):
        k = i // OFFERS_EACH
        mr = _made(t.cw_x.post("/v1/match-requests", {
            "caseId": race_cases[i]["id"],
            "preferences": {"excludeSupporterIds": [p for j, p in enumerate(prim_ids) if j != k]}}), "match request")
        assert mr["status"] == "offered" and mr["currentOffer"]["supporterId"] == prim_ids[k], mr
        return mr
    s["race"] = _parallel(offer, range(PRIMARIES * OFFERS_EACH))
    for p in s["primaries"]:
        r = t.cw_x.call("PATCH", f"/v1/supporters/{p['id']}", {"capacity": PLACES})
        assert r.status_code == 200 and r.json()["pendingOffers"] == OFFERS_EACH, r.text
    s["supporter_keys"] = [t.client(["supporter"], [t.x], supporterId=p) for p in prim_ids]
    return s


def _tasks(t, s, burst):
    """The 200 requests: (kind, what it is about, a function making the call)."""
    tasks = []

    def add(kind, about, fn):
        tasks.append((kind, about, fn))

    for i in range(30):  # family creates
        key, auth = (t.cw_x, t.x) if i % 2 else (t.cw_y, t.y)
        marker = f"{burst}-f{i}"
        add("create_family", {"marker": marker, "authority": auth},
            lambda key=key, auth=auth, marker=marker: key.post("/v1/families", family_body(auth, marker)))
    for i in range(30):  # case creates; Y's want a supporter, which matching hears of by event
        x = i % 2 == 1
        key, auth, fams = (t.cw_x, t.x, s["fam_x"]) if x else (t.cw_y, t.y, s["fam_y"])
        family, marker = fams[i % len(fams)], f"{burst}-c{i}"
        add("create_case", {"marker": marker, "authority": auth, "family": family["id"], "wants": not x},
            lambda key=key, auth=auth, family=family, marker=marker, x=x:
            key.post("/v1/cases", case_body(auth, family, marker, wants_supporter=not x)))
    for i in range(10):  # supporter creates
        key, auth = (t.cw_x, t.x) if i % 2 else (t.cw_y, t.y)
        marker = f"{burst}-s{i}"
        add("create_supporter", {"marker": marker, "authority": auth},
            lambda key=key, auth=auth, marker=marker: key.post("/v1/supporters", supporter_body([auth], marker, 3)))
    for i in range(10):  # reads of one's own cases and families, X and Y
        for key, fams, cases in ((t.cw_x, s["fam_x"], s["case_x"]), (t.cw_y, s["fam_y"], s["case_y"])):
            c, f = cases[i % len(cases)], fams[(i + 3) % len(fams)]
            add("read_case", {"id": c["id"], "marker": c["summary"]},
                lambda key=key, c=c: key.get(f"/v1/cases/{c['id']}"))
            add("read_family", {"id": f["id"], "marker": f["parents"][0]["familyName"]},
                lambda key=key, f=f: key.get(f"/v1/families/{f['id']}"))
    for i in range(10):  # reads of the other authority's: as a random id
        if i % 2:
            path = (f"/v1/cases/{s['case_x'][i % 6]['id']}" if i % 4 == 1
                    else f"/v1/families/{s['fam_x'][i % 6]['id']}")
            key = t.cw_y
        else:
            path = (f"/v1/cases/{s['case_y'][i % 6]['id']}" if i % 4 == 0
                    else f"/v1/supporters/{s['sup_y'][i % 3]['id']}")
            key = t.cw_x
        add("read_foreign", {"path": path}, lambda key=key, path=path: key.get(path))
    for i in range(10):  # reads of supporters
        sup = (s["primaries"] + [s["backup"]])[i % (PRIMARIES + 1)] if i % 2 else s["sup_y"][i % 3]
        key = t.cw_x if i % 2 else t.cw_y
        add("read_supporter", {"id": sup["id"], "marker": sup["familyName"]},
            lambda key=key, sup=sup: key.get(f"/v1/supporters/{sup['id']}"))
    for i in range(16):  # lists
        x = i % 2 == 1
        key, auth = (t.cw_x, t.x) if x else (t.cw_y, t.y)
        if i % 4 < 2:
            known = {c["id"] for c in (s["case_x"] if x else s["case_y"] + s["mr_cases"])}
            add("list_cases", {"authority": auth, "known": known},
                lambda key=key, auth=auth: key.get(f"/v1/cases?authorityId={auth}&pageSize=200"))
        else:
            known = {p["id"] for p in (s["primaries"] + [s["backup"]] if x else s["sup_y"])}
            add("list_supporters", {"authority": auth, "known": known},
                lambda key=key, auth=auth: key.get(f"/v1/supporters?authorityId={auth}&pageSize=200"))
    for i in range(10):  # candidate rankings for X's cases
        c = s["case_x"][i % 6]
        add("candidates", {"case": c["id"]}, lambda c=c: t.cw_x.post(f"/v1/cases/{c['id']}/candidates", {}))
    for i, c in enumerate(s["mr_cases"]):  # match requests; the first five cases twice at once
        for _ in range(2 if i < 5 else 1):
            add("match_request", {"case": c["id"]},
                lambda c=c: t.cw_y.post("/v1/match-requests", {"caseId": c["id"]}))
    # Accepts racing for PLACES places each: a supporter's OFFERS_EACH accepts
    # wait for one another and go at once, among the rest of the mix (at most
    # PRIMARIES * (OFFERS_EACH - 1) client threads wait, fewer than CLIENTS).
    barriers = [threading.Barrier(OFFERS_EACH, timeout=60) for _ in range(PRIMARIES)]

    def accept(k, offer):
        barriers[k].wait()
        return s["supporter_keys"][k].post(f"/v1/offers/{offer['id']}/accept", {})
    for i, mr in enumerate(s["race"]):
        k = i // OFFERS_EACH
        offer = mr["currentOffer"]
        add("accept", {"offer": offer["id"], "request": mr["id"], "supporter": offer["supporterId"]},
            lambda k=k, offer=offer: accept(k, offer))
    assert len(tasks) == 200, len(tasks)
    random.Random(burst).shuffle(tasks)  # a different order each run
    return tasks


def _send(task):
    kind, about, fn = task
    try:
        r = fn()
    except requests.RequestException as e:
        return kind, about, None, str(e), None
    try:
        body = r.json()
    except ValueError:
        body = r.text
    return kind, about, r.status_code, body, r.headers.get("X-Request-Id")


def _run(t, db, pre, burst, intake_pids, matching_pids):
    s = _setup(t, pre)
    tasks = _tasks(t, s, burst)
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(_send, tasks))

    by_kind = {}
    for kind, about, status, body, rid in answers:
        by_kind.setdefault(kind, []).append((about, status, body, rid))
    failures = [(k, a, st, b) for k, a, st, b, _ in answers
                if st is None or st >= 500 or (st >= 400 and k not in ("read_foreign", "match_request", "accept"))]
    assert not failures, failures[:10]

    _check_reads(by_kind)
    _check_lists(t, by_kind, db)
    families = _check_family_creates(db, burst, by_kind["create_family"])
    assert len(families) == 30
    _check_case_creates(db, burst, by_kind["create_case"])
    _check_supporter_creates(db, burst, by_kind["create_supporter"])
    _check_match_requests(db, by_kind["match_request"])
    _check_accepts(t, db, s, by_kind["accept"])
    _check_places(db, [t.x, t.y])
    _check_events(db, by_kind["create_case"])

    # Every process served part of the burst, and (with more than one thread)
    # served requests at the same time.
    rids = {rid for *_, rid in answers if rid}
    for service, pids in (("intake", intake_pids), ("matching", matching_pids)):
        spans = _served(service, rids)
        assert {pid for pid, *_ in spans} == pids, (service, {pid for pid, *_ in spans}, pids)
        if THREADS > 1:
            assert _overlaps(spans) > 0, f"no {service} process served two requests at once"
        errors = [rec for rec in _log_records(service) if rec.get("level") == "error"
                  and rec.get("pid") in pids and rec.get("requestId") in rids]
        assert not errors, errors[:5]


def _check_reads(by_kind):
    for kind in ("read_case", "read_family", "read_supporter"):
        assert len(by_kind[kind]) in (10, 20)
        for about, status, body, _ in by_kind[kind]:
            assert status == 200, (kind, about, body)
            # The object asked for, not another request's answer.
            assert body["id"] == about["id"], (kind, about, body)
            got = body["summary"] if kind == "read_case" else (
                body["parents"][0]["familyName"] if kind == "read_family" else body["familyName"])
            assert got == about["marker"], (kind, about, body)
    for about, status, body, _ in by_kind["read_foreign"]:
        assert status == 404, (about, status, body)
    for about, status, body, _ in by_kind["candidates"]:
        assert status == 200, (about, body)
        assert body["items"], body
        for item in body["items"]:
            assert sum(r["points"] for r in item["reasons"]) == item["score"], item


def _check_lists(t, by_kind, db):
    x_supporters = {str(r[0]) for r in rows(db, "SELECT id FROM matching.supporters WHERE %s = ANY (authority_ids)",
                                           t.x)}
    for about, status, body, _ in by_kind["list_cases"]:
        assert status == 200, body
        ids = {c["id"] for c in body["items"]}
        assert about["known"] <= ids, (about["known"] - ids)
        assert all(c["authorityId"] == about["authority"] for c in body["items"]), body
    for about, status, body, _ in by_kind["list_supporters"]:
        assert status == 200, body
        ids = {p["id"] for p in body["items"]}
        assert about["known"] <= ids, (about["known"] - ids)
        assert all(about["authority"] in p["authorityIds"] for p in body["items"]), body
    for about, status, body, _ in by_kind["candidates"]:
        assert {i["supporterId"] for i in body["items"]} <= x_supporters, body


def _by_marker(answers, field):
    """{marker: answer body} of the 201s, each checked to carry its own marker."""
    out = {}
    for about, status, body, _ in answers:
        assert status == 201, (about, body)
        assert field(body) == about["marker"], (about, body)  # the answer to this create, not another's
        assert about["marker"] not in out
        out[about["marker"]] = body
    return out


def _check_family_creates(db, burst, answers):
    made = _by_marker(answers, lambda b: b["parents"][0]["familyName"])
    got = rows(db, "SELECT f.id::text, f.authority_id::text, p.family_name, count(*) FROM intake.families f"
                   " JOIN intake.parents p ON p.family_id = f.id WHERE p.family_name LIKE %s"
                   " GROUP BY f.id, f.authority_id, p.family_name", f"{burst}-f%")
    assert sorted(r[2] for r in got) == sorted(made), "a family without a 201, or a 201 without its family"
    for fid, authority, marker, parents in got:
        assert (fid, authority, parents) == (made[marker]["id"], made[marker]["authorityId"], 2), (marker, fid)
        assert rows(db, "SELECT count(*) FROM intake.children WHERE family_id = %s", fid)[0][0] == 1
    return made


def _check_case_creates(db, burst, answers):
    made = _by_marker(answers, lambda b: b["summary"])
    for about, _, body, _ in answers:
        assert (body["familyId"], body["authorityId"]) == (about["family"], about["authority"]), body
    got = rows(db, "SELECT id::text, summary, family_id::text FROM intake.cases WHERE summary LIKE %s", f"{burst}-c%")
    assert sorted(r[1] for r in got) == sorted(made), "a case without a 201, or a 201 without its case"
    for cid, marker, family in got:
        assert (cid, family) == (made[marker]["id"], made[marker]["familyId"]), marker


def _check_supporter_creates(db, burst, answers):
    made = _by_marker(answers, lambda b: b["familyName"])
    got = rows(db, "SELECT s.id::text, s.family_name, p.capacity, p.active, p.pending FROM matching.supporters s"
                   " JOIN matching.supporter_places p ON p.supporter_id = s.id WHERE s.family_name LIKE %s",
               f"{burst}-s%")
    assert sorted(r[1] for r in got) == sorted(made), "a supporter without a 201, or a 201 without its row"
    for sid, marker, capacity, active, _ in got:
        assert (sid, capacity, active) == (made[marker]["id"], 3, 0), marker


def _check_match_requests(db, answers):
    by_case = {}
    for about, status, body, _ in answers:
        by_case.setdefault(about["case"], []).append((status, body))
    for case_id, got in by_case.items():
        created = [b for st, b in got if st == 201]
        refused = [b for st, b in got if st != 201]
        # Exactly one request a case, however many raced to make it.
        assert len(created) == 1, (case_id, got)
        assert all(st == 409 and "already has an open match request" in b["detail"] for st, b in got if st != 201), got
        assert len(refused) == len(got) - 1
        mr = created[0]
        assert mr["caseId"] == case_id, mr
        db_rows = rows(db, "SELECT id::text, source FROM matching.match_requests WHERE case_id = %s", case_id)
        assert db_rows == [(mr["id"], "api")], (db_rows, mr)
        # Offered: that offer is the request's one pending offer. (A waiting
        # one the sweeper may offer since; Y's supporters have room for all.)
        assert mr["status"] == "offered", mr
        pending = rows(db, "SELECT id::text, supporter_id::text FROM matching.offers"
                           " WHERE match_request_id = %s AND status = 'pending'", mr["id"])
        assert pending == [(mr["currentOffer"]["id"], mr["currentOffer"]["supporterId"])], (pending, mr)


def _check_accepts(t, db, s, answers):
    prim = [p["id"] for p in s["primaries"]]
    accepted = {p: [] for p in prim}
    for about, status, body, _ in answers:
        assert status in (200, 409), (about, status, body)
        if status == 200:
            # The answer to this accept: this offer, now an assignment.
            assert (body["id"], body["status"], body["supporterId"]) == (about["offer"], "accepted", about["supporter"])
            accepted[about["supporter"]].append(body)
            a = rows(db, "SELECT supporter_id::text, offer_id::text, status FROM matching.assignments WHERE id = %s",
                     body["assignmentId"])
            assert a == [(about["supporter"], about["offer"], "active")], a
            continue
        # A refusal says why, and where the family went.
        assert "no place left" in body["detail"], body
        mr = t.cw_x.get(f"/v1/match-requests/{about['request']}").json()
        offers = {o["id"]: o for o in mr["offers"]}
        assert offers[about["offer"]]["status"] == "withdrawn", ("refused, yet the offer is still open", body, mr)
        if "offered to the next candidate" in body["detail"]:
            nxt = body["detail"].rsplit("(offer ", 1)[1].rstrip(")")
            assert mr["status"] == "offered" and mr["currentOffer"]["id"] == nxt, (body, mr)
            assert mr["currentOffer"]["supporterId"] not in prim, mr
        else:  # the sweeper may have offered it since, never to a full supporter
            assert "is waiting for a supporter" in body["detail"], body
            assert mr["status"] == "waiting" or mr["currentOffer"]["supporterId"] not in prim, (body, mr)
    for p in prim:
        # Every place taken, none more.
        assert len(accepted[p]) == PLACES, (p, accepted[p])
        got = rows(db, "SELECT"
                       " (SELECT count(*) FROM matching.assignments WHERE supporter_id = %s AND status = 'active'),"
                       " (SELECT count(*) FROM matching.offers WHERE supporter_id = %s AND status = 'accepted'),"
                       " (SELECT active FROM matching.supporter_places WHERE supporter_id = %s)", p, p, p)
        assert got == [(PLACES, PLACES, PLACES)], (p, got)


def _check_places(db, authorities):
    """Every supporter of these authorities: the counters agree with the rows,
    and no one is over capacity."""
    got = rows(db, "SELECT s.id, p.capacity, p.active, p.pending,"
                   " (SELECT count(*) FROM matching.assignments a WHERE a.supporter_id = s.id AND a.status = 'active'),"
                   " (SELECT count(*) FROM matching.offers o WHERE o.supporter_id = s.id AND o.status = 'pending')"
                   " FROM matching.supporters s JOIN matching.supporter_places p ON p.supporter_id = s.id"
                   " WHERE s.authority_ids && %s::uuid[]", authorities)
    assert len(got) == PRIMARIES + 1 + 3 + 10, got
    for sid, capacity, active, pending, n_active, n_pending in got:
        assert active <= capacity, (sid, capacity, active)
        assert (active, pending) == (n_active, n_pending), (sid, active, pending, n_active, n_pending)


def _check_events(db, case_answers):
    """Each case that wants a supporter gets exactly one match request, made
    by matching from intake's event, however many relays and workers run."""
    wanted = [body["id"] for about, _, body, _ in case_answers if about["wants"]]
    assert len(wanted) == 15
    end, got = time.time() + 30, []
    while time.time() < end:
        got = rows(db, "SELECT case_id::text, count(*), min(source) FROM matching.match_requests"
                       " WHERE case_id = ANY (%s::uuid[]) GROUP BY case_id", wanted)
        if len(got) == len(wanted):
            break
        time.sleep(0.2)
    assert sorted(got) == sorted((c, 1, "event") for c in wanted), got
    events = rows(db, "SELECT subject_id::text, count(*) FROM intake.outbox WHERE type = 'case.supporter_requested'"
                      " AND subject_id = ANY (%s::uuid[]) GROUP BY subject_id", wanted)
    assert sorted(events) == sorted((c, 1) for c in wanted), events
