"""A family changed in intake reaches matching (family.updated, through
intake's outbox relay): the facts matching keeps of the family's cases are
refreshed, so candidates are ranked on the family as it is now. A
redelivered event, or an older one arriving late, changes nothing."""
import json
import uuid

from matching_helpers import candidates, count, make_case, make_supporter, patch, tenant, wait_for  # noqa: F401


def _as_patch(item, key):
    out = {k: v for k, v in item.items() if k != "id"}
    out[key] = item["id"]
    return out


def _profile(db, case_id):
    with db.cursor() as c:
        c.execute("SELECT languages, communication_needs, child_needs, family_version, updated_at, source"
                  " FROM matching.case_profiles WHERE case_id = %s", (case_id,))
        return c.fetchone()


def _facts(db, family_id):
    with db.cursor() as c:
        c.execute("SELECT family_version, data, updated_at FROM matching.family_facts WHERE family_id = %s",
                  (family_id,))
        return c.fetchall()


def _delivery(db, family_id):
    """(attempts, delivered) of intake's family.updated deliveries to matching, oldest first."""
    with db.cursor() as c:
        c.execute("SELECT d.attempts, d.delivered_at IS NOT NULL FROM intake.outbox o"
                  " JOIN intake.outbox_deliveries d ON d.event_id = o.id"
                  " WHERE o.subject_id = %s AND o.type = 'family.updated' AND d.subscriber = 'matching'"
                  " ORDER BY o.seq", (family_id,))
        return c.fetchall()


def test_a_parent_now_preferring_polish_puts_the_polish_speaker_first_and_a_redelivery_changes_nothing(tenant, db):
    near_english = make_supporter(tenant.cw_x, [tenant.x], languages=["en"], areas=["N1"], specialisms=["autism"])
    far_polish = make_supporter(tenant.cw_x, [tenant.x], languages=["pl", "en"], areas=["SE15"],
                                specialisms=["autism"])
    case = make_case(tenant.cw_x, tenant.x, language="en", postcode="N1 7AA", wants_supporter=True)
    # intake's case.supporter_requested stores the case's facts in matching.
    assert wait_for(lambda: (_profile(db, case["id"]) or [None] * 6)[5] == "event", timeout=10)
    assert _profile(db, case["id"])[0] == ["en"]
    got = candidates(tenant.cw_x, case["id"])
    assert "requiredLanguage" not in got
    assert [c["supporterId"] for c in got["items"]] == [near_english["id"], far_polish["id"]]

    fam = tenant.cw_x.get(f"/v1/families/{case['familyId']}")
    assert fam.status_code == 200, fam.text
    fam = fam.json()
    parents = [_as_patch(p, "parentId") for p in fam["parents"]]
    parents[0]["preferredLanguage"] = "pl"
    parents[0]["communicationNeeds"] = ["interpreter"]
    children = [_as_patch(c, "childId") for c in fam["children"]]
    children[0]["needs"] = ["autism", "adhd"]
    r = patch(tenant.cw_x, f"/v1/families/{fam['id']}", {"parents": parents, "children": children})
    assert r.status_code == 200, r.text

    with db.cursor() as c:
        c.execute("SELECT data FROM intake.outbox WHERE subject_id = %s AND type = 'family.updated'", (fam["id"],))
        (data,), = c.fetchall()
    assert (data["familyId"], data["authorityId"], data["familyVersion"]) == (fam["id"], tenant.x, fam["version"] + 1)
    assert data["languages"] == ["pl"] and data["communicationNeeds"] == ["interpreter"]
    assert data["postcode"] == "N1 7AA"
    assert data["children"] == [{"childId": fam["children"][0]["id"], "needs": ["asd", "semh"],
                                 "dateOfBirth": fam["children"][0]["dateOfBirth"]}]

    def polish_first():
        got = candidates(tenant.cw_x, case["id"])
        return got if got.get("requiredLanguage") == "pl" else None

    got = wait_for(polish_first, timeout=10)
    assert got, candidates(tenant.cw_x, case["id"])
    # The interpreter need makes Polish required: the English-only supporter is ruled out.
    assert [c["supporterId"] for c in got["items"]] == [far_polish["id"]]
    language = next(r for r in got["items"][0]["reasons"] if r["factor"] == "language")
    assert language["points"] > 0 and "speaks Polish (pl)" in language["detail"]
    got = candidates(tenant.cw_x, case["id"], includeIneligible=True)
    assert [c["supporterId"] for c in got["items"]] == [far_polish["id"], near_english["id"]]
    assert got["items"][1]["ruledOut"] == ["does not speak Polish (pl), which the family needs"]
    profile = _profile(db, case["id"])
    assert profile[:4] == (["pl"], ["interpreter"], ["asd", "semh"], fam["version"] + 1)

    # A redelivery (the relay retrying after a lost answer) changes nothing.
    assert wait_for(lambda: _delivery(db, fam["id"]) == [(1, True)], timeout=10), _delivery(db, fam["id"])
    with db.cursor() as c:
        c.execute("UPDATE intake.outbox_deliveries d SET delivered_at = NULL, next_attempt_at = now()"
                  " FROM intake.outbox o WHERE o.id = d.event_id AND o.subject_id = %s"
                  " AND o.type = 'family.updated' AND d.subscriber = 'matching'", (fam["id"],))
    assert wait_for(lambda: _delivery(db, fam["id"]) == [(2, True)], timeout=10), _delivery(db, fam["id"])
    assert _profile(db, case["id"]) == profile
    assert count(db, "SELECT count(*) FROM matching.inbox i JOIN intake.outbox o ON o.id = i.event_id"
                     " WHERE o.subject_id = %s AND o.type = 'family.updated'", fam["id"]) == 1

    # An older family.updated arriving late (a new event id, the earlier
    # version's facts) changes nothing either.
    facts = _facts(db, fam["id"])
    assert facts and facts[0][0] == fam["version"] + 1, facts
    old = dict(data, familyVersion=fam["version"], languages=["en"], communicationNeeds=[],
               children=[dict(data["children"][0], needs=["autism"])])
    with db.cursor() as c:
        event_id = str(uuid.uuid4())
        c.execute("INSERT INTO intake.outbox (id, type, authority_id, subject_id, data)"
                  " VALUES (%s, 'family.updated', %s, %s, %s::jsonb) RETURNING seq",
                  (event_id, tenant.x, fam["id"], json.dumps(old)))
        (seq,) = c.fetchone()
        c.execute("INSERT INTO intake.outbox_deliveries (event_id, subscriber, subject_id, seq)"
                  " VALUES (%s, 'matching', %s, %s)", (event_id, fam["id"], seq))
    assert wait_for(lambda: _delivery(db, fam["id"]) == [(2, True), (1, True)], timeout=10), \
        _delivery(db, fam["id"])
    assert _profile(db, case["id"]) == profile, "event order: an older family.updated changed the case's profile"
    assert _facts(db, fam["id"]) == facts, "event order: an older family.updated replaced the family's newer facts"
    assert wait_for(polish_first, timeout=1)
