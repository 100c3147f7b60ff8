"""Events already in intake's outbox when the needs vocabulary arrived carry a
child's needs as free text ("autism"). Matching, their consumer, reads them
as the types their words name, exactly as it reads the new events' codes."""
import json
import uuid

from conftest import wait_for
from matching_helpers import candidates, make_case, tenant  # noqa: F401 (fixture)


def old_event(db, case, fam, child_needs):
    """A case.supporter_requested as intake wrote it before the codes, put in
    intake's outbox for matching (as the relay would find one left over)."""
    data = {"caseId": case["id"], "authorityId": case["authorityId"], "familyId": fam["id"],
            "childId": case["childId"], "languages": ["en"], "communicationNeeds": [],
            "childNeeds": child_needs, "childDateOfBirth": "2015-05-01", "postcode": "N1 7AA",
            "familyVersion": fam["version"], "caseNeeds": ["supporter"],
            "requestedAt": case["createdAt"]}
    event = str(uuid.uuid4())
    with db.cursor() as c:
        c.execute("INSERT INTO intake.outbox (id, type, authority_id, subject_id, data)"
                  " VALUES (%s, 'case.supporter_requested', %s, %s, %s::jsonb)",
                  (event, case["authorityId"], case["id"], json.dumps(data)))
        c.execute("INSERT INTO intake.outbox_deliveries (event_id, subscriber) VALUES (%s, 'matching')", (event,))
    return event


def test_an_old_event_with_free_text_needs_is_read_as_their_types(tenant, db):
    # The child has no needs in intake now: what matching wants can only
    # come from the old event's words.
    case = make_case(tenant.cw_x, tenant.x, needs=())
    fam = tenant.cw_x.get(f"/v1/families/{case['familyId']}").json()
    event = old_event(db, case, fam, ["autism", "speech and language", "sleep"])

    def handled():
        with db.cursor() as c:
            c.execute("SELECT child_needs FROM matching.case_profiles p JOIN matching.inbox i ON i.event_id = %s"
                      " WHERE p.case_id = %s", (event, case["id"]))
            row = c.fetchone()
            return row[0] if row else None
    assert wait_for(handled) == ["autism", "speech and language", "sleep"]  # stored as it came
    got = candidates(tenant.cw_x, case["id"])
    assert got["wantedNeeds"] == ["slcn", "asd"]
