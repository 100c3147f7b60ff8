"""Tenancy from the catalog: every table of every service schema, listed
from pg_catalog, is either tenant data under row-level security (enabled
and FORCEd, so the service's own role, which owns it, is bound too) or on
the commented allow-list below. A table added later is covered without
anyone remembering to add it here: it fails until it has row security or
an entry saying why it needs none.

Then, in every tenant table, as the service's own role, a row of authority
A is probed with authority B's setting (what db_tx_begin sets for B's
caller): SELECT sees none of A's rows, INSERT of a copy of one is refused by
the policy, UPDATE and DELETE reach none; and with A's own setting, moving
A's row to B is refused. The rows come from one of everything made through
the public API for A; a tenant table this does not reach fails, naming it.
"""
import uuid

import psycopg2
import pytest

from conftest import ENV, Api, case_body, family_body, london_today, make_client, wait_for
from intake_helpers import agency_body
from webhook_helpers import sweep_url
from young_helpers import LINK_BODY, young_case_body, young_person_body

# Tables without row-level security, and why. Everything else in a service
# schema must have it.
NOT_TENANT_DATA = {
    # The gateway's own: the consortia, authorities and API clients are the
    # tenancy itself (the admin routes check each against the caller's
    # consortium and authorities); idempotency keys belong to one client.
    "gateway.consortia": "the consortia themselves",
    "gateway.authorities": "the authorities themselves, read by consortium",
    "gateway.api_clients": "API clients, read by consortium; keys stored as HMACs",
    "gateway.idempotency_keys": "answers kept per API client",
    # Owned by parley_audit; the gateway may only INSERT and SELECT, and
    # GET /v1/audit reads it by consortium. Ids only, never field values.
    "audit.events": "the append-only audit trail",
    # The relay thread delivers every authority's events, with no tenant set.
    "intake.outbox": "events to deliver, read by the relay across authorities",
    "intake.outbox_deliveries": "delivery state of each event",
    "matching.outbox": "events to deliver (ids only), read by the relay across authorities",
    "matching.outbox_deliveries": "delivery state of each event",
    "intake.inbox": "ids of events handled",
    "matching.inbox": "ids of events handled",
    # The deadline sweep records what it announced, across authorities.
    "intake.deadline_events": "(case id, deadline kind, due date) announced, for the sweep",
    # Matching's bookkeeping across authorities, ids and counts only.
    "matching.known_authorities": "authority ids the sweeper acts for",
    "matching.supporter_places": "capacity counts: ending an assignment frees its place whatever the authority",
    "matching.capacity_signal": "one timestamp: when capacity last appeared",
    "matching.pool_generations": "a counter per authority for the candidates cache",
    "matching.weights": "a consortium's matching weights, no personal data",
    # Notify's queue: the senders claim across authorities (ids only), then
    # read each notification with its own authority set.
    "notify.send_queue": "notification ids waiting to be sent, claimed by the senders across authorities",
    "notify.inbox": "ids of events handled",
    # Scheduling: a calendar's bookings (ids and times only) are seen whole
    # by the exclusion constraint and free slots, whichever authority's
    # appointment holds one (a supporter may serve several); the bank
    # holidays are public data; the outbox is the relay's.
    "scheduling.calendar_bookings": "calendar ids, appointment ids and times, for the exclusion constraint",
    "scheduling.bank_holidays": "the England and Wales bank holidays, public data",
    "scheduling.outbox": "events to deliver (ids only), read by the relay across authorities",
    "scheduling.appointment_reminders": "appointment ids and when each reminder is due, swept across authorities",
    "scheduling.outbox_deliveries": "delivery state of each event",
    # ics: a calendar's feed is reached with its token and no API key, so the
    # token is looked up before any authority is known; ids and keyed
    # hashes only, written after the calendar was read under its RLS.
    "scheduling.feed_tokens": "calendar ids and keyed hashes of feed tokens, looked up before the authority is known",
    # Webhook deliveries waiting to be sent (ids only), claimed likewise.
    "notify.webhook_queue": "webhook delivery ids waiting to be sent, claimed by the senders across authorities",
    # Training's plumbing: the relay and the expiry sweep act across authorities.
    "training.outbox": "events to deliver, read by the relay across authorities",
    "training.outbox_deliveries": "delivery state of each event",
    "training.inbox": "ids of events handled",
    "training.sweep_authorities": "authority ids the expiry sweep visits, each with its own tenant setting",
}
# Which migrations ran: no tenant data, in every schema that has migrations.
MIGRATIONS_TABLE = "schema_migrations"
TENANT_COLUMNS = ("authority_id", "authority_ids")


