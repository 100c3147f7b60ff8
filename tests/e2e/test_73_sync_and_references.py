"""What a partner's sync needs: updatedSince in the order things changed,
page tokens bound to the filters they were issued for, and a reference of
the client's own (externalReference) to find what it created instead of
creating it twice."""
import uuid

import pytest

from conftest import Api, case_body, family_body, make_client


def all_pages(api, path, **params):
    """Every item of a list, following nextPageToken with the same filters."""
    items, token = [], None
    for _ in range(200):
        q = dict(params, **({"pageToken": token} if token else {}))
        r = api.get(path, params=q)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        token = r.json().get("nextPageToken")
        if not token:
            return items
    raise AssertionError("more than 200 pages")


@pytest.fixture
def partner(authority_a):
    return Api(make_client(["partner_agency"], [authority_a]))


def test_updated_since_lists_what_changed_in_the_order_it_changed(cw_a, partner, authority_a):
    fam = partner.post("/v1/families", family_body(authority_a)).json()
    cases = [partner.post("/v1/cases", case_body(authority_a, fam)).json() for _ in range(3)]
    since = cases[2]["updatedAt"]  # the server's clock, never this machine's
    # The first case changes after the last was opened: it moves to the end.
    r = cw_a.post(f"/v1/cases/{cases[0]['id']}/stages", {"stage": "assessment_requested", "on": "2024-01-10"})
    assert r.status_code == 201, r.text
    ids = {c["id"] for c in cases}
    for api, path in [(partner, "/v1/referrals"), (cw_a, "/v1/cases")]:
        got = [x for x in all_pages(api, path, updatedSince=since, pageSize=1) if x["id"] in ids]
        assert [x["id"] for x in got] == [cases[2]["id"], cases[0]["id"]], (path, got)
        stamps = [x["updatedAt"] for x in all_pages(api, path, updatedSince=since, pageSize=2)]
        assert stamps == sorted(stamps) and all(s >= since for s in stamps), (path, stamps)
    # Without it: the order they were opened in, all three.
    assert [x["id"] for x in all_pages(partner, "/v1/referrals", pageSize=2)] == [c["id"] for c in cases]
    # The referral shows the stage it moved to.
    (mine,) = [x for x in all_pages(partner, "/v1/referrals", updatedSince=since) if x["id"] == cases[0]["id"]]
    assert mine["stage"] == "assessment_requested"


def test_a_view_recorded_is_a_change_to_its_childs_cases_for_a_sync(cw_a, case_a, family_a):
    since = cw_a.get(f"/v1/cases/{case_a['id']}").json()["updatedAt"]
    later = [x for x in all_pages(cw_a, "/v1/cases", updatedSince=since) if x["id"] == case_a["id"]]
    assert len(later) == 1 and not later[0]["viewsSought"]
    r = cw_a.post(f"/v1/children/{family_a['children'][0]['id']}/views",
                  {"recordedOn": "2024-01-10", "method": "drawing", "summary": "A house.", "recordedBy": "B"})
    assert r.status_code == 201, r.text
    got = cw_a.get(f"/v1/cases/{case_a['id']}").json()
    assert got["viewsSought"] and got["updatedAt"] > since and got["version"] == case_a["version"]
    (seen,) = [x for x in all_pages(cw_a, "/v1/cases", updatedSince=got["updatedAt"]) if x["id"] == case_a["id"]]
    assert seen["viewsSought"]


