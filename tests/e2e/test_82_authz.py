"""Authorization inside the consortium (issue 8, items 8 and 10): an admin
acts only on API clients and audit rows of authorities it holds; a supporter
key is bound to one supporter and answers only its offers; an analyst cannot
subtract its way to a suppressed count; a partner agency opens cases only on
families its own client registered, and sees of them what a referrer sees;
an authority named twice is refused."""
import uuid

import conftest
from authz_helpers import Maker, all_items, key_api
from conftest import Api, case_body, client_id_of, family_body, make_client
from intake_helpers import agency_body
from matching_helpers import make_case, make_supporter, request_match, supporter_body, tenant, wait_for  # noqa: F401


def _delete(api, path):
    return api.s.delete(api.base + path, timeout=10)


def _same_problem(a, b):
    """Two problem answers alike but for where and when they were asked."""
    strip = {"instance", "requestId"}
    return a.status_code == b.status_code and (
        {k: v for k, v in a.json().items() if k not in strip} == {k: v for k, v in b.json().items() if k not in strip})


# ---- API clients and the audit trail --------------------------------------------


def test_an_admin_lists_and_revokes_only_clients_whose_every_authority_it_holds():
    m = Maker()
    p, q = m.authority("P"), m.authority("Q")
    admin_p = key_api(m.client(["consortium_admin"], [p]))
    admin_pq = key_api(m.client(["consortium_admin"], [p, q]))
    c_p, c_q, c_pq = (m.client(["caseworker"], a) for a in ([p], [q], [p, q]))

    seen = {c["id"] for c in all_items(admin_p, "/v1/clients")}
    assert c_p["id"] in seen and c_q["id"] not in seen and c_pq["id"] not in seen
    assert {c_p["id"], c_q["id"], c_pq["id"]} <= {c["id"] for c in all_items(admin_pq, "/v1/clients")}

    random = _delete(admin_p, f"/v1/clients/{uuid.uuid4()}")
    assert random.status_code == 404
    for other in (c_q, c_pq):
        r = _delete(admin_p, f"/v1/clients/{other['id']}")
        assert _same_problem(r, random), r.text
        assert key_api(other).get("/v1/cases").status_code == 200  # not revoked
    r = _delete(admin_p, f"/v1/clients/{c_p['id']}")
    assert r.status_code == 200 and r.json()["revokedAt"]
    r = _delete(admin_pq, f"/v1/clients/{c_pq['id']}")
    assert r.status_code == 200 and r.json()["revokedAt"]


def test_the_audit_trail_shows_an_admin_only_rows_about_authorities_it_holds():
    m = Maker()
    p, q = m.authority("P"), m.authority("Q")
    admin_p = key_api(m.client(["consortium_admin"], [p]))
    admin_pq = key_api(m.client(["consortium_admin"], [p, q]))
    cw_q = m.client(["caseworker"], [q])
    api_q = key_api(cw_q)
    fam = api_q.post("/v1/families", family_body(q))
    assert fam.status_code == 201, fam.text
    assert api_q.get(f"/v1/families/{fam.json()['id']}").status_code == 200
    assert api_q.get("/v1/cases").status_code == 200  # a list: a row about no authority

    want = {("create", q), ("read", q), ("list", None)}  # each row is written just after its answer
    rows = wait_for(lambda: want <= {(r["action"], r.get("authorityId"))
                                     for r in all_items(admin_pq, "/v1/audit", clientId=cw_q["id"])})
    assert rows, all_items(admin_pq, "/v1/audit", clientId=cw_q["id"])
    # Q's family and what Q's caseworker did without naming an authority are not P's admin's to read.
    assert all_items(admin_p, "/v1/audit", clientId=cw_q["id"]) == []
    assert all_items(admin_p, "/v1/audit", recordId=fam.json()["id"]) == []
    # Rows about no authority are not hidden from everyone: P's admin reads its own.
    own = client_id_of(admin_p.s.headers["Authorization"].split(" ")[1])
    assert wait_for(lambda: [r["action"] for r in all_items(admin_p, "/v1/audit", clientId=own)][:1] == ["list"])


# ---- supporter keys -------------------------------------------------------------------


