"""Families: everyone with parental responsibility, changed with PATCH and
If-Match. A list sent replaces that list (items keep their id when sent
with it); a list left out is kept."""
import uuid

from conftest import case_body, family_body


def patch(api, path, body, **headers):
    return api.s.patch(api.base + path, json=body, headers=headers, timeout=10)


def as_patch(item, key="parentId"):
    """A parent (or child, key="childId") as read, as a PATCH item naming it."""
    out = {k: v for k, v in item.items() if k != "id"}
    out[key] = item["id"]
    return out


def test_two_parents_with_different_languages_keep_both(cw_a, authority_a):
    body = family_body(authority_a)
    body["parents"][1]["preferredLanguage"] = "pl"
    body["parents"][1]["communicationNeeds"] = ["large_print"]
    r = cw_a.post("/v1/families", body)
    assert r.status_code == 201, r.text
    fam = r.json()
    got = cw_a.get(f"/v1/families/{fam['id']}").json()
    assert [(p["preferredLanguage"], p["hasParentalResponsibility"]) for p in got["parents"]] == [("so", True), ("pl", True)]
    assert got["parents"][1]["communicationNeeds"] == ["large_print"]


def test_patch_with_if_match_changes_parents_and_bumps_the_version(cw_a, family_a):
    fam = family_a
    r = cw_a.get(f"/v1/families/{fam['id']}")
    assert r.headers["ETag"] == '"1"'
    parents = [as_patch(p) for p in fam["parents"]]
    parents[0]["preferredLanguage"] = "ar"
    parents[0]["communicationNeeds"] = ["interpreter", "bsl"]
    parents.append({"givenName": "Halima", "familyName": "Yusuf", "preferredLanguage": "ur",
                    "hasParentalResponsibility": True, "relationship": "grandmother (special guardian)"})
    r = patch(cw_a, f"/v1/families/{fam['id']}", {"parents": parents}, **{"If-Match": '"1"'})
    assert r.status_code == 200, f"If-Match: a PATCH with the current version was refused: {r.text}"
    got = r.json()
    assert r.headers["ETag"] == '"2"' and got["version"] == 2
    assert [p["preferredLanguage"] for p in got["parents"]] == ["ar", "en", "ur"]
    assert got["parents"][0]["id"] == fam["parents"][0]["id"]          # changed in place
    assert got["parents"][0]["communicationNeeds"] == ["interpreter", "bsl"]
    assert got["children"] == fam["children"]                          # left out: kept
    assert cw_a.get(f"/v1/families/{fam['id']}").json() == got


def test_stale_if_match_is_412_and_changes_nothing(cw_a, family_a, db):
    fam = family_a
    parents = [as_patch(p) for p in fam["parents"]]
    parents[1]["relationship"] = "stepfather"  # a change: a PATCH that changes nothing keeps the version
    assert patch(cw_a, f"/v1/families/{fam['id']}", {"parents": parents}).status_code == 200  # no If-Match: allowed
    parents[0]["givenName"] = "Changed"
    r = patch(cw_a, f"/v1/families/{fam['id']}", {"parents": parents}, **{"If-Match": '"1"'})
    assert r.status_code == 412, f"If-Match: a PATCH with a stale version was not refused: {r.status_code} {r.text}"
    assert r.headers["Content-Type"] == "application/problem+json"
    assert patch(cw_a, f"/v1/families/{fam['id']}", {"parents": parents}, **{"If-Match": 'W/"2"'}).status_code == 412
    with db.cursor() as c:
        c.execute("SELECT version FROM intake.families WHERE id = %s", (fam["id"],))
        assert c.fetchone()[0] == 2
        c.execute("SELECT given_name FROM intake.parents WHERE id = %s", (fam["parents"][0]["id"],))
        assert c.fetchone()[0] == "Amina"


def test_a_parent_left_out_is_removed_and_a_new_child_added(cw_a, family_a):
    fam = family_a
    kids = [as_patch(c, "childId") for c in fam["children"]]
    kids.append({"givenName": "Nura", "familyName": "Yusuf", "dateOfBirth": "2020-02-29", "needs": ["hearing"],
                 "planStatus": "none"})
    r = patch(cw_a, f"/v1/families/{fam['id']}", {"parents": [as_patch(fam["parents"][0])], "children": kids})
    assert r.status_code == 200, r.text
    got = r.json()
    assert [p["id"] for p in got["parents"]] == [fam["parents"][0]["id"]]
    assert len(got["children"]) == 2 and got["children"][0]["id"] == fam["children"][0]["id"]
    assert got["children"][1]["dateOfBirth"] == "2020-02-29"


def test_a_child_with_a_case_cannot_be_removed(cw_a, case_a, family_a, db):
    new_child = {"givenName": "Other", "familyName": "Yusuf", "dateOfBirth": "2018-01-01"}
    r = patch(cw_a, f"/v1/families/{family_a['id']}", {"children": [new_child]})
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["children"]
    with db.cursor() as c:
        c.execute("SELECT count(*), max(given_name) FROM intake.children WHERE family_id = %s", (family_a["id"],))
        assert c.fetchone() == (1, "Sami")
        c.execute("SELECT version FROM intake.families WHERE id = %s", (family_a["id"],))
        assert c.fetchone()[0] == 1


def test_bad_patches_are_400_naming_the_field(cw_a, family_a):
    fam = family_a
    p0 = as_patch(fam["parents"][0])
    cases = [
        ({"parents": [dict(p0, hasParentalResponsibility=False)]}, "parents"),
        ({"parents": [dict(p0, preferredLanguage="english")]}, "parents[0].preferredLanguage"),
        ({"parents": [dict(p0, parentId=str(uuid.uuid4()))]}, "parents[0].parentId"),
        ({"parents": [p0, p0]}, "parents[1].parentId"),
        ({"parents": [dict(p0, id=str(uuid.uuid4()))]}, "parents[0].parentId"),  # id and parentId disagree
        ({"authorityId": str(uuid.uuid4())}, "authorityId"),           # not patchable: only sent back as read
        ({"createdAt": "2000-01-01T00:00:00Z"}, "createdAt"),           # read-only
        ({"children": [dict(as_patch(fam["children"][0], "childId"), dateOfBirth="2016-02-30")]}, "children[0].dateOfBirth"),
    ]
    for body, field in cases:
        r = patch(cw_a, f"/v1/families/{fam['id']}", body)
        assert r.status_code == 400, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert cw_a.get(f"/v1/families/{fam['id']}").json() == fam


def test_another_authoritys_family_or_parent_is_404_or_400(cw_a, cw_b, authority_b, family_a):
    r = patch(cw_b, f"/v1/families/{family_a['id']}", {"parents": [as_patch(family_a["parents"][0])]})
    assert r.status_code == 404
    fam_b = cw_b.post("/v1/families", family_body(authority_b)).json()
    # A's parent id cannot be moved into B's family.
    r = patch(cw_b, f"/v1/families/{fam_b['id']}", {"parents": [as_patch(family_a["parents"][0])]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "parents[0].parentId"
    assert cw_a.get(f"/v1/families/{family_a['id']}").json() == family_a
    assert patch(cw_a, f"/v1/families/{uuid.uuid4()}", {}).status_code == 404
