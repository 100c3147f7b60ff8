"""A case closed in intake reaches matching (case.closed, through intake's
outbox relay): its assignment ends and the supporter's place is free again,
its pending offer is withdrawn (the reserved place released) and its open
match request cancelled, so it leaves the waiting list and the unmet-demand
figures. A redelivered event changes nothing."""
from matching_helpers import count, events, make_case, make_supporter, request_match, tenant, wait_for  # noqa: F401


def _close(api, case_id):
    r = api.post(f"/v1/cases/{case_id}/close", {"outcome": "information_provided"})
    assert r.status_code == 200, r.text


def _request(api, mr_id):
    r = api.get(f"/v1/match-requests/{mr_id}")
    assert r.status_code == 200, r.text
    return r.json()


def _places(api, supporter_id):
    s = api.get(f"/v1/supporters/{supporter_id}").json()
    return s["activeAssignments"], s["pendingOffers"], s["freePlaces"]


def _delivery(db, case_id):
    """(attempts, delivered) of intake's case.closed delivery to matching."""
    with db.cursor() as c:
        c.execute("SELECT d.attempts, d.delivered_at IS NOT NULL FROM intake.outbox o"
                  " JOIN intake.outbox_deliveries d ON d.event_id = o.id"
                  " WHERE o.subject_id = %s AND o.type = 'case.closed' AND d.subscriber = 'matching'", (case_id,))
        return c.fetchall()


def test_closing_cases_ends_the_assignment_and_withdraws_the_offer_and_a_redelivery_changes_nothing(tenant, db):
    first = make_supporter(tenant.cw_x, [tenant.x], specialisms=["autism"], areas=["N1"], capacity=1)
    second = make_supporter(tenant.cw_x, [tenant.x], capacity=1)
    assigned = make_case(tenant.cw_x, tenant.x)
    mr_a = request_match(tenant.cw_x, assigned["id"])
    assert mr_a["currentOffer"]["supporterId"] == first["id"]
    r = tenant.supporter_x.post(f"/v1/offers/{mr_a['currentOffer']['id']}/accept", {})
    assert r.status_code == 200, r.text
    assignment_id = r.json()["assignmentId"]
    offered = make_case(tenant.cw_x, tenant.x)
    mr_b = request_match(tenant.cw_x, offered["id"])  # `first` is full: offered to `second`
    assert mr_b["status"] == "offered" and mr_b["currentOffer"]["supporterId"] == second["id"]
    assert _places(tenant.cw_x, first["id"]) == (1, 0, 0)
    assert _places(tenant.cw_x, second["id"]) == (0, 1, 0)

    _close(tenant.cw_x, assigned["id"])
    _close(tenant.cw_x, offered["id"])

    def ended():
        items = tenant.cw_x.get("/v1/assignments", params={"caseId": assigned["id"]}).json()["items"]
        return items if items and items[0]["status"] == "ended" else None

    items = wait_for(ended, timeout=10)
    assert items, tenant.cw_x.get("/v1/assignments", params={"caseId": assigned["id"]}).text
    assert [a["id"] for a in items] == [assignment_id] and items[0]["endReason"] == "case closed"
    assert _places(tenant.cw_x, first["id"]) == (0, 0, 1)
    assert _request(tenant.cw_x, mr_a["id"])["status"] == "matched"  # a matched request stays as it was

    mr_b = wait_for(lambda: (lambda m: m if m["status"] == "cancelled" else None)(_request(tenant.cw_x, mr_b["id"])),
                    timeout=10)
    assert mr_b, _request(tenant.cw_x, mr_b["id"])
    assert mr_b["cancelReason"] == "case closed" and "currentOffer" not in mr_b
    assert [(o["status"], o["answerReason"]) for o in mr_b["offers"]] == [("withdrawn", "case closed")]
    assert _places(tenant.cw_x, second["id"]) == (0, 0, 1)

    ended_events = events(db, assigned["id"], "assignment.ended")
    assert len(ended_events) == 1
    data = ended_events[0][1]
    assert (data["assignmentId"], data["supporterId"], data["reason"]) == (assignment_id, first["id"], "case closed")
    with db.cursor() as c:
        c.execute("SELECT data FROM matching.outbox WHERE type = 'assignment.ended' AND subject_id = %s",
                  (assigned["id"],))
        assert c.fetchone()[0]["caseId"] == assigned["id"]

    # A redelivery (the relay retrying after a lost answer) changes nothing.
    assert wait_for(lambda: _delivery(db, assigned["id"]) == [(1, True)], timeout=10)
    before = events(db, assigned["id"])
    with db.cursor() as c:
        c.execute("UPDATE intake.outbox_deliveries d SET delivered_at = NULL, next_attempt_at = now()"
                  " FROM intake.outbox o WHERE o.id = d.event_id AND o.subject_id = %s"
                  " AND o.type = 'case.closed' AND d.subscriber = 'matching'", (assigned["id"],))
    assert wait_for(lambda: _delivery(db, assigned["id"]) == [(2, True)], timeout=10), _delivery(db, assigned["id"])
    assert events(db, assigned["id"]) == before
    assert ended() == items
    assert _places(tenant.cw_x, first["id"]) == (0, 0, 1)
    assert count(db, "SELECT count(*) FROM matching.inbox i JOIN intake.outbox o ON o.id = i.event_id"
                     " WHERE o.subject_id = %s AND o.type = 'case.closed'", assigned["id"]) == 1


def test_closing_a_waiting_case_cancels_its_request_and_it_leaves_the_unmet_demand(tenant):
    make_supporter(tenant.cw_x, [tenant.x], languages=["en"], capacity=2)
    case = make_case(tenant.cw_x, tenant.x, language="pl", comm=["interpreter"], needs=("autism",))
    mr = request_match(tenant.cw_x, case["id"])
    assert mr["status"] == "waiting"

    def demand():
        got = tenant.cw_x.get("/v1/matching/unmet-demand", params={"authorityId": tenant.x}).json()
        (summary,) = [a for a in got["authorities"] if a["authorityId"] == tenant.x]
        return summary["waitingFamilies"], sum(g["waitingFamilies"] for g in got["items"])

    assert demand() == (1, 1)
    _close(tenant.cw_x, case["id"])
    got = wait_for(lambda: (lambda m: m if m["status"] == "cancelled" else None)(_request(tenant.cw_x, mr["id"])),
                   timeout=10)
    assert got and got["cancelReason"] == "case closed"
    assert demand() == (0, 0)
    # The case is closed: another request for it is refused.
    assert tenant.cw_x.post("/v1/match-requests", {"caseId": case["id"]}).status_code == 409