def _tables(db):
    """[(schema, table, owner, rls enabled, rls forced, tenant column)] of
    every ordinary or partitioned table in a schema owned by a parley_ role."""
    with db.cursor() as c:
        c.execute("""
            SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
                      AND a.attname = ANY (%s) ORDER BY a.attname LIMIT 1)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_roles r ON r.oid = n.nspowner
            WHERE r.rolname LIKE 'parley\\_%%' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY 1, 2""", (list(TENANT_COLUMNS),))
        return c.fetchall()


def _policies(db, schema, table):
    with db.cursor() as c:
        c.execute("SELECT cmd FROM pg_policies WHERE schemaname = %s AND tablename = %s", (schema, table))
        return {r[0] for r in c.fetchall()}


def test_every_table_of_every_service_schema_has_row_security_or_a_reason(db):
    tables = _tables(db)
    names = {f"{s}.{t}" for s, t, *_ in tables}
    assert {"intake.cases", "matching.supporters", "gateway.api_clients"} <= names, names
    wrong = []
    for schema, table, owner, enabled, forced, column in tables:
        name = f"{schema}.{table}"
        if name in NOT_TENANT_DATA or table == MIGRATIONS_TABLE:
            continue
        if not (enabled and forced):
            wrong.append(f"{name}: row-level security is {'enabled' if enabled else 'not enabled'} and "
                         f"{'forced' if forced else 'not forced'} (want both; or list it in NOT_TENANT_DATA "
                         "with the reason it holds no tenant data)")
        cmds = _policies(db, schema, table)
        if not ({"ALL"} <= cmds or {"SELECT", "INSERT", "UPDATE", "DELETE"} <= cmds):
            wrong.append(f"{name}: its policies cover {sorted(cmds)}, not every command")
        if column is None:
            wrong.append(f"{name}: row-level security but no {' or '.join(TENANT_COLUMNS)} column for this "
                         "test to tell whose a row is")
        if owner != f"parley_{schema}":
            wrong.append(f"{name}: owned by {owner}, not parley_{schema}, the role the {schema} service runs as")
    stale = sorted(set(NOT_TENANT_DATA) - names)
    assert not wrong, "tenancy: tables that do not keep authorities apart:\n" + "\n".join(wrong)
    assert not stale, f"NOT_TENANT_DATA names tables that no longer exist: {stale}"


def _rls_tables(db):
    return [(s, t, c) for s, t, _, _, _, c in _tables(db)
            if f"{s}.{t}" not in NOT_TENANT_DATA and t != MIGRATIONS_TABLE]


def _whose(column):
    """SQL: the rows that are authority %(a)s's alone."""
    return f"{column} = %(a)s::uuid" if column == "authority_id" else f"{column} = ARRAY[%(a)s::uuid]"


def _moved(column):
    return "%(b)s::uuid" if column == "authority_id" else "ARRAY[%(b)s::uuid]"


