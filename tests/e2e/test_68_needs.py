"""One vocabulary of needs (issue 12, item 5): a child's needs, an agency's
and a supporter's are the DfE's primary types of SEN (spld ... nsa) with
detail beside them; matching scores the overlap code for code and names the
codes. A need sent as a plain string (the form before the codes) is coded
from its words, as the migrations coded stored text; a parent recorded
without a language is `unknown`, and matching says so instead of scoring an
English speaker as a full match."""
from matching_helpers import candidates, make_case, make_supporter, request_match, tenant  # noqa: F401 (fixture)

CODES = ["spld", "mld", "sld", "pmld", "semh", "slcn", "hi", "vi", "msi", "pd", "asd", "oth", "nsa"]

# Words a family or a school wrote before the codes, and the type each is.
WORDS = {"autism": "asd", "ASC": "asd", "dyslexia": "spld", "dyspraxia": "spld",
         "dyscalculia": "spld", "speech and language": "slcn", "hearing": "hi", "deaf": "hi",
         "visual impairment": "vi", "blind": "vi", "SEMH": "semh", "ADHD": "semh", "anxiety": "semh",
         "behaviour": "semh", "physical": "pd", "deafblind": "msi", "severe learning difficulty": "sld",
         "profound and multiple learning difficulties": "pmld", "learning difficulties": "mld", "sleep": "oth"}


def reason(candidate, factor):
    return next(r for r in candidate["reasons"] if r["factor"] == factor)


def by_id(items, supporter):
    return next(c for c in items if c["supporterId"] == supporter["id"])


def test_a_childs_needs_and_a_supporters_share_the_codes_and_the_overlap_is_scored(tenant):
    knows = make_supporter(tenant.cw_x, [tenant.x], needs=["asd", "slcn"], specialisms=["tribunal"])
    half = make_supporter(tenant.cw_x, [tenant.x], needs=["asd", "hi"])
    other = make_supporter(tenant.cw_x, [tenant.x], needs=["hi"])
    assert knows["needs"] == ["slcn", "asd"] and knows["specialisms"] == ["tribunal"]
    case = make_case(tenant.cw_x, tenant.x, needs=[{"type": "asd", "detail": "diagnosed 2023"}, {"type": "slcn"}])
    fam = tenant.cw_x.get(f"/v1/families/{case['familyId']}").json()
    assert fam["children"][0]["needs"] == [{"type": "asd", "detail": "diagnosed 2023"}, {"type": "slcn"}]

    got = candidates(tenant.cw_x, case["id"], limit=10)
    assert got["wantedNeeds"] == ["slcn", "asd"] and got["wantedSpecialisms"] == []
    full, part, none = by_id(got["items"], knows), by_id(got["items"], half), by_id(got["items"], other)
    assert reason(full, "specialism")["points"] == 25
    assert "SLCN (speech, language and communication needs) and ASD (autistic spectrum disorder)" in \
        reason(full, "specialism")["detail"]
    assert reason(part, "specialism")["points"] == 13  # 25 x 1/2, rounded
    assert "knows ASD (autistic spectrum disorder): 1 of the 2" in reason(part, "specialism")["detail"]
    assert reason(none, "specialism")["points"] == 0
    assert reason(none, "specialism")["detail"].startswith("knows none of SLCN")

    # A supporter found by the code.
    listed = tenant.cw_x.get("/v1/supporters", params={"authorityId": tenant.x, "need": "slcn"}).json()["items"]
    assert [s["id"] for s in listed] == [knows["id"]]


def test_an_unknown_code_is_a_400_naming_the_field(tenant, db):
    body = {"authorityId": tenant.x,
            "parents": [{"givenName": "A", "familyName": "B", "hasParentalResponsibility": True}],
            "children": [{"givenName": "C", "familyName": "B", "dateOfBirth": "2015-01-01",
                          "needs": [{"type": "autism", "detail": "x"}]}]}
    r = tenant.cw_x.post("/v1/families", body)
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["children[0].needs[0].type"]
    assert "asd" in r.json()["errors"][0]["message"]
    r = tenant.cw_x.post("/v1/supporters", {"givenName": "S", "familyName": "T", "authorityIds": [tenant.x],
                                             "languages": ["en"], "needs": ["ASD"]})
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["needs[0]"]
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.families WHERE authority_id = %s", (tenant.x,))
        assert c.fetchone()[0] == 0


def test_a_need_sent_as_words_is_coded_and_kept_as_detail(tenant):
    case = make_case(tenant.cw_x, tenant.x, needs=["autism", "speech and language", "sleep"])
    fam = tenant.cw_x.get(f"/v1/families/{case['familyId']}").json()
    assert fam["children"][0]["needs"] == [{"type": "asd", "detail": "autism"},
                                           {"type": "slcn", "detail": "speech and language"},
                                           {"type": "oth", "detail": "sleep"}]
    # An old client's specialisms that were types of need become needs.
    s = make_supporter(tenant.cw_x, [tenant.x], specialisms=["autism", "sensory", "tribunal"])
    assert s["needs"] == ["hi", "vi", "msi", "asd"] and s["specialisms"] == ["tribunal"]
    got = candidates(tenant.cw_x, case["id"])
    assert got["wantedNeeds"] == ["slcn", "asd"]  # oth calls for no particular knowledge
    assert reason(by_id(got["items"], s), "specialism")["points"] == 13