def test_a_supporter_key_names_a_supporter_serving_its_authorities_and_no_staff_role(tenant):
    s_x = make_supporter(tenant.cw_x, [tenant.x])
    s_y = make_supporter(tenant.cw_y, [tenant.y])

    def create(api=conftest._owner[tenant.x], roles=("supporter",), **extra):
        return api.post("/v1/clients", {"name": "a supporter", "roles": list(roles), "authorityIds": [tenant.x],
                                        **extra})

    def fields(r):
        assert r.status_code == 400, r.text
        return [e["field"] for e in r.json()["errors"]]

    assert fields(create()) == ["supporterId"]
    random = create(supporterId=str(uuid.uuid4()))
    assert fields(random) == ["supporterId"]
    assert fields(create(supporterId=s_y["id"])) == ["supporterId"]  # serves Y, not X
    assert "roles" in fields(create(roles=("supporter", "caseworker"), supporterId=s_x["id"]))
    assert fields(create(roles=("caseworker",), supporterId=s_x["id"])) == ["supporterId"]
    # An admin who cannot see the supporter is told exactly what a random id gets.
    admin_x = tenant._client(["consortium_admin"], [tenant.x])
    hidden = admin_x.post("/v1/clients", {"name": "s", "roles": ["supporter"], "authorityIds": [tenant.x],
                                          "supporterId": s_y["id"]})
    assert _same_problem(hidden, random), hidden.text

    r = create(supporterId=s_x["id"])
    assert r.status_code == 201, r.text
    assert r.json()["supporterId"] == s_x["id"] and r.json()["roles"] == ["supporter"]
    listed = [c for c in all_items(tenant.admin, "/v1/clients") if c["id"] == r.json()["id"]]
    assert listed and listed[0]["supporterId"] == s_x["id"]


def test_a_supporter_key_answers_only_its_own_offers_and_lists_only_its_assignments(tenant):
    mine = make_supporter(tenant.cw_x, [tenant.x], specialisms=["autism"], areas=["N1"], capacity=1)
    other = make_supporter(tenant.cw_x, [tenant.x], capacity=2)
    key = tenant.supporter_key(mine)
    first = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"])
    second = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"])  # `mine` is full: to `other`
    assert first["currentOffer"]["supporterId"] == mine["id"]
    assert second["currentOffer"]["supporterId"] == other["id"]
    theirs = second["currentOffer"]["id"]

    for verb in ("accept", "decline"):
        random = key.post(f"/v1/offers/{uuid.uuid4()}/{verb}", {})
        assert random.status_code == 404
        r = key.post(f"/v1/offers/{theirs}/{verb}", {})
        assert _same_problem(r, random), r.text
    still = tenant.cw_x.get(f"/v1/match-requests/{second['id']}").json()
    assert still["currentOffer"]["id"] == theirs and still["currentOffer"]["status"] == "pending"

    accepted = key.post(f"/v1/offers/{first['currentOffer']['id']}/accept", {})
    assert accepted.status_code == 200, accepted.text
    staff = tenant.cw_x.post(f"/v1/offers/{theirs}/accept", {})  # staff act for any supporter
    assert staff.status_code == 200, staff.text

    listed = key.get("/v1/assignments").json()["items"]
    assert [a["id"] for a in listed] == [accepted.json()["assignmentId"]]
    assert key.get("/v1/assignments", params={"supporterId": other["id"]}).json()["items"] == []
    everyone = tenant.cw_x.get("/v1/assignments").json()["items"]
    assert {a["supporterId"] for a in everyone} == {mine["id"], other["id"]}


# ---- unmet demand: secondary suppression --------------------------------------------


def _derivable(summary, groups, threshold=5):
    """Whether a hidden group's count follows from the shown total and groups."""
    if summary["suppressed"]:
        return False
    hidden = [g for g in groups if g["suppressed"]]
    if not hidden:
        return False
    d = summary["waitingFamilies"] - sum(g["waitingFamilies"] for g in groups if not g["suppressed"])
    m = len(hidden)
    return m < 2 or d - (m - 1) < threshold or d == m * (threshold - 1)


def test_an_analyst_cannot_work_out_a_suppressed_group_from_the_authoritys_total(tenant):
    # Nobody serves X: every family waits. 7 English/autism, 6 English/ADHD, 1 Polish.
    for needs, n in ((("autism",), 7), (("ADHD",), 6)):
        for _ in range(n):
            assert request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x, needs=needs)["id"])["status"] == "waiting"
    polish = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"], needs=())
    assert request_match(tenant.cw_x, polish["id"])["status"] == "waiting"

    def view(api):
        r = api.get("/v1/matching/unmet-demand", params={"authorityId": tenant.x})
        assert r.status_code == 200, r.text
        got = r.json()
        (summary,) = [a for a in got["authorities"] if a["authorityId"] == tenant.x]
        return summary, {(g["language"], g["need"]): g for g in got["items"] if g["authorityId"] == tenant.x}

    summary, groups = view(tenant.cw_x)  # staff see every figure
    assert summary["waitingFamilies"] == 14
    assert {k: g["waitingFamilies"] for k, g in groups.items()} == {("en", "asd"): 7, ("en", "semh"): 6,
                                                                  ("pl", "general"): 1}
    summary, groups = view(tenant.analyst_x)
    assert groups[("pl", "general")]["suppressed"] is True
    assert not _derivable(summary, list(groups.values())), (summary, groups)
    # The rule hides no more than it must: the total and the largest group stay.
    assert summary["waitingFamilies"] == 14 and groups[("en", "asd")]["waitingFamilies"] == 7
    hidden = groups[("en", "semh")]
    assert hidden["suppressed"] is True
    assert (hidden["waitingFamilies"], hidden["placesShort"], hidden["supportersShort"], hidden["longestWaitDays"]) == (
        0, 0, 0, 0)


