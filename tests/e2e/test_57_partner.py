"""A partner agency (a school, a health visitor) refers families and follows
its referrals: status, stage and dates only — never the child's views, needs,
the family or the case's notes."""
from conftest import case_body, family_body

PRIVATE = {"needs", "summary", "consent", "childId", "familyId", "viewsSought", "viewsLastRecordedOn",
           "wantsSupporter", "source", "referrerAgencyId", "outcome", "closeReason", "parents", "children"}


def _refer(partner, authority):
    fam = partner.post("/v1/families", family_body(authority))
    assert fam.status_code == 201, fam.text
    case = partner.post("/v1/cases", case_body(authority, fam.json(), source="school"))
    assert case.status_code == 201, case.text
    return fam.json(), case.json()


def test_a_partner_sees_its_referral_without_the_childs_views_needs_or_notes(partner_a, cw_a, authority_a):
    family, case = _refer(partner_a, authority_a)
    # Staff work the case: the child's views, a stage.
    child = family["children"][0]["id"]
    r = cw_a.post(f"/v1/children/{child}/views", {"recordedOn": "2024-01-10", "method": "drawing",
                                                   "summary": "Draws the noisy hall.", "wishes": "A quiet space",
                                                   "recordedBy": "Caseworker"})
    assert r.status_code == 201, r.text
    r = cw_a.post(f"/v1/cases/{case['id']}/stages", {"stage": "assessment_requested", "on": "2024-01-10"})
    assert r.status_code == 201, r.text

    r = partner_a.get(f"/v1/referrals/{case['id']}")
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["id"] == case["id"] and seen["status"] == "open"
    assert seen["stage"] == "assessment_requested"
    assert {"createdAt", "updatedAt"} <= set(seen)
    assert not (set(seen) & PRIVATE), seen
    text = r.text
    for secret in ["Draws the noisy hall", "A quiet space", "EHC needs assessment", "autism", "Amina"]:
        assert secret not in text

    listed = partner_a.get("/v1/referrals").json()["items"]
    mine = [x for x in listed if x["id"] == case["id"]]
    assert len(mine) == 1 and not (set(mine[0]) & PRIVATE)


def test_a_partner_reads_only_what_it_referred_and_no_more(partner_a, cw_a, case_a, family_a, authority_a):
    family, case = _refer(partner_a, authority_a)
    # Its own case and family (where its 201s' Location points): what a
    # referrer sees, and what opening a case needs.
    r = partner_a.get(f"/v1/cases/{case['id']}")
    assert r.status_code == 200, r.text
    # (needs, wantsSupporter and viewsSought are always written: empty, false)
    assert r.json()["id"] == case["id"] and not any(r.json().get(k) for k in PRIVATE), r.json()
    r = partner_a.get(f"/v1/families/{family['id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["parents"] == [] and [c["id"] for c in got["children"]] == [c["id"] for c in family["children"]]
    child = got["children"][0]
    assert {k for k, v in child.items() if v} == {"id", "givenName", "familyName", "dateOfBirth"}, got
    for secret in ["amina@example.org", "High Street", "autism", "St Mary"]:
        assert secret not in r.text
    # Staff's case and family: as a random id.
    assert partner_a.get(f"/v1/cases/{case_a['id']}").status_code == 404
    assert partner_a.get(f"/v1/families/{family_a['id']}").status_code == 404
    assert partner_a.get("/v1/cases").status_code == 403
    assert partner_a.get(f"/v1/children/{family['children'][0]['id']}/views").status_code == 403
    assert partner_a.get(f"/v1/cases/{case['id']}/timeline").status_code == 403


def test_a_partner_sees_only_the_referrals_it_made(partner_a, cw_a, case_a, authority_a):
    _refer(partner_a, authority_a)
    assert partner_a.get(f"/v1/referrals/{case_a['id']}").status_code == 404
    ids = {x["id"] for x in partner_a.get("/v1/referrals", params={"pageSize": 200}).json()["items"]}
    assert case_a["id"] not in ids
    # A caseworker's own referrals are the cases its client opened.
    assert cw_a.get(f"/v1/referrals/{case_a['id']}").status_code == 200
