"""Never over capacity, whatever the concurrency and however many matching
instances: 40 offers held for one supporter whose capacity then drops to 5,
all 40 accepted at once through 3 matching instances -> exactly 5
assignments; the 35 others are refused with 409 and offered to the next
candidate. The stack is put back to one matching instance afterwards."""
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from conftest import ENV, ROOT, scale
from matching_helpers import count, make_case, make_supporter, patch, request_match, tenant, wait_for  # noqa: F401

N_OFFERS = 40
PLACES = 5


def _served_by(request_ids):
    """{pid: how many of request_ids its log shows}, over matching's logs."""
    var = Path(ENV.get("PARLEY_VAR_DIR", "var"))
    logs = (var if var.is_absolute() else ROOT / var) / "log"
    served = {}
    for path in logs.glob("matching-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("requestId") in request_ids and "AcceptOffer" in rec.get("msg", ""):
                served[rec["pid"]] = served.get(rec["pid"], 0) + 1
    return served


def test_forty_concurrent_accepts_for_five_places_over_three_instances(tenant, db):
    best = make_supporter(tenant.cw_x, [tenant.x], specialisms=["autism"], areas=["N1"], capacity=N_OFFERS)
    next_best = make_supporter(tenant.cw_x, [tenant.x], capacity=N_OFFERS)
    requests_made = [request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"]) for _ in range(N_OFFERS)]
    assert all(mr["currentOffer"]["supporterId"] == best["id"] for mr in requests_made)
    r = patch(tenant.cw_x, f"/v1/supporters/{best['id']}", {"capacity": PLACES})
    assert r.status_code == 200 and r.json()["pendingOffers"] == N_OFFERS

    key = tenant.supporter_x.s.headers["Authorization"]
    rids = {mr["currentOffer"]["id"]: f"accept-{i}-{time.time_ns()}" for i, mr in enumerate(requests_made)}

    def accept(offer_id):
        return requests.post(f"{ENV['PARLEY_URL']}/v1/offers/{offer_id}/accept", json={}, timeout=30,
                             headers={"Authorization": key, "X-Request-Id": rids[offer_id]})

    try:
        scale("matching", 3)  # returns once every instance is registered with the broker
        with ThreadPoolExecutor(N_OFFERS) as pool:
            answers = list(pool.map(accept, list(rids)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * PLACES + [409] * (N_OFFERS - PLACES), \
            f"capacity: {N_OFFERS} concurrent accepts for {PLACES} places answered {codes}: " \
            f"{[a.text for a in answers if a.status_code not in (200, 409)][:3]}"
        served = _served_by({a.headers["X-Request-Id"] for a in answers})  # the gateway's own ids
        assert len(served) >= 2, served  # the accepts really were spread over instances
    finally:
        scale("matching", 1)

    assert count(db, "SELECT count(*) FROM matching.assignments WHERE supporter_id = %s AND status = 'active'",
                 best["id"]) == PLACES, "capacity: the supporter has more active assignments than places"
    assert count(db, "SELECT active FROM matching.supporter_places WHERE supporter_id = %s", best["id"]) == PLACES
    refused = [a.json() for a in answers if a.status_code == 409]
    assert all("no place left" in p["detail"] and "next candidate" in p["detail"] for p in refused), \
        "capacity: a refused accept did not say the supporter has no place left and offer the family on: " \
        f"{sorted({p['detail'] for p in refused})[:3]}"
    # Every refused family now holds an offer from the next candidate.
    for mr in requests_made:
        got = tenant.cw_x.get(f"/v1/match-requests/{mr['id']}").json()
        if got["status"] == "matched":
            continue
        assert got["currentOffer"]["supporterId"] == next_best["id"]
        assert [o["status"] for o in got["offers"]] == ["withdrawn", "pending"]
    assert count(db, "SELECT count(*) FROM matching.offers WHERE supporter_id = %s AND status = 'pending'",
                 next_best["id"]) == N_OFFERS - PLACES
    s = tenant.cw_x.get(f"/v1/supporters/{best['id']}").json()
    assert (s["activeAssignments"], s["pendingOffers"], s["freePlaces"]) == (PLACES, 0, 0)


def test_the_database_refuses_an_assignment_over_capacity_even_without_the_lock(tenant, db):
    s = make_supporter(tenant.cw_x, [tenant.x], capacity=1)
    mr1 = request_match(tenant.cw_x, make_case(tenant.cw_x, tenant.x)["id"])
    assert tenant.cw_x.post(f"/v1/offers/{mr1['currentOffer']['id']}/accept", {}).status_code == 200
    # A code path that skipped the check would still be stopped by the CHECK.
    with db.cursor() as c:
        c.execute("BEGIN")
        try:
            c.execute("UPDATE matching.supporter_places SET active = active + 1 WHERE supporter_id = %s", (s["id"],))
            raised = None
        except Exception as e:  # noqa: BLE001 - psycopg2's CheckViolation
            raised = e
        c.execute("ROLLBACK")
    assert raised is not None and "never_over_capacity" in str(raised), \
        f"capacity: PostgreSQL let a supporter's active families exceed the capacity ({raised})"
    # And capacity cannot be set below the families supported now.
    r = patch(tenant.cw_x, f"/v1/supporters/{s['id']}", {"capacity": 0})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "capacity"
