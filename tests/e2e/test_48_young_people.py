"""Young people aged 16 to 25 as clients in their own right (issue 12,
item 2): their own record and case, their own consent, language and voice;
parents only with their agreement; the statutory timeline, signposting,
matching (post-16 experience) and partner referrals work for them as for a
family; another authority sees nothing."""
import datetime
import subprocess

import pytest

from conftest import ENV, ROOT, london_today, wait_for
from intake_helpers import agency_body
from matching_helpers import candidates, make_supporter, patch, request_match, tenant  # noqa: F401 (tenant: a fixture)
from young_helpers import LINK_BODY, born_years_ago, young_case_body, young_person_body


def _fields(r):
    return [e["field"] for e in r.json().get("errors", [])]


def _created(api, path, body):
    r = api.post(path, body)
    assert r.status_code == 201, r.text
    got = r.json()
    # Every Location answers GET with what the POST answered.
    loc = api.get(r.headers["Location"])
    assert loc.status_code == 200 and loc.json() == got, (r.headers["Location"], loc.text)
    return got


def _young_person(api, authority, **over):
    return _created(api, "/v1/young-people", young_person_body(authority, **over))


def _count(db, table, column, value):
    with db.cursor() as c:
        c.execute(f"SELECT count(*) FROM intake.{table} WHERE {column} = %s", (value,))
        return c.fetchone()[0]