# ---- a partner agency's cases -------------------------------------------------------------


def _problem(r):
    return r.status_code, {k: v for k, v in r.json().items() if k not in ("instance", "requestId")}


def test_a_partner_opens_cases_only_on_families_its_own_client_registered(partner_a, cw_a, authority_a, db):
    staff_family = cw_a.post("/v1/families", family_body(authority_a)).json()
    other_partner = Api(make_client(["partner_agency"], [authority_a]))
    theirs = other_partner.post("/v1/families", family_body(authority_a)).json()
    mine = partner_a.post("/v1/families", family_body(authority_a)).json()
    random = {"id": str(uuid.uuid4()), "children": [{"id": str(uuid.uuid4())}]}

    answers = {name: _problem(partner_a.post("/v1/cases", case_body(authority_a, fam)))
               for name, fam in (("random", random), ("staff", staff_family), ("theirs", theirs))}
    assert answers["random"][0] == 400 and [e["field"] for e in answers["random"][1]["errors"]] == ["familyId"]
    assert answers["staff"] == answers["random"] and answers["theirs"] == answers["random"]
    # A child of another family is refused as a random child is, in its own family too.
    mixed = case_body(authority_a, mine, childId=theirs["children"][0]["id"])
    random_child = case_body(authority_a, mine, childId=str(uuid.uuid4()))
    assert _problem(partner_a.post("/v1/cases", mixed)) == _problem(partner_a.post("/v1/cases", random_child))
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.cases WHERE family_id = ANY (%s::uuid[])",
                  ([staff_family["id"], theirs["id"], mine["id"]],))
        assert c.fetchone()[0] == 0
    assert partner_a.post("/v1/cases", case_body(authority_a, mine)).status_code == 201
    assert cw_a.post("/v1/cases", case_body(authority_a, theirs)).status_code == 201  # staff may


def test_a_partners_new_case_carries_only_what_a_referrer_sees(partner_a, cw_a, authority_a):
    fam = partner_a.post("/v1/families", family_body(authority_a)).json()
    child = fam["children"][0]["id"]
    r = cw_a.post(f"/v1/children/{child}/views", {"recordedOn": "2024-01-10", "method": "drawing",
                                                   "summary": "Draws the noisy hall.", "wishes": "A quiet space",
                                                   "recordedBy": "Caseworker"})
    assert r.status_code == 201, r.text
    r = partner_a.post("/v1/cases", case_body(authority_a, fam))
    assert r.status_code == 201, r.text
    seen = r.json()
    assert seen["status"] == "open" and seen["authorityId"] == authority_a
    assert {"id", "createdAt", "updatedAt"} <= set(seen)
    assert not {"familyId", "childId", "summary", "consent", "source", "viewsLastRecordedOn"} & set(seen), seen
    assert "viewsSought" not in seen and seen["needs"] == [] and seen["wantsSupporter"] is False
    assert "EHC needs assessment" not in r.text
    full = cw_a.get(f"/v1/cases/{seen['id']}").json()
    assert full["viewsSought"] is True and full["familyId"] == fam["id"]  # it is all there for staff


# ---- authorityIds named twice ------------------------------------------------------------


def test_an_authority_named_twice_is_400_naming_the_repeat(admin, cw_a, authority_a, authority_b, db):
    twice = [authority_a, authority_b, authority_a]
    name = f"twice {uuid.uuid4().hex[:8]}"
    posts = [
        (admin, "/v1/clients", {"name": name, "roles": ["caseworker"], "authorityIds": twice}),
        (admin, "/v1/supporters", supporter_body(twice, familyName=name)),
        (admin, "/v1/agencies", agency_body(twice, name=name)),
        (admin, "/v1/resources", {"key": f"twice-{uuid.uuid4().hex[:6]}", "title": name, "topic": "rights",
                                  "language": "en", "format": "standard", "url": "https://example.org/x.pdf",
                                  "reviewDueOn": "2030-01-01", "summary": "What the authority must do.",
                                  "authorityIds": twice}),
    ]
    for api, path, body in posts:
        r = api.post(path, body)
        assert r.status_code == 400, (path, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["authorityIds[2]"], (path, r.text)
    supporter = make_supporter(cw_a, [authority_a])
    r = cw_a.s.patch(f"{cw_a.base}/v1/supporters/{supporter['id']}", json={"authorityIds": [authority_a, authority_a]},
                     timeout=10)
    assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["authorityIds[1]"], r.text
    with db.cursor() as c:
        c.execute("SELECT (SELECT count(*) FROM gateway.api_clients WHERE name = %s)"
                  " + (SELECT count(*) FROM matching.supporters WHERE family_name = %s)"
                  " + (SELECT count(*) FROM intake.agencies WHERE name = %s)"
                  " + (SELECT count(*) FROM intake.resources WHERE title = %s)", (name, name, name, name))
        assert c.fetchone()[0] == 0
