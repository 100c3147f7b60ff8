"""Supporters: shared across the consortium, each serving some authorities;
eligible derived and read-only; bounded to the caller's authorities."""
import uuid

import pytest

from matching_helpers import count, make_supporter, patch, supporter_body, tenant  # noqa: F401


def test_supporter_created_reads_back_and_is_eligible(tenant, db):
    body = supporter_body([tenant.x], languages=["pl", "en"], specialisms=["autism", "post_16"], areas=["n1", "E2"],
                          capacity=4, homePostcode="N7 9AA")
    r = tenant.cw_x.post("/v1/supporters", body)
    assert r.status_code == 201, r.text
    s = r.json()
    assert r.headers["Location"] == f"/v1/supporters/{s['id']}"
    assert r.headers["ETag"] == '"1"'
    assert s["eligible"] is True and s["ineligibleReasons"] == []
    assert s["status"] == "active"
    assert s["areas"] == ["N1", "E2"]
    assert s["specialisms"] == ["post_16"] and s["needs"] == ["asd"]  # autism is the need asd now
    assert (s["capacity"], s["activeAssignments"], s["pendingOffers"], s["freePlaces"]) == (4, 0, 0, 4)
    assert tenant.cw_x.get(f"/v1/supporters/{s['id']}").json() == s
    assert count(db, "SELECT capacity FROM matching.supporter_places WHERE supporter_id = %s", s["id"]) == 4


def test_expired_vetting_and_a_paused_status_make_a_supporter_ineligible_saying_why(tenant):
    old = make_supporter(tenant.cw_x, [tenant.x], vettingExpiresOn="2020-02-01")
    assert old["eligible"] is False
    assert old["ineligibleReasons"] == ["DBS vetting expired on 2020-02-01"]
    paused = make_supporter(tenant.cw_x, [tenant.x], status="paused")
    assert paused["ineligibleReasons"] == ["status is paused, not active"]
    unvetted = make_supporter(tenant.cw_x, [tenant.x], vettingExpiresOn=None)
    assert unvetted["ineligibleReasons"] == ["no DBS vetting is recorded"]


def test_eligible_is_read_only(tenant):
    r = tenant.cw_x.post("/v1/supporters", supporter_body([tenant.x], eligible=True))
    assert r.status_code == 400
    assert "eligible" in [e["field"] for e in r.json()["errors"]]


def test_another_authoritys_supporter_is_404_and_never_listed(tenant):
    s = make_supporter(tenant.cw_x, [tenant.x])
    assert tenant.cw_y.get(f"/v1/supporters/{s['id']}").status_code == 404
    assert patch(tenant.cw_y, f"/v1/supporters/{s['id']}", {"capacity": 1}).status_code == 404
    listed = tenant.cw_y.get("/v1/supporters", params={"pageSize": 200}).json()["items"]
    assert s["id"] not in {x["id"] for x in listed}
    # The admin serving both sees it; so does X's caseworker.
    assert tenant.admin.get(f"/v1/supporters/{s['id']}").status_code == 200
    assert s["id"] in {x["id"] for x in tenant.cw_x.get("/v1/supporters").json()["items"]}


def test_a_caller_may_only_assign_authorities_it_serves(tenant, db):
    before = count(db, "SELECT count(*) FROM matching.supporters WHERE %s = ANY (authority_ids)", tenant.y)
    r = tenant.cw_x.post("/v1/supporters", supporter_body([tenant.x, tenant.y]))
    assert r.status_code == 400
    assert "authorityIds[1]" in [e["field"] for e in r.json()["errors"]]
    assert count(db, "SELECT count(*) FROM matching.supporters WHERE %s = ANY (authority_ids)", tenant.y) == before