@pytest.mark.timeout(120)
def test_a_17_year_old_opens_a_case_in_their_own_right_with_a_timeline_signposts_and_a_supporter(tenant, db):
    cw = tenant.cw_x
    yp = _young_person(cw, tenant.x, dateOfBirth=born_years_ago(17, days=-100))
    assert yp["preferredLanguage"] == "pt" and yp["needs"] == [{"type": "asd", "detail": "autism"}] and yp["email"] == "leah.okafor@example.org"
    # A parent takes part with her agreement; matching must still use her own language, not her mother's.
    _created(cw, f"/v1/young-people/{yp['id']}/parents", LINK_BODY)

    case = _created(cw, "/v1/cases", young_case_body(tenant.x, yp))
    assert case["youngPersonId"] == yp["id"] and case["status"] == "open"
    assert "familyId" not in case and "childId" not in case
    assert case["consent"]["lawfulBasis"] == "consent" and case["consent"]["givenBy"] == "Leah Okafor (herself)"
    assert case["viewsSought"] is False

    # The statutory timeline.
    requested = (london_today() - datetime.timedelta(days=20)).isoformat()
    _created(cw, f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": requested})
    timeline = cw.get(f"/v1/cases/{case['id']}/timeline")
    assert timeline.status_code == 200, timeline.text
    kinds = {d["kind"]: d for d in timeline.json()["deadlines"]}
    assert kinds["assessment_decision"]["dueOn"] == (london_today() + datetime.timedelta(days=22)).isoformat()
    assert "final_plan" in kinds
    # A stage cannot be dated before she was born.
    r = cw.post(f"/v1/cases/{case['id']}/stages", {"stage": "sen_support", "on": "2001-01-01"})
    assert r.status_code == 400 and _fields(r) == ["on"] and "date of birth" in r.json()["errors"][0]["message"], r.text

    # Signposting: automatic when the draft plan is issued (by her needs and her language), and by hand.
    speaks_pt = _created(cw, "/v1/agencies", agency_body([tenant.x], needs=["autism"], languages=["pt"]))
    _created(cw, f"/v1/cases/{case['id']}/stages", {"stage": "draft_plan_issued", "on": london_today().isoformat()})
    signposts = cw.get(f"/v1/cases/{case['id']}/signposts").json()["items"]
    automatic = [s for s in signposts if s["method"] == "automatic"]
    assert speaks_pt["id"] in [s["agencyId"] for s in automatic], signposts
    other = _created(cw, "/v1/agencies", agency_body([tenant.x], needs=["transition"], languages=["en"]))
    manual = _created(cw, f"/v1/cases/{case['id']}/signposts",
                      {"agencyId": other["id"], "on": london_today().isoformat(), "method": "phone"})
    assert manual["caseId"] == case["id"]

    # A supporter who knows post-16 and transition, in her language, ranks first, and says why.
    post16 = make_supporter(cw, [tenant.x], languages=["pt", "en"], specialisms=["post_16", "autism"])
    plain = make_supporter(cw, [tenant.x], languages=["pt", "en"], specialisms=["autism"])
    mothers = make_supporter(cw, [tenant.x], languages=["yo", "en"], specialisms=["post_16", "autism"])
    got = candidates(cw, case["id"])
    ids = [c["supporterId"] for c in got["items"]]
    assert ids[0] == post16["id"], got
    # Her own language, not her mother's: with no English of her own, Portuguese is needed.
    assert plain["id"] in ids and mothers["id"] not in ids and got["requiredLanguage"] == "pt", got
    best = got["items"][0]
    assert sum(r["points"] for r in best["reasons"]) == best["score"]
    specialism = next(r for r in best["reasons"] if r["factor"] == "specialism")
    assert "post_16" in specialism["detail"], specialism
    language = next(r for r in best["reasons"] if r["factor"] == "language")
    assert "(pt)" in language["detail"] and language["points"] > 0, language
    # Matching's profile of the case is the young person's own.
    with db.cursor() as c:
        c.execute("SELECT young_person, family_id, languages, child_needs FROM matching.case_profiles"
                  " WHERE case_id = %s", (case["id"],))
        assert c.fetchone() == (True, yp["id"], ["pt"], ["asd"])
    # And asked for, that supporter is offered to her.
    mr = request_match(cw, case["id"])
    assert mr["currentOffer"]["supporterId"] == post16["id"], mr


@pytest.mark.timeout(60)
def test_a_supporter_requested_by_a_young_person_reaches_matching_as_theirs(tenant, db):
    cw = tenant.cw_x
    yp = _young_person(cw, tenant.x, preferredLanguage="cy")
    case = _created(cw, "/v1/cases", young_case_body(tenant.x, yp, wantsSupporter=True))

    def profile():
        with db.cursor() as c:
            c.execute("SELECT young_person, family_id, languages, source FROM matching.case_profiles"
                      " WHERE case_id = %s", (case["id"],))
            return c.fetchone()
    assert wait_for(profile) == (True, yp["id"], ["cy"], "event")
    with db.cursor() as c:
        c.execute("SELECT data->>'youngPersonId', data->'familyId', data->'languages' FROM intake.outbox"
                  " WHERE subject_id = %s AND type = 'case.supporter_requested'", (case["id"],))
        assert c.fetchone() == (yp["id"], None, ["cy"])


@pytest.mark.timeout(240)
def test_the_deadline_sweep_tells_a_young_person_in_their_own_language(cw_a, authority_a, db):
    yp = _young_person(cw_a, authority_a)
    case = _created(cw_a, "/v1/cases", young_case_body(authority_a, yp))
    requested = (london_today() - datetime.timedelta(days=40)).isoformat()  # the decision is due in 2 days
    _created(cw_a, f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": requested})

    def announced():
        with db.cursor() as c:
            c.execute("SELECT data FROM intake.outbox WHERE subject_id = %s AND type = 'case.deadline_due'",
                      (case["id"],))
            return [r[0] for r in c.fetchall()]
    # A second instance sweeping every 100 ms (the first sweeps hourly).
    try:
        subprocess.run([str(ROOT / "scripts" / "stack"), "scale", "intake", "2"], cwd=ROOT,
                       env={**ENV, "PARLEY_DEADLINE_SWEEP_MS": "100"}, check=True, capture_output=True, text=True,
                       timeout=180)
        events = wait_for(announced, timeout=30)
    finally:
        subprocess.run([str(ROOT / "scripts" / "stack"), "scale", "intake", "1"], cwd=ROOT, env=ENV, check=True,
                       capture_output=True, text=True, timeout=180)
    assert len(events) == 1, events
    e = events[0]
    assert (e["kind"], e["daysRemaining"], e["youngPersonId"], e["familyId"]) == \
        ("assessment_decision", 2, yp["id"], None), e
    assert e["languages"] == ["pt"] and e["communicationNeeds"] == ["easy_read"], e


@pytest.mark.parametrize("years, days, ok", [
    (16, 1, False),   # 15: 16 tomorrow
    (16, 0, True),    # 16 today
    (26, 1, True),    # 25: 26 tomorrow
    (26, 0, False),   # 26 today
])
def test_a_young_person_is_16_to_25_on_the_london_date(cw_a, authority_a, db, years, days, ok):
    body = young_person_body(authority_a, dateOfBirth=born_years_ago(years, days=days))
    r = cw_a.post("/v1/young-people", body)
    if ok:
        assert r.status_code == 201, r.text
        return
    assert r.status_code == 400, r.text
    assert _fields(r) == ["dateOfBirth"], r.text
    assert "16 to 25" in r.json()["errors"][0]["message"]
    assert _count(db, "young_people", "family_name", body["familyName"]) == 0


def test_a_15_and_a_26_year_old_are_refused_naming_date_of_birth(cw_a, authority_a):
    for born in (born_years_ago(15, days=-30), born_years_ago(26, days=-30), "2099-01-01"):
        r = cw_a.post("/v1/young-people", young_person_body(authority_a, dateOfBirth=born))
        assert r.status_code == 400 and _fields(r) == ["dateOfBirth"], (born, r.text)


def test_a_case_has_exactly_one_client(cw_a, authority_a, family_a, db):
    yp = _young_person(cw_a, authority_a)
    both = young_case_body(authority_a, yp, familyId=family_a["id"], childId=family_a["children"][0]["id"])
    r = cw_a.post("/v1/cases", both)
    assert r.status_code == 400 and _fields(r) == ["youngPersonId"], r.text
    neither = young_case_body(authority_a, yp)
    del neither["youngPersonId"]
    r = cw_a.post("/v1/cases", neither)
    assert r.status_code == 400 and "familyId" in _fields(r), r.text
    r = cw_a.post("/v1/cases", young_case_body(authority_a, {"id": family_a["id"]}))  # not a young person
    assert r.status_code == 400 and _fields(r) == ["youngPersonId"], r.text
    assert _count(db, "cases", "young_person_id", yp["id"]) == 0
    # A family's case is as it was.
    r = cw_a.post("/v1/cases", {k: v for k, v in both.items() if k != "youngPersonId"} | {"consent": {
        "shareWithAgencies": True, "lawfulBasis": "public_task"}})
    assert r.status_code == 201 and r.json()["familyId"] == family_a["id"] and "youngPersonId" not in r.json()


def test_a_parent_is_linked_only_with_the_young_persons_agreement_and_unlinked_when_withdrawn(cw_a, authority_a, db):
    yp = _young_person(cw_a, authority_a)
    path = f"/v1/young-people/{yp['id']}/parents"
    without = {k: v for k, v in LINK_BODY.items() if k != "agreement"}
    r = cw_a.post(path, without)
    assert r.status_code == 400 and _fields(r) == ["agreement"], r.text
    r = cw_a.post(path, LINK_BODY | {"agreement": {"recordedOn": "2024-01-10"}})
    assert r.status_code == 400 and _fields(r) == ["agreement.how"], r.text
    assert _count(db, "young_person_parents", "young_person_id", yp["id"]) == 0

    linked = _created(cw_a, path, LINK_BODY)
    assert linked["agreement"] == LINK_BODY["agreement"] and linked["youngPersonId"] == yp["id"]
    assert [p["id"] for p in cw_a.get(path).json()["items"]] == [linked["id"]]

    r = cw_a.s.delete(cw_a.base + f"{path}/{linked['id']}", timeout=10)
    assert r.status_code == 200 and r.json()["id"] == linked["id"], r.text
    assert cw_a.get(f"{path}/{linked['id']}").status_code == 404
    assert cw_a.get(path).json()["items"] == []
    assert _count(db, "young_person_parents", "young_person_id", yp["id"]) == 0


def test_views_are_recorded_for_the_young_person_and_their_case_shows_them(cw_a, authority_a, case_a):
    yp = _young_person(cw_a, authority_a)
    case = _created(cw_a, "/v1/cases", young_case_body(authority_a, yp))
    assert case["viewsSought"] is False
    view = _created(cw_a, f"/v1/young-people/{yp['id']}/views",
                    {"recordedOn": "2025-09-10", "method": "conversation", "summary": "Wants to study animal care.",
                     "wishes": "A supported internship.", "recordedBy": "J. Patel"})
    assert view["youngPersonId"] == yp["id"]
    got = cw_a.get(f"/v1/cases/{case['id']}").json()
    assert got["viewsSought"] is True and got["viewsLastRecordedOn"] == "2025-09-10"
    assert [v["id"] for v in cw_a.get(f"/v1/young-people/{yp['id']}/views").json()["items"]] == [view["id"]]
    # On the timeline too: the young person's own voice, with when it was last sought.
    timeline = cw_a.get(f"/v1/cases/{case['id']}/timeline").json()
    assert [v["id"] for v in timeline["youngPersonViews"]] == [view["id"]], timeline
    assert timeline["viewsLastRecordedOn"] == "2025-09-10" and not timeline.get("views"), timeline
    assert cw_a.get(f"/v1/cases/{case_a['id']}").json()["viewsSought"] is False  # a family's case: its child's own
    r = cw_a.post(f"/v1/young-people/{yp['id']}/views",
                  {"recordedOn": "1990-01-01", "method": "conversation", "summary": "x", "recordedBy": "J"})
    assert r.status_code == 400 and _fields(r) == ["recordedOn"], r.text


def test_get_then_patch_round_trips_a_young_person(cw_a, authority_a):
    yp = _young_person(cw_a, authority_a)
    path = f"/v1/young-people/{yp['id']}"
    r = cw_a.get(path)
    got, etag = r.json(), r.headers["ETag"]
    # What GET gave, sent back whole: nothing changes, the version stays.
    r = patch(cw_a, path, got, **{"If-Match": etag})
    assert r.status_code == 200 and r.json() == got and r.headers["ETag"] == etag, r.text
    # A merge patch: only what is sent changes; null removes; an address merges.
    r = patch(cw_a, path, {"phone": "07700 900999", "email": None, "address": {"town": "Leeds"}}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    now = r.json()
    assert now["version"] == got["version"] + 1 and r.headers["ETag"] == f'"{now["version"]}"'
    assert now["phone"] == "07700 900999" and "email" not in now
    assert now["address"] == {**got["address"], "town": "Leeds"}
    assert {k: v for k, v in now.items() if k not in ("phone", "email", "address", "version", "updatedAt")} == \
        {k: v for k, v in got.items() if k not in ("phone", "email", "address", "version", "updatedAt")}
    # Stale If-Match; a read-only field with another value; a new date of birth out of range.
    assert patch(cw_a, path, {"phone": "07700 900111"}, **{"If-Match": etag}).status_code == 412
    r = patch(cw_a, path, {"authorityId": "00000000-0000-0000-0000-000000000001"})
    assert r.status_code == 400 and _fields(r) == ["authorityId"], r.text
    r = patch(cw_a, path, {"dateOfBirth": born_years_ago(14)})
    assert r.status_code == 400 and _fields(r) == ["dateOfBirth"], r.text
    assert cw_a.get(path).json() == now


def test_another_authority_gets_404_for_a_young_person_and_all_under_it(cw_a, cw_b, authority_a, authority_b):
    yp = _young_person(cw_a, authority_a)
    link = _created(cw_a, f"/v1/young-people/{yp['id']}/parents", LINK_BODY)
    view = _created(cw_a, f"/v1/young-people/{yp['id']}/views",
                    {"recordedOn": "2025-01-10", "method": "drawing", "summary": "S", "recordedBy": "A"})
    base = f"/v1/young-people/{yp['id']}"
    for path in (base, f"{base}/parents", f"{base}/parents/{link['id']}", f"{base}/views",
                 f"{base}/views/{view['id']}"):
        r = cw_b.get(path)
        assert r.status_code == 404, (path, r.text)
    assert patch(cw_b, base, {"phone": "07700 900111"}).status_code == 404
    assert cw_b.post(f"{base}/parents", LINK_BODY).status_code == 404
    assert cw_b.s.delete(cw_b.base + f"{base}/parents/{link['id']}", timeout=10).status_code == 404
    r = cw_b.post("/v1/cases", young_case_body(authority_b, yp))
    assert r.status_code == 400 and _fields(r) == ["youngPersonId"], r.text
    assert cw_a.get(f"{base}/parents/{link['id']}").status_code == 200  # nothing B did reached it


def test_a_partner_opens_a_case_only_for_a_young_person_it_registered(partner_a, cw_a, authority_a):
    mine = partner_a.post("/v1/young-people", young_person_body(authority_a))
    assert mine.status_code == 201, mine.text
    mine = mine.json()
    # What a registrant reads back: no contact details, needs or plan (lists are always written, empty).
    assert not {"email", "phone", "address", "planStatus", "school"} & set(mine) and mine["needs"] == [], mine
    assert mine["dateOfBirth"] and mine["givenName"] == "Leah"
    assert partner_a.get(f"/v1/young-people/{mine['id']}").json() == mine
    assert [y["id"] for y in partner_a.get("/v1/young-people").json()["items"]] == [mine["id"]]
    r = partner_a.post("/v1/cases", young_case_body(authority_a, mine, source="voluntary"))
    assert r.status_code == 201 and not {"youngPersonId", "summary", "consent", "familyId"} & set(r.json()), r.text
    referral = partner_a.get(f"/v1/referrals/{r.json()['id']}")
    assert referral.status_code == 200 and referral.json()["status"] == "open", referral.text
    theirs = _young_person(cw_a, authority_a)
    assert partner_a.get(f"/v1/young-people/{theirs['id']}").status_code == 404
    r = partner_a.post("/v1/cases", young_case_body(authority_a, theirs))
    assert r.status_code == 400 and _fields(r) == ["youngPersonId"], r.text
    assert partner_a.get(f"/v1/young-people/{mine['id']}/views").status_code == 403


def test_a_young_person_patch_that_makes_a_supporter_fit_re_matches_their_waiting_request(tenant, db):
    """As a family PATCH does (issue 12, item 1): the young person's new
    facts reach matching (young_person.updated) and their waiting request
    is tried again within the sweep interval."""
    cw = tenant.cw_x
    polish = make_supporter(cw, [tenant.x], languages=["pl"], specialisms=["post_16"])
    yp = _created(cw, "/v1/young-people", young_person_body(tenant.x, preferredLanguage="so",
                                                            communicationNeeds=["interpreter"]))
    case = _created(cw, "/v1/cases", young_case_body(tenant.x, yp))
    mr = request_match(cw, case["id"])
    assert mr["status"] == "waiting", mr
    r = patch(cw, f"/v1/young-people/{yp['id']}", {"preferredLanguage": "pl"})
    assert r.status_code == 200, r.text

    def offered():
        got = cw.get(f"/v1/match-requests/{mr['id']}").json()
        return got.get("currentOffer")
    got = wait_for(offered, timeout=20)
    assert got and got["supporterId"] == polish["id"], cw.get(f"/v1/match-requests/{mr['id']}").json()