def test_the_migrations_code_stored_text_as_the_api_codes_words(tenant, db):
    """Both migrations' sen_type_of_text (intake 014, matching 009) against
    the API's coding of the same words (lib/svc/sen_type.c)."""
    words = list(WORDS)
    case = make_case(tenant.cw_x, tenant.x, needs=words)
    fam = tenant.cw_x.get(f"/v1/families/{case['familyId']}").json()
    api = {n["detail"]: n["type"] for n in fam["children"][0]["needs"]}
    assert api == WORDS
    for schema in ("intake", "matching"):
        with db.cursor() as c:
            c.execute(f"SELECT w, {schema}.sen_type_of_text(w) FROM unnest(%s::text[]) AS w", (words,))
            stored = {w: t for w, t in c.fetchall()}
        assert stored == {w: "SEN_TYPE_" + t.upper() for w, t in WORDS.items()}, schema


def test_a_legacy_row_is_coded_by_the_migrations_update(tenant, db):
    """A child row as the migration found it (free text in needs, no
    details), put through the migration's own statement, reads back coded
    with the text as detail."""
    case = make_case(tenant.cw_x, tenant.x, needs=[{"type": "oth"}])
    child = case["childId"]
    with db.cursor() as c:
        # The row as it was before 014: free text in needs, no details.
        c.execute("ALTER TABLE intake.children DROP CONSTRAINT needs_have_details")
        try:
            c.execute("UPDATE intake.children SET needs = ARRAY['Autism', 'hearing loss'], need_details = '{}'"
                      " WHERE id = %s", (child,))
            with open("services/intake/migrations/014_needs_vocabulary.sql") as f:
                sql = f.read()
            update = sql[sql.index("UPDATE children"):sql.index("UPDATE agencies")]
            c.execute("SET search_path TO intake")
            c.execute(update.replace("WHERE needs <> '{}'", "WHERE id = %s"), (child,))
        finally:
            c.execute("ALTER TABLE intake.children ADD CONSTRAINT needs_have_details"
                      " CHECK (cardinality(need_details) = cardinality(needs))")
    fam = tenant.cw_x.get(f"/v1/families/{case['familyId']}").json()
    assert fam["children"][0]["needs"] == [{"type": "asd", "detail": "Autism"}, {"type": "hi", "detail": "hearing loss"}]


def test_a_parent_without_a_language_is_unknown_and_matching_says_so(tenant):
    english = make_supporter(tenant.cw_x, [tenant.x], languages=["en"])
    known = make_case(tenant.cw_x, tenant.x, language="en")
    unknown = make_case(tenant.cw_x, tenant.x, language=None)
    fam = tenant.cw_x.get(f"/v1/families/{unknown['familyId']}").json()
    assert fam["parents"][0]["preferredLanguage"] == "unknown"
    # What GET gives, PATCH takes back, and it stays unknown.
    r = tenant.cw_x.s.patch(tenant.cw_x.base + f"/v1/families/{fam['id']}", timeout=10, json={"parents": [{"id": fam["parents"][0]["id"],
                                                                     "preferredLanguage": "unknown"}]},
                            headers={"If-Match": f'"{fam["version"]}"'})
    assert r.status_code == 200, r.text
    assert r.json()["parents"][0]["preferredLanguage"] == "unknown" and r.json()["version"] == fam["version"]

    full = reason(by_id(candidates(tenant.cw_x, known["id"])["items"], english), "language")
    said = reason(by_id(candidates(tenant.cw_x, unknown["id"])["items"], english), "language")
    assert full["points"] == 30
    assert said["points"] < full["points"]
    assert "the family's language is not recorded" in said["detail"]


def test_unmet_demand_counts_a_family_without_a_language_as_undetermined_not_english(tenant):
    # A Polish speaker full up: nobody can be offered, every family waits.
    make_supporter(tenant.cw_x, [tenant.x], languages=["pl"], needs=["asd"], capacity=0)
    waiting = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x, language=None, needs=["autism"])["id"])
    assert waiting["status"] == "waiting"
    got = tenant.cw_x.get("/v1/matching/unmet-demand", params={"authorityId": tenant.x}).json()
    groups = {(g["language"], g["need"]): g for g in got["items"] if g["authorityId"] == tenant.x}
    assert set(groups) == {("und", "asd")}
    # Any supporter may speak the family's language once it is known.
    assert groups[("und", "asd")]["fittingSupporters"] == 1


def test_the_openapi_document_lists_the_codes_with_their_descriptions(anon):
    doc = anon.get("/v1/openapi.json").json()
    sen = doc["components"]["schemas"]["SenType"]
    assert sen["enum"] == CODES
    assert "- `asd`: ASD: autistic spectrum disorder." in sen["description"]
    assert "- `nsa`: NSA: SEN support but no specialist assessment of type of need." in sen["description"]
    need = doc["components"]["schemas"]["Need"]
    assert need["properties"]["type"]["$ref"].endswith("/SenType")
    items = doc["components"]["schemas"]["ChildInput"]["properties"]["needs"]["items"]
    assert items["oneOf"][0]["$ref"].endswith("/Need") and items["oneOf"][1]["type"] == "string"
