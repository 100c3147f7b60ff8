"""The SEN process timeline: stages recorded and moved, statutory deadlines
computed when read, bad stages refused with nothing stored."""
import datetime
import uuid

from conftest import case_body, family_body
from intake_helpers import count, outbox, patch


def stage(api, case, name, on, **headers):
    return api.post(f"/v1/cases/{case['id']}/stages", {"stage": name, "on": on}, headers=headers)


def deadlines(api, case):
    r = api.get(f"/v1/cases/{case['id']}/timeline")
    assert r.status_code == 200, r.text
    return r.json(), {(d["kind"], d["startsFrom"]): d for d in r.json()["deadlines"]}


def test_stages_start_the_statutory_deadlines(cw_a, case_a, db):
    assert stage(cw_a, case_a, "sen_support", "2023-09-04").status_code == 201
    r = stage(cw_a, case_a, "assessment_requested", "2024-01-22")
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/v1/cases/{case_a['id']}/stages/{r.json()['id']}"
    assert stage(cw_a, case_a, "assessment_agreed", "2024-03-01").status_code == 201
    assert stage(cw_a, case_a, "draft_plan_issued", "2024-05-20").status_code == 201
    assert stage(cw_a, case_a, "final_plan_issued", "2024-06-28").status_code == 201
    timeline, d = deadlines(cw_a, case_a)
    assert [s["stage"] for s in timeline["stages"]] == ["sen_support", "assessment_requested", "assessment_agreed",
                                                       "draft_plan_issued", "final_plan_issued"]
    assert timeline["currentStage"] == "final_plan_issued"
    decision = d[("assessment_decision", "assessment_requested")]
    assert (decision["dueOn"], decision["status"], decision["metOn"], decision["metBy"]) == \
        ("2024-03-04", "met", "2024-03-01", "assessment_agreed"), f"deadlines: the assessment decision: {decision}"
    final = d[("final_plan", "assessment_requested")]
    assert (final["dueOn"], final["status"], final["metOn"]) == ("2024-06-10", "met", "2024-06-28")  # met late
    response = d[("draft_plan_response", "draft_plan_issued")]
    assert (response["dueOn"], response["party"]) == ("2024-06-04", "family")
    appeal = d[("appeal", "final_plan_issued")]
    assert appeal["dueOn"] == "2024-08-28" and appeal["status"] == "overdue" and appeal["party"] == "family"
    review = d[("annual_review", "final_plan_issued")]
    assert review["dueOn"] == "2025-06-28" and review["rule"]
    got = cw_a.get(f"/v1/cases/{case_a['id']}").json()
    assert got["stage"] == "final_plan_issued" and got["version"] == case_a["version"] + 5
    assert len(outbox(db, case_a["id"], "case.stage_changed")) == 5