def test_patch_changes_only_the_callers_authorities_with_if_match(tenant):
    s = make_supporter(tenant.admin, [tenant.x, tenant.y], capacity=2)
    other = str(uuid.uuid4())
    r = patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"authorityIds": [other]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "authorityIds[0]"
    r = patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"capacity": 5, "languages": ["en", "cy"]},
              **{"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["version"] == 2 and got["capacity"] == 5 and got["languages"] == ["en", "cy"]
    assert set(got["authorityIds"]) == {tenant.x, tenant.y}
    assert r.headers["ETag"] == '"2"'
    stale = patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"capacity": 1}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    # X's caseworker narrows X's part; Y's stays.
    r = patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"authorityIds": [tenant.x], "status": "paused"})
    assert r.status_code == 200
    assert set(r.json()["authorityIds"]) == {tenant.x, tenant.y}
    assert r.json()["eligible"] is False
    # The status can come back, and vetting be renewed.
    r = patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"status": "active", "vettingExpiresOn": "2031-03-01"})
    assert r.json()["eligible"] is True and r.json()["vettingExpiresOn"] == "2031-03-01"


@pytest.mark.parametrize("change, field", [
    ({"languages": ["english please"]}, "languages[0]"),
    ({"languages": []}, "languages"),
    ({"capacity": 51}, "capacity"),
    ({"areas": ["12 High St"]}, "areas[0]"),
    ({"vettingExpiresOn": "2030-02-30"}, "vettingExpiresOn"),
    ({"specialisms": ["juggling"]}, "specialisms[0]"),
    ({"givenName": ""}, "givenName"),
    ({"homePostcode": "nowhere"}, "homePostcode"),
    ({"authorityIds": []}, "authorityIds"),
])
def test_bad_supporter_is_400_naming_the_field_and_nothing_is_stored(tenant, db, change, field):
    body = supporter_body([tenant.x])
    body.update(change)
    r = tenant.cw_x.post("/v1/supporters", body)
    assert r.status_code == 400, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert count(db, "SELECT count(*) FROM matching.supporters WHERE %s = ANY (authority_ids)", tenant.x) == 0


def test_list_filters_and_pages(tenant):
    made = [make_supporter(tenant.cw_x, [tenant.x], languages=["pl"], specialisms=["autism"]),
            make_supporter(tenant.cw_x, [tenant.x], languages=["en"]),
            make_supporter(tenant.cw_x, [tenant.x], languages=["pl-PL", "en"], status="paused")]
    page = tenant.cw_x.get("/v1/supporters", params={"pageSize": 2}).json()
    assert len(page["items"]) == 2 and page["nextPageToken"]
    rest = tenant.cw_x.get("/v1/supporters", params={"pageSize": 2, "pageToken": page["nextPageToken"]}).json()
    assert [s["id"] for s in page["items"] + rest["items"]] == [s["id"] for s in made]
    assert "nextPageToken" not in rest
    polish = tenant.cw_x.get("/v1/supporters", params={"language": "pl"}).json()["items"]
    assert {s["id"] for s in polish} == {made[0]["id"], made[2]["id"]}
    autism = tenant.cw_x.get("/v1/supporters", params={"specialism": "autism"}).json()["items"]
    assert [s["id"] for s in autism] == [made[0]["id"]]
    paused = tenant.cw_x.get("/v1/supporters", params={"status": "paused", "authorityId": tenant.x}).json()["items"]
    assert [s["id"] for s in paused] == [made[2]["id"]]


def test_row_level_security_alone_hides_supporters_serving_other_authorities(tenant, db):
    s = make_supporter(tenant.cw_x, [tenant.x])
    with db.cursor() as c:
        c.execute("BEGIN")
        c.execute("SET LOCAL ROLE parley_matching")
        c.execute("SELECT set_config('parley.authority_ids', %s, true)", ("{%s}" % tenant.y,))
        c.execute("SELECT id::text FROM matching.supporters")  # no tenant WHERE at all
        seen_by_y = {r[0] for r in c.fetchall()}
        c.execute("SELECT set_config('parley.authority_ids', %s, true)", ("{%s}" % tenant.x,))
        c.execute("SELECT id::text FROM matching.supporters")
        seen_by_x = {r[0] for r in c.fetchall()}
        c.execute("ROLLBACK")
    assert s["id"] not in seen_by_y
    assert s["id"] in seen_by_x


def test_roles_outside_staff_cannot_manage_supporters(tenant):
    assert tenant.supporter_x.post("/v1/supporters", supporter_body([tenant.x])).status_code == 403
    assert tenant.analyst_x.get("/v1/supporters").status_code == 403