def _make_one_of_everything(cw_a, authority_a, db):
    """Through the public API, a row of authority A in every tenant table."""
    fam = cw_a.post("/v1/families", family_body(authority_a))
    assert fam.status_code == 201, fam.text
    fam = fam.json()
    waiting = cw_a.post("/v1/cases", case_body(authority_a, fam, wantsSupporter=True))  # matching hears of it
    assert waiting.status_code == 201, waiting.text
    waiting = waiting.json()
    r = cw_a.post(f"/v1/cases/{waiting['id']}/stages", {"stage": "assessment_requested", "on": "2024-01-10"})
    assert r.status_code == 201, r.text
    r = cw_a.post(f"/v1/children/{fam['children'][0]['id']}/views",
                  {"recordedOn": "2024-01-10", "method": "conversation", "summary": "Likes the quiet room.",
                   "recordedBy": "Caseworker"})
    assert r.status_code == 201, r.text
    agency = cw_a.post("/v1/agencies", agency_body([authority_a]))
    assert agency.status_code == 201, agency.text
    r = cw_a.post(f"/v1/cases/{waiting['id']}/signposts",
                  {"agencyId": agency.json()["id"], "on": "2024-01-11", "method": "email"})
    assert r.status_code == 201, r.text
    r = cw_a.post("/v1/resources", {"key": f"catalog-probe-{uuid.uuid4().hex[:8]}", "title": "Local offer", "topic": "options",
                                    "language": "en", "format": "standard", "body": "Local information.",
                                    "reviewDueOn": "2030-01-01", "authorityIds": [authority_a]})
    assert r.status_code == 201, r.text
    r = cw_a.post("/v1/supporters", {"givenName": "Probe", "familyName": "Supporter", "authorityIds": [authority_a],
                                     "languages": ["so", "en"], "capacity": 5, "vettingExpiresOn": "2035-01-01"})
    assert r.status_code == 201, r.text
    offered = cw_a.post("/v1/cases", case_body(authority_a, fam)).json()
    mr = cw_a.post("/v1/match-requests", {"caseId": offered["id"]})
    assert mr.status_code == 201 and mr.json().get("currentOffer"), mr.text
    r = cw_a.post(f"/v1/offers/{mr.json()['currentOffer']['id']}/accept", {})
    assert r.status_code == 200, r.text
    # family.updated reaches matching's family_facts.
    parents = [{**{k: v for k, v in p.items() if k != "id"}, "parentId": p["id"]} for p in fam["parents"]]
    parents[1]["preferredLanguage"] = "ar"
    r = cw_a.s.patch(cw_a.base + f"/v1/families/{fam['id']}", json={"parents": parents}, timeout=10)
    assert r.status_code == 200, r.text
    # Young people as clients: their record, a linked parent, their views, their case.
    yp = cw_a.post("/v1/young-people", young_person_body(authority_a))
    assert yp.status_code == 201, yp.text
    yp = yp.json()
    for path, body in ((f"/v1/young-people/{yp['id']}/parents", LINK_BODY),
                       (f"/v1/young-people/{yp['id']}/views",
                        {"recordedOn": "2024-01-10", "method": "conversation", "summary": "Likes college.",
                         "recordedBy": "Caseworker"}),
                       ("/v1/cases", young_case_body(authority_a, yp))):
        r = cw_a.post(path, body)
        assert r.status_code == 201, r.text

    # Notify: a template and a notification made from it.
    r = cw_a.s.put(cw_a.base + f"/v1/templates/catalog-{uuid.uuid4().hex[:8]}", timeout=10, json={
        "authorityId": authority_a, "translations": [{"language": "en", "subject": "Hello ((name))", "body": "Hi"}]})
    assert r.status_code == 200, r.text
    r = cw_a.post("/v1/notifications", {"authorityId": authority_a, "template": r.json()["key"], "data": {"name": "A"},
                                        "recipient": {"email": "probe@example.org"}, "category": "probe"})
    assert r.status_code == 202, r.text
    # contacts: a parent's preferences.
    r = cw_a.s.put(cw_a.base + f"/v1/contacts/{fam['parents'][0]['id']}/preferences", json={"optOuts": ["probe"]},
                   timeout=10)
    assert r.status_code == 200, r.text
    # Webhooks: one of A's (an admin's), and a delivery to it of a case opened after.
    admin_a = Api(make_client(["consortium_admin"], [authority_a]))
    r = admin_a.post("/v1/webhooks", {"authorityId": authority_a, "url": sweep_url(f"catalog/{uuid.uuid4().hex}"),
                                      "eventTypes": ["case.opened"]})
    assert r.status_code == 201, r.text
    r = cw_a.post("/v1/cases", case_body(authority_a, fam))
    assert r.status_code == 201, r.text

    # Scheduling: a calendar and an appointment booked on it.
    owner = str(uuid.uuid4())
    r = cw_a.s.put(cw_a.base + f"/v1/calendars/{owner}/availability", timeout=10,
                   json={"authorityId": authority_a, "ownerKind": "room"})
    assert r.status_code == 200, r.text
    r = cw_a.post("/v1/appointments", {
        "authorityId": authority_a, "caseId": waiting["id"], "kind": "one_to_one", "start": "2027-01-05T10:00:00Z",
        "end": "2027-01-05T11:00:00Z", "location": {"kind": "in_person", "address": "Room 1"},
        "participants": [{"kind": "room", "calendarOwnerId": owner, "name": "Room 1"}]})
    assert r.status_code == 201, r.text
    r = cw_a.post("/v1/sessions", {
        "authorityId": authority_a, "title": "Probe", "kind": "workshop", "audience": ["parents"], "capacity": 3,
        "start": "2027-01-05T18:00:00Z", "end": "2027-01-05T19:00:00Z", "location": {"kind": "in_person", "address": "Hall"}})
    assert r.status_code == 201, r.text
    r = cw_a.post(f"/v1/sessions/{r.json()['id']}/bookings", {"name": "Probe"})
    assert r.status_code == 201, r.text

    # Training: a course, a session attended, requirements, and a completion
    # expiring within the window (the sweep records its expiring notice).
    r = cw_a.post("/v1/courses", {"authorityId": authority_a, "code": f"CAT-{uuid.uuid4().hex[:8]}", "title": "Probe",
                                  "audience": ["teacher"], "level": 1, "validForMonths": 1, "delivery": "online"})
    assert r.status_code == 201, r.text
    course = r.json()["id"]
    r = cw_a.s.put(cw_a.base + "/v1/requirements/teacher", timeout=10,
                   json={"authorityId": authority_a, "courses": [{"courseId": course}]})
    assert r.status_code == 200, r.text
    r = cw_a.post("/v1/training-sessions", {"courseId": course, "trainer": "Probe", "capacity": 2,
                                            "on": london_today().isoformat()})
    assert r.status_code == 201, r.text
    r = cw_a.post(f"/v1/training-sessions/{r.json()['id']}/attendance",
                  {"attendees": [{"name": "Probe", "organisation": {"urn": "100000"}, "role": "teacher"}]})
    assert r.status_code == 200, r.text

    missing = []

    def all_there():  # matching's rows come from intake's events, a moment later
        missing[:] = []
        for schema, table, column in _rls_tables(db):
            with db.cursor() as c:
                c.execute(f"SELECT count(*) FROM {schema}.{table} WHERE {_whose(column)}", {"a": authority_a})
                if c.fetchone()[0] == 0:
                    missing.append(f"{schema}.{table}")
        return not missing
    assert wait_for(all_there, timeout=20), \
        f"tenancy probe: no row of authority A in {missing}: make one in _make_one_of_everything"