def test_a_moved_request_date_recomputes_the_timeline(cw_a, case_a, db):
    first = stage(cw_a, case_a, "assessment_requested", "2024-01-31").json()
    _, d = deadlines(cw_a, case_a)
    assert d[("final_plan", "assessment_requested")]["dueOn"] == "2024-06-19"
    # Posting a once-only stage again moves it.
    again = stage(cw_a, case_a, "assessment_requested", "2024-01-10")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    timeline, d = deadlines(cw_a, case_a)
    assert len(timeline["stages"]) == 1
    assert d[("final_plan", "assessment_requested")]["dueOn"] == "2024-05-29"
    assert d[("assessment_decision", "assessment_requested")]["dueOn"] == "2024-02-21"
    # So does PATCHing it, with If-Match against the case's version.
    version = cw_a.get(f"/v1/cases/{case_a['id']}").json()["version"]
    r = patch(cw_a, f"/v1/cases/{case_a['id']}/stages/{first['id']}", {"on": "2024-02-29"},
              **{"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.text
    _, d = deadlines(cw_a, case_a)
    assert d[("assessment_decision", "assessment_requested")]["dueOn"] == "2024-04-11"
    assert patch(cw_a, f"/v1/cases/{case_a['id']}/stages/{first['id']}", {"on": "2024-03-01"},
                 **{"If-Match": f'"{version}"'}).status_code == 412
    moved = outbox(db, case_a["id"], "case.stage_changed")
    assert [e["previousOn"] for _, e in moved[1:]] == ["2024-01-31", "2024-01-10"]


def test_recurring_stages_add_occurrences_and_appeals_count_mediation(cw_a, case_a):
    assert stage(cw_a, case_a, "final_plan_issued", "2023-01-31").status_code == 201
    assert stage(cw_a, case_a, "annual_review", "2024-01-15").status_code == 201
    assert stage(cw_a, case_a, "annual_review", "2025-01-10").status_code == 201
    assert stage(cw_a, case_a, "mediation", "2023-03-20").status_code == 201
    timeline, _ = deadlines(cw_a, case_a)
    reviews = [d for d in timeline["deadlines"] if d["kind"] == "annual_review"]
    assert [(d["startsOn"], d["dueOn"], d["status"]) for d in reviews] == [
        ("2023-01-31", "2024-01-31", "met"), ("2024-01-15", "2025-01-15", "met"),
        ("2025-01-10", "2026-01-10", reviews[2]["status"])]
    appeal = [d for d in timeline["deadlines"] if d["kind"] == "appeal"][0]
    assert appeal["dueOn"] == "2023-04-20"  # 1 month from the certificate, later than 31 Jan + 2 months


def test_2001_code_statutory_assessment_and_proposed_statement(cw_a, authority_a):
    body = family_body(authority_a)
    body["children"][0]["dateOfBirth"] = "2002-05-05"   # a young adult now, at school under the 2001 code
    fam = cw_a.post("/v1/families", body).json()
    case_a = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    assert stage(cw_a, case_a, "statutory_assessment", "2008-09-01").status_code == 201
    assert stage(cw_a, case_a, "proposed_statement_issued", "2009-01-12").status_code == 201
    _, d = deadlines(cw_a, case_a)
    assert d[("statutory_assessment_decision", "statutory_assessment")]["dueOn"] == "2008-10-13"
    assert d[("proposed_statement", "statutory_assessment")]["status"] == "met"
    assert d[("final_statement", "statutory_assessment")]["dueOn"] == "2009-03-02"
    assert d[("proposed_statement_response", "proposed_statement_issued")]["dueOn"] == "2009-01-27"


def test_bad_stages_are_400_naming_on_and_nothing_is_stored(cw_a, case_a, db):
    assert stage(cw_a, case_a, "assessment_requested", "2024-05-01").status_code == 201
    version = cw_a.get(f"/v1/cases/{case_a['id']}").json()["version"]
    future = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    bad = [("limbo", "2024-06-01", "stage"),                  # unknown stage word: the codec refuses it
           ("draft_plan_issued", "2024-04-30", "on"),         # before the request
           ("final_plan_issued", future, "on"),                # in the future
           ("assessment_agreed", "2024-02-30", "on"),          # no such date
           ("tribunal_appeal", "2010-01-01", "on"),            # before the child was born (and the request)
           (None, "2024-06-01", "stage")]
    for name, on, field in bad:
        r = cw_a.post(f"/v1/cases/{case_a['id']}/stages", {"stage": name, "on": on})
        assert r.status_code == 400, (name, on, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    # A later stage fixes the request: the request cannot move after it.
    assert stage(cw_a, case_a, "assessment_agreed", "2024-06-03").status_code == 201
    r = stage(cw_a, case_a, "assessment_requested", "2024-06-10")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "on"
    assert count(db, "SELECT count(*) FROM intake.case_stages WHERE case_id = %s", case_a["id"]) == 2
    assert cw_a.get(f"/v1/cases/{case_a['id']}").json()["version"] == version + 1
    assert len(outbox(db, case_a["id"], "case.stage_changed")) == 2


def test_timeline_and_stages_of_another_authority_are_404(cw_a, cw_b, case_a):
    first = stage(cw_a, case_a, "sen_support", "2024-01-08").json()
    assert cw_b.get(f"/v1/cases/{case_a['id']}/timeline").status_code == 404
    assert stage(cw_b, case_a, "assessment_requested", "2024-02-01").status_code == 404
    assert patch(cw_b, f"/v1/cases/{case_a['id']}/stages/{first['id']}", {"on": "2024-01-09"}).status_code == 404
    assert patch(cw_a, f"/v1/cases/{case_a['id']}/stages/{uuid.uuid4()}", {"on": "2024-01-09"}).status_code == 404
    assert cw_a.get(f"/v1/cases/{uuid.uuid4()}/timeline").status_code == 404
