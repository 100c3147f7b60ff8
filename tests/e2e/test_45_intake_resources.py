"""The information library: by topic, language and format, with English
as the fallback and the reply saying so; review dates listed for admins."""
import datetime
import uuid

from conftest import london_today
from intake_helpers import count


def resource(key, language="en", **over):
    body = {"key": key, "title": f"Your rights in the EHC process ({language})", "topic": "rights",
            "language": language, "format": "standard", "url": f"https://example.org/{key}/{language}.pdf",
            "reviewDueOn": "2030-01-01", "summary": "What the authority must do, and when."}
    body.update(over)
    return body


def listing(api, **params):
    r = api.get("/v1/resources", params={"pageSize": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_language_without_a_translation_falls_back_to_english_and_says_so(cw_a, partner_a):
    key = f"rights-{uuid.uuid4().hex[:8]}"
    topic = "disagreement_resolution"
    en = cw_a.post("/v1/resources", resource(key, topic=topic)).json()
    so = cw_a.post("/v1/resources", resource(key, "so", topic=topic, title="Xuquuqdaada")).json()
    easy = cw_a.post("/v1/resources", resource(key, topic=topic, format="easy_read")).json()
    r = cw_a.post("/v1/resources", resource(key, "pl", topic=topic, format="bsl_video", url=None, body="..."))
    assert r.status_code == 201, r.text

    def ours(page):
        return {x["id"]: x for x in page["items"] if x["key"] == key}
    page = listing(cw_a, topic=topic, language="so")
    got = ours(page)
    assert so["id"] in got and got[so["id"]]["languageFallback"] is False
    assert easy["id"] in got and got[easy["id"]]["languageFallback"] is True  # no Somali easy read: English
    assert en["id"] not in got                                                # Somali replaces it
    assert page["fallbackLanguage"] == "en"
    page = listing(partner_a, topic=topic, language="so-SO", format="standard")
    assert list(ours(page)) == [so["id"]]                                     # the primary subtag matches
    assert "fallbackLanguage" not in page or all(x["key"] != key or not x["languageFallback"] for x in page["items"])
    page = listing(cw_a, topic=topic, language="cy", format="standard")
    assert list(ours(page)) == [en["id"]] and page["fallbackLanguage"] == "en"
    assert len(ours(listing(cw_a, topic=topic))) == 4                          # no language: every version


def test_resources_are_consortium_wide_unless_limited_to_authorities(cw_a, cw_b, admin, authority_a):
    wide = cw_a.post("/v1/resources", resource(f"wide-{uuid.uuid4().hex[:6]}")).json()
    local = cw_a.post("/v1/resources", resource(f"local-{uuid.uuid4().hex[:6]}", authorityIds=[authority_a])).json()
    assert wide["authorityIds"] == [] and local["authorityIds"] == [authority_a]
    assert cw_b.get(f"/v1/resources/{wide['id']}").json() == wide
    assert cw_b.get(f"/v1/resources/{local['id']}").status_code == 404
    assert admin.get(f"/v1/resources/{local['id']}").status_code == 200


def test_bad_resources_are_400_and_duplicates_409(cw_a, cw_b, authority_b, db):
    key = f"dup-{uuid.uuid4().hex[:6]}"
    assert cw_a.post("/v1/resources", resource(key)).status_code == 201
    assert cw_a.post("/v1/resources", resource(key)).status_code == 409
    assert cw_a.post("/v1/resources", resource(key, "EN")).status_code == 409   # tags are case-insensitive
    before = count(db, "SELECT count(*) FROM intake.resources")
    for body, field in [(resource(key, "somali"), "language"), (resource(key, format="smoke_signal"), "format"),
                        (resource("Bad Key"), "key"), (resource(key, url=None), "url"),
                        (resource(key, topic=None), "topic"), (resource(key, reviewDueOn="soon"), "reviewDueOn"),
                        (resource(key, authorityIds=[authority_b]), "authorityIds[0]")]:
        r = cw_a.post("/v1/resources", body)
        assert r.status_code == 400, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]]
    assert count(db, "SELECT count(*) FROM intake.resources") == before
    assert cw_a.get("/v1/resources", params={"language": "klingon-"}).status_code == 400


def test_resources_due_for_review_are_listed_for_admins_only(admin, cw_a):
    # The review-due list counts days in Europe/London, as intake does.
    yesterday = (london_today() - datetime.timedelta(days=1)).isoformat()
    due = cw_a.post("/v1/resources", resource(f"due-{uuid.uuid4().hex[:6]}", reviewDueOn=yesterday)).json()
    fresh = cw_a.post("/v1/resources", resource(f"fresh-{uuid.uuid4().hex[:6]}")).json()
    ids, token = [], None
    while True:
        r = admin.get("/v1/resources/review-due", params={"pageSize": 200, **({"pageToken": token} if token else {})})
        assert r.status_code == 200, r.text
        ids += [x["id"] for x in r.json()["items"]]
        token = r.json().get("nextPageToken")
        if not token:
            break
    assert due["id"] in ids and fresh["id"] not in ids
    assert cw_a.get("/v1/resources/review-due").status_code == 403