def test_a_page_token_goes_on_only_with_the_filters_it_was_issued_for(cw_a, partner, authority_a):
    fam = partner.post("/v1/families", family_body(authority_a)).json()
    partner.post("/v1/families", family_body(authority_a))
    for _ in range(3):
        partner.post("/v1/cases", case_body(authority_a, fam))
    for api, path, filters, other in [
            (cw_a, "/v1/cases", {"status": "open"}, {"status": "closed"}),
            (cw_a, "/v1/cases", {"status": "open"}, {"status": "open", "authorityId": authority_a}),
            (partner, "/v1/referrals", {}, {"updatedSince": "2020-01-01T00:00:00Z"}),
            (partner, "/v1/families", {}, {"externalReference": "x"})]:
        r = api.get(path, params=dict(filters, pageSize=1))
        assert r.status_code == 200, r.text
        token = r.json()["nextPageToken"]
        # The same filters (another page size): the next page.
        nxt = api.get(path, params=dict(filters, pageSize=2, pageToken=token))
        assert nxt.status_code == 200, nxt.text
        assert nxt.json()["items"][0]["id"] != r.json()["items"][0]["id"]
        # Other filters: refused, naming the token.
        bad = api.get(path, params=dict(other, pageSize=1, pageToken=token))
        assert bad.status_code == 400, (path, other, bad.text)
        assert bad.json()["code"] == "invalid_page_token"
        assert [e["field"] for e in bad.json()["errors"]] == ["pageToken"]


def test_an_external_reference_finds_what_the_client_created_and_is_its_own(cw_a, partner, authority_a):
    ref = f"SCH-{uuid.uuid4().hex[:10]}"
    r = partner.post("/v1/families", family_body(authority_a, externalReference=ref))
    assert r.status_code == 201, r.text
    fam = r.json()
    assert fam["externalReference"] == ref
    found = partner.get("/v1/families", params={"externalReference": ref}).json()["items"]
    assert [f["id"] for f in found] == [fam["id"]] and found[0]["externalReference"] == ref
    assert partner.get(f"/v1/families/{fam['id']}").json()["externalReference"] == ref
    case = partner.post("/v1/cases", case_body(authority_a, fam, externalReference=ref)).json()
    assert case["externalReference"] == ref
    got = partner.get("/v1/referrals", params={"externalReference": ref}).json()["items"]
    assert [x["id"] for x in got] == [case["id"]] and got[0]["externalReference"] == ref
    assert partner.get("/v1/referrals", params={"externalReference": "not-" + ref}).json()["items"] == []
    # Staff see the family and the case, not another client's reference.
    assert "externalReference" not in cw_a.get(f"/v1/families/{fam['id']}").json()
    assert "externalReference" not in cw_a.get(f"/v1/cases/{case['id']}").json()
    assert cw_a.get("/v1/cases", params={"externalReference": ref}).json()["items"] == []
    # Unique per client: another client may use the same reference.
    other = Api(make_client(["partner_agency"], [authority_a]))
    assert other.post("/v1/families", family_body(authority_a, externalReference=ref)).status_code == 201
    assert other.get("/v1/families", params={"externalReference": ref}).json()["items"][0]["id"] != fam["id"]
    # A staff client finds its own cases by reference.
    staff_ref = f"IAS-{uuid.uuid4().hex[:10]}"
    mine = cw_a.post("/v1/cases", case_body(authority_a, cw_a.post("/v1/families", family_body(authority_a)).json(),
                                            externalReference=staff_ref)).json()
    assert [c["id"] for c in cw_a.get("/v1/cases", params={"externalReference": staff_ref}).json()["items"]] == \
        [mine["id"]]


def test_a_reference_too_long_or_with_control_characters_is_400(partner, authority_a, db):
    for ref, message in [("x" * 101, "at most 100"), ("a\tb", "control"), (" lead", "space")]:
        r = partner.post("/v1/families", family_body(authority_a, externalReference=ref))
        assert r.status_code == 400, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["externalReference"] and message in r.text
    assert partner.post("/v1/families", family_body(authority_a, externalReference="x" * 100)).status_code == 201
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.families WHERE external_reference IN ('a\tb', ' lead')")
        assert c.fetchone()[0] == 0


def test_the_list_of_families_is_the_clients_own(cw_a, partner, authority_a, family_a):
    fam = partner.post("/v1/families", family_body(authority_a)).json()
    ids = [f["id"] for f in all_pages(partner, "/v1/families", pageSize=50)]
    assert fam["id"] in ids and family_a["id"] not in ids
    mine = all_pages(cw_a, "/v1/families", updatedSince=family_a["updatedAt"], pageSize=200)
    assert family_a["id"] in [f["id"] for f in mine] and fam["id"] not in [f["id"] for f in mine]