def _as(db, role, authorities, consortium):
    c = db.cursor()
    c.execute("BEGIN")
    c.execute(f"SET LOCAL ROLE {role}")
    c.execute("SELECT set_config('parley.authority_ids', %s, true), set_config('parley.consortium_id', %s, true),"
              " set_config('parley.client_id', '', true)", ("{" + ",".join(authorities) + "}", consortium))
    return c


def _attempt(c, sql, args):
    """Runs sql in a savepoint: ("ok", rowcount) or ("error", sqlstate, message)."""
    c.execute("SAVEPOINT probe")
    try:
        c.execute(sql, args)
        out = ("ok", c.rowcount)
        c.execute("RELEASE SAVEPOINT probe")
    except psycopg2.Error as e:
        c.execute("ROLLBACK TO SAVEPOINT probe")
        out = ("error", e.pgcode, (e.pgerror or "").strip().splitlines()[0] if e.pgerror else "")
    return out


RLS_REFUSED = "42501"  # insufficient_privilege: "new row violates row-level security policy"


@pytest.mark.timeout(180)
def test_each_services_role_with_authority_b_neither_sees_nor_changes_authority_a_rows(
        cw_a, authority_a, authority_b, db):
    _make_one_of_everything(cw_a, authority_a, db)
    consortium = ENV["PARLEY_CONSORTIUM_ID"]
    ab = {"a": authority_a, "b": authority_b}
    wrong = []
    for schema, table, column in _rls_tables(db):
        name, role, where = f"{schema}.{table}", f"parley_{schema}", _whose(column)
        with db.cursor() as c:
            c.execute(f"SELECT row_to_json(t)::text FROM {name} t WHERE {where} LIMIT 1", ab)
            row = c.fetchone()[0]
            c.execute("SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
                      " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
                      " AND attgenerated = '' AND attidentity <> 'a'", (name,))
            cols = c.fetchone()[0]
        c = _as(db, role, [authority_b], consortium)
        try:
            c.execute(f"SELECT count(*) FROM {name} WHERE {where}", ab)
            seen = c.fetchone()[0]
            if seen:
                wrong.append(f"{name}: {role} with authority B's setting SELECTs {seen} of A's rows")
            got = _attempt(c, f"INSERT INTO {name} ({cols}) SELECT {cols} FROM json_populate_record(NULL::{name},"
                              " %(row)s::json)", {**ab, "row": row})
            if got[:2] != ("error", RLS_REFUSED):
                wrong.append(f"{name}: {role} with authority B's setting INSERTing a row of A: {got} "
                             "(want the row-level security policy to refuse it)")
            got = _attempt(c, f"UPDATE {name} SET {column} = {column} WHERE {where}", ab)
            if got != ("ok", 0):
                wrong.append(f"{name}: {role} with authority B's setting UPDATEs A's rows: {got} (want 0 rows)")
            got = _attempt(c, f"DELETE FROM {name} WHERE {where}", ab)
            if got != ("ok", 0):
                wrong.append(f"{name}: {role} with authority B's setting DELETEs A's rows: {got} (want 0 rows)")
        finally:
            c.execute("ROLLBACK")
            c.close()
        c = _as(db, role, [authority_a], consortium)
        try:
            c.execute(f"SELECT count(*) FROM {name} WHERE {where}", ab)
            if c.fetchone()[0] == 0:
                wrong.append(f"{name}: {role} with A's own setting sees none of A's rows (the probe is broken)")
            got = _attempt(c, f"UPDATE {name} SET {column} = {_moved(column)} WHERE {where}", ab)
            if got[:2] != ("error", RLS_REFUSED):
                wrong.append(f"{name}: {role} with A's setting moving A's row to B: {got} "
                             "(want the policy's WITH CHECK to refuse it)")
        finally:
            c.execute("ROLLBACK")
            c.close()
    assert not wrong, "tenancy: row-level security lets one authority reach another's rows:\n" + "\n".join(wrong)
