"""Helpers for young people as clients in their own right (test_48_*,
and the tenancy sweeps test_16 and test_17)."""
import datetime
import uuid

from conftest import london_today

LINK_BODY = {
    "givenName": "Grace",
    "familyName": "Okafor",
    "email": "grace.okafor@example.org",
    "preferredLanguage": "yo",
    "communicationNeeds": ["interpreter"],
    "relationship": "mother",
    "agreement": {"recordedOn": "2024-01-10", "how": "in_person", "recordedBy": "J. Patel, caseworker"},
}


def born_years_ago(years, days=0, today=None):
    """The date of birth of someone `years` old today (London), moved by
    `days` (a day later: a day younger). 29 February falls back to the
    28th in a year without one."""
    today = today or london_today()
    try:
        d = today.replace(year=today.year - years)
    except ValueError:
        d = today.replace(year=today.year - years, day=28)
    return (d + datetime.timedelta(days=days)).isoformat()


def young_person_body(authority_id, **over):
    body = {
        "authorityId": authority_id,
        "givenName": "Leah",
        "familyName": f"Okafor-{uuid.uuid4().hex[:8]}",
        "dateOfBirth": born_years_ago(17, days=-40),
        "email": "leah.okafor@example.org",
        "phone": "07700 900456",
        "address": {"line1": "4 Canal Street", "town": "London", "postcode": "E2 8AA"},
        "preferredLanguage": "pt",
        "communicationNeeds": ["easy_read"],
        "needs": ["autism"],
        "planStatus": "ehc_plan",
        "school": {"name": "Riverside College"},
    }
    body.update(over)
    return body


def young_case_body(authority_id, young_person, **over):
    """A young person's own case, with their own consent."""
    body = {
        "authorityId": authority_id,
        "youngPersonId": young_person["id"],
        "source": "self",
        "needs": ["advice", "supporter"],
        "wantsSupporter": False,
        "summary": "Leah wants help with her EHC plan's annual review and moving to an apprenticeship.",
        "consent": {"shareWithAgencies": True, "lawfulBasis": "consent", "givenBy": "Leah Okafor (herself)"},
    }
    body.update(over)
    return body
