"""The child's views and wishes, and what a case shows of them."""
import datetime
import uuid


def view(**over):
    body = {"recordedOn": "2025-06-01", "method": "drawing",
            "summary": "Drew the classroom; said it is too loud at lunchtime.",
            "wishes": "A quiet place to eat.", "recordedBy": "K. Adeyemi, SENCo"}
    body.update(over)
    return body


def test_views_are_recorded_listed_and_shown_on_the_case(cw_a, case_a):
    child = case_a["childId"]
    assert case_a["viewsSought"] is False and "viewsLastRecordedOn" not in case_a
    r = cw_a.post(f"/v1/children/{child}/views", view())
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["method"] == "drawing" and first["childId"] == child and first["recordedOn"] == "2025-06-01"
    r = cw_a.post(f"/v1/children/{child}/views", view(recordedOn="2025-09-10", method="advocate", wishes=None))
    assert r.status_code == 201, r.text
    page = cw_a.get(f"/v1/children/{child}/views", params={"pageSize": 1}).json()
    assert [v["id"] for v in page["items"]] == [first["id"]] and page["nextPageToken"]
    rest = cw_a.get(f"/v1/children/{child}/views", params={"pageToken": page["nextPageToken"]}).json()
    assert [v["method"] for v in rest["items"]] == ["advocate"] and "nextPageToken" not in rest
    got = cw_a.get(f"/v1/cases/{case_a['id']}").json()
    assert got["viewsSought"] is True and got["viewsLastRecordedOn"] == "2025-09-10"


def test_bad_views_are_400_and_nothing_is_stored(cw_a, case_a, db):
    child = case_a["childId"]
    later = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    for body, field in [(view(method="telepathy"), "method"), (view(recordedOn=later), "recordedOn"),
                        (view(recordedOn="2010-01-01"), "recordedOn"),  # before the child was born
                        (view(summary=""), "summary"), (view(recordedBy=None), "recordedBy")]:
        r = cw_a.post(f"/v1/children/{child}/views", body)
        assert r.status_code == 400, r.text
        assert field in [e["field"] for e in r.json()["errors"]]
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.child_views WHERE child_id = %s", (child,))
        assert c.fetchone()[0] == 0


def test_views_are_hidden_from_other_authorities_and_partner_agencies(cw_a, cw_b, partner_a, case_a):
    child = case_a["childId"]
    assert cw_a.post(f"/v1/children/{child}/views", view()).status_code == 201
    assert cw_b.get(f"/v1/children/{child}/views").status_code == 404
    assert cw_b.post(f"/v1/children/{child}/views", view()).status_code == 404
    assert partner_a.get(f"/v1/children/{child}/views").status_code == 403
    assert cw_a.get(f"/v1/children/{uuid.uuid4()}/views").status_code == 404
