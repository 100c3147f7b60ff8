"""A family's communication needs from intake (issue 14, ics): creating an
appointment for a case reads the parents' (or, for a young person's own
case, the young person's) communication needs and preferred language from
intake while the request is in flight, and fills accessNeeds (interpreter
language, BSL, the papers in notes) for everyone arranging the meeting; an
accessNeeds in the request stands whole instead; a case intake does not
give the caller is 400 naming caseId; intake unreachable is 503 with
nothing booked."""
import uuid

import icalendar

from conftest import stack, wait_stack_ready
from matching_helpers import make_case
from young_helpers import young_person_body


def put_calendar(api, owner, authority):
    r = api.s.put(f"{api.base}/v1/calendars/{owner}/availability", timeout=10,
                  json={"authorityId": authority, "ownerKind": "supporter"})
    assert r.status_code == 200, r.text


def body(authority, case_id, owner, start="2027-09-06T09:00:00Z", end="2027-09-06T10:00:00Z", **over):
    b = {"authorityId": authority, "caseId": case_id, "kind": "school_meeting", "start": start, "end": end,
         "location": {"kind": "in_person", "address": "Riverside School"},
         "participants": [{"kind": "supporter", "calendarOwnerId": owner, "name": "Sam"},
                          {"kind": "parent", "name": "A parent"}]}
    b.update(over)
    return b


def family_case(api, authority):
    """Two parents: one needs a Polish interpreter and large print, the other BSL."""
    parents = [{"givenName": "Agnieszka", "familyName": "Nowak", "preferredLanguage": "pl",
                "communicationNeeds": ["interpreter", "large_print"], "hasParentalResponsibility": True,
                "relationship": "mother"},
               {"givenName": "Tom", "familyName": "Nowak", "preferredLanguage": "en", "communicationNeeds": ["bsl"],
                "hasParentalResponsibility": True, "relationship": "father"}]
    fam = api.post("/v1/families", {"authorityId": authority, "parents": parents,
                                    "children": [{"givenName": "Ola", "familyName": "Nowak",
                                                  "dateOfBirth": "2016-02-01"}]})
    assert fam.status_code == 201, fam.text
    fam = fam.json()
    case = api.post("/v1/cases", {"authorityId": authority, "familyId": fam["id"], "childId": fam["children"][0]["id"],
                                  "source": "school", "needs": ["supporter"],
                                  "consent": {"shareWithAgencies": True, "lawfulBasis": "public_task"}})
    assert case.status_code == 201, case.text
    return case.json()["id"]


def test_the_family_s_needs_are_read_from_intake_for_everyone_arranging_it(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    case_id = family_case(cw_a, authority_a)
    r = cw_a.post("/v1/appointments", body(authority_a, case_id, owner))
    assert r.status_code == 201, r.text
    needs = r.json()["accessNeeds"]
    assert needs["interpreterLanguage"] == "pl" and needs["bsl"] is True, needs
    assert "large print" in needs["notes"], needs
    assert needs.get("stepFree", False) is False  # not in intake's vocabulary
    assert cw_a.get(r.headers["Location"]).json()["accessNeeds"] == needs
    # The invitation carries them (DESCRIPTION), for the school and the interpreter service.
    text = cw_a.get(f"/v1/appointments/{r.json()['id']}.ics").content
    ev = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert "interpreter (pl)" in str(ev["DESCRIPTION"]) and "BSL" in str(ev["DESCRIPTION"])


def test_an_explicit_access_needs_stands_whole(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    case_id = family_case(cw_a, authority_a)
    # Left out, the family's needs from intake; given, what was sent and nothing of intake's.
    r = cw_a.post("/v1/appointments", body(authority_a, case_id, owner))
    assert r.status_code == 201 and r.json()["accessNeeds"].get("interpreterLanguage") == "pl", r.text
    r = cw_a.post("/v1/appointments", body(authority_a, case_id, owner, start="2027-09-07T09:00:00Z",
                                           end="2027-09-07T10:00:00Z", accessNeeds={"stepFree": True}))
    assert r.status_code == 201, r.text
    needs = r.json()["accessNeeds"]
    assert needs.get("stepFree") is True and not needs.get("interpreterLanguage") and not needs.get("bsl") \
        and not needs.get("notes"), needs


def test_a_young_person_s_own_case_reads_their_own_needs(cw_a, authority_a):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    yp = cw_a.post("/v1/young-people", young_person_body(authority_a, preferredLanguage="so",
                                                          communicationNeeds=["interpreter", "easy_read"]))
    assert yp.status_code == 201, yp.text
    case = cw_a.post("/v1/cases", {"authorityId": authority_a, "youngPersonId": yp.json()["id"], "source": "self",
                                   "needs": ["supporter"],
                                   "consent": {"shareWithAgencies": True, "lawfulBasis": "consent"}})
    assert case.status_code == 201, case.text
    r = cw_a.post("/v1/appointments", body(authority_a, case.json()["id"], owner))
    assert r.status_code == 201, r.text
    needs = r.json()["accessNeeds"]
    assert needs["interpreterLanguage"] == "so" and "Easy Read" in needs["notes"] and not needs.get("bsl"), needs


def test_a_case_intake_does_not_give_the_caller_is_400_naming_case_id(cw_a, cw_b, authority_a, authority_b):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    theirs = make_case(cw_b, authority_b)["id"]
    for case_id in (str(uuid.uuid4()), theirs):
        r = cw_a.post("/v1/appointments", body(authority_a, case_id, owner))
        assert r.status_code == 400, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["caseId"], r.text


def test_intake_unreachable_is_503_and_nothing_is_booked(cw_a, authority_a, db):
    owner = str(uuid.uuid4())
    put_calendar(cw_a, owner, authority_a)
    case_id = family_case(cw_a, authority_a)
    stack("stop", "intake")
    try:
        r = cw_a.post("/v1/appointments", body(authority_a, case_id, owner))
        assert r.status_code == 503, r.text
        assert r.headers.get("Retry-After")
    finally:
        stack("start", "intake")
        wait_stack_ready()
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM scheduling.appointments WHERE case_id = %s", (case_id,))
        assert c.fetchone()[0] == 0
        c.execute("SELECT count(*) FROM scheduling.calendar_bookings WHERE owner_id = %s", (owner,))
        assert c.fetchone()[0] == 0
    # Once intake is back the same booking is made (nothing half-made held the slot).
    r = cw_a.post("/v1/appointments", body(authority_a, case_id, owner))
    assert r.status_code == 201, r.text
