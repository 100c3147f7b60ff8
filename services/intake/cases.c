/* Cases, from referral to closure: open, read, list; the row lock every
 * change to a case takes. A case's client is a family's child (familyId
 * and childId) or a young person aged 16 to 25 in their own right
 * (youngPersonId, young_people.c): exactly one.
 *
 * A partner agency (a key with partner_agency and no staff role) opens
 * cases only on families (or young people) its own API client registered:
 * any other is answered exactly as a random id is. Its answer is what a referrer sees
 * (services/intake/referrals.c): the case's id, authority, status, stage,
 * version and dates, nothing read from the family or the child; once the
 * family withdraws consent to share, not even the status or stage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/page_token.h"
#include "svc/precondition.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Case case_t;
typedef Parley__Intake__V1__CreateCaseRequest create_case_t;

#define CASE_COLUMNS                                                                                       \
    "id, authority_id, family_id, child_id, source, referrer_agency_id, needs, wants_supporter, summary,"     \
    " consent_share, consent_basis, consent_given_by, " DB_MICROS("consent_given_at") ","                        \
    " status, version, " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ","                                   \
    " stage, EXISTS (SELECT 1 FROM child_views v WHERE v.child_id = cases.child_id)"                        \
    "  OR EXISTS (SELECT 1 FROM young_person_views v WHERE v.young_person_id = cases.young_person_id),"       \
    " coalesce((SELECT to_char(max(v.recorded_on), 'YYYY-MM-DD') FROM child_views v WHERE v.child_id = cases.child_id)," \
    "  (SELECT to_char(max(v.recorded_on), 'YYYY-MM-DD') FROM young_person_views v"                          \
    "   WHERE v.young_person_id = cases.young_person_id)),"                                                   \
    " outcome, close_reason, " DB_MICROS("closed_at") ", " DB_MICROS("consent_withdrawn_at") ","                    \
    " consent_withdrawal_reason, consent_withdrawn_by,"                                                          \
    " CASE WHEN created_by_client = caller_client() THEN external_reference END, young_person_id"

/* The case's object for the request's audit row (deploy/bootstrap.sql). */
#define CASE_TOUCH "audit.touch(id::text, authority_id)"

static const db_stmt_t stmts[] = {
    /* A case is opened in one statement that also checks what it names:
     * the family (in this authority, and the partner's own when $14 is set),
     * the child (of that family; the partner's own too) and the referring
     * agency (serving this authority), each as the caller may see it. One that is not there
     * raises svc_violation (a 400 naming the field), so the pipeline stops
     * before its COMMIT; the answer is what RETURNING gives. */
    {"case_insert",
     "INSERT INTO cases (id, authority_id, family_id, child_id, source, referrer_agency_id, needs,"
     " wants_supporter, summary, consent_share, consent_basis, consent_given_by, created_by_client,"
     " external_reference, young_person_id)"
     " SELECT $1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::text, $6::uuid, $7::text[], $8::boolean, $9::text,"
     " $10::boolean, $11::text, $12::text, $13::uuid, $15::text, $16::uuid"
     " WHERE CASE"
     "  WHEN $16::uuid IS NULL AND NOT EXISTS (SELECT 1 FROM families f WHERE f.id = $3::uuid AND f.authority_id = $2::uuid"
     "       AND f.authority_id = ANY (current_authorities()) AND ($14::uuid IS NULL OR f.created_by_client = $14::uuid))"
     "   THEN svc_violation('familyId', 'no such family in this authority')"
     "  WHEN $16::uuid IS NULL AND NOT EXISTS (SELECT 1 FROM children ch WHERE ch.id = $4::uuid AND ch.family_id = $3::uuid"
     "       AND ch.authority_id = ANY (current_authorities()) AND ($14::uuid IS NULL OR ch.created_by_client = $14::uuid))"
     "   THEN svc_violation('childId', 'no such child in this family')"
     /* Young people as clients: the young person (in this authority, and
      * the partner's own when $14 is set), as a family is. */
     "  WHEN $16::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM young_people y WHERE y.id = $16::uuid"
     "       AND y.authority_id = $2::uuid AND y.authority_id = ANY (current_authorities())"
     "       AND ($14::uuid IS NULL OR y.created_by_client = $14::uuid))"
     "   THEN svc_violation('youngPersonId', 'no such young person in this authority')"
     "  WHEN $6::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM agencies g WHERE g.id = $6::uuid"
     "       AND $2::uuid = ANY (g.authority_ids) AND g.authority_ids && current_authorities())"
     "   THEN svc_violation('referrerAgencyId', 'no such agency in the directory for this authority')"
     "  ELSE true END"
     " RETURNING " CASE_COLUMNS ", " CASE_TOUCH},
    {"case_get",
     "SELECT " CASE_COLUMNS ", " CASE_TOUCH " FROM cases WHERE id = $1 AND authority_id = ANY (current_authorities())"},
    /* A partner's read: only a case its own client opened, and of it only
     * what a referrer sees (what consent allows: REFERRER_COLUMNS). */
    {"case_get_referred",
     "SELECT " REFERRER_COLUMNS ", " CASE_TOUCH " FROM cases WHERE id = $1"
     " AND authority_id = ANY (current_authorities()) AND created_by_client = caller_client()"},
    /* Opened order; with updatedSince ($8) the order changed. $7: this
     * client's externalReference. */
    {"case_list",
     "SELECT " CASE_COLUMNS ", audit.listed(id::text, $5::int - 1) FROM cases"
     " WHERE authority_id = ANY (current_authorities())"
     " AND ($1::text IS NULL OR status = $1)"
     " AND ($2::uuid IS NULL OR authority_id = $2)"
     " AND ($3::bigint IS NULL OR (created_at, id) >"
     "      (" DB_FROM_MICROS("$3") ", $4::uuid))"
     " AND ($6::text IS NULL OR stage = $6)"
     " AND ($7::text IS NULL OR (external_reference = $7 AND created_by_client = caller_client()))"
     " ORDER BY created_at, id LIMIT $5"},
    {"case_list_changed",
     "SELECT " CASE_COLUMNS ", audit.listed(id::text, $5::int - 1) FROM cases"
     " WHERE authority_id = ANY (current_authorities())"
     " AND ($1::text IS NULL OR status = $1)"
     " AND ($2::uuid IS NULL OR authority_id = $2)"
     " AND ($3::bigint IS NULL OR (updated_at, id) >"
     "      (" DB_FROM_MICROS("$3") ", $4::uuid))"
     " AND ($6::text IS NULL OR stage = $6)"
     " AND ($7::text IS NULL OR (external_reference = $7 AND created_by_client = caller_client()))"
     " AND updated_at >= " DB_FROM_MICROS("$8")
     " ORDER BY updated_at, id LIMIT $5"},
    /* After a refused insert: which case this client gave that reference. */
    {"case_by_reference",
     "SELECT id FROM cases WHERE created_by_client = caller_client() AND external_reference = $1"
     " AND authority_id = ANY (current_authorities())"},
    {"case_lock",
     "SELECT authority_id, status, ($2::int[] IS NULL OR version = ANY ($2::int[])), " CASE_TOUCH " FROM cases"
     " WHERE id = $1 AND authority_id = ANY (current_authorities()) FOR UPDATE"},
    {"case_touch", "UPDATE cases SET version = version + 1, updated_at = now() WHERE id = $1"},
};

const db_stmt_t *cases_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static void validate(const bus_request_t *req, bus_response_t *res, const create_case_t *in) {
    svc_check_authority(req, res, "authorityId", in->authority_id);
    /* One client: a family's child, or a young person in their own right. */
    if (svc_opt(in->young_person_id) && (svc_opt(in->family_id) || svc_opt(in->child_id))) {
        bus_response_violation(res, "youngPersonId",
                               "a case has one client: a young person (youngPersonId) or a family's child "
                               "(familyId and childId), not both");
    } else if (svc_opt(in->young_person_id)) {
        svc_check_uuid(res, "youngPersonId", in->young_person_id, true);
    } else {
        svc_check_uuid(res, "familyId", in->family_id, true);
        svc_check_uuid(res, "childId", in->child_id, true);
    }
    svc_check_uuid(res, "referrerAgencyId", in->referrer_agency_id, false);
    if (in->source == 0) bus_response_violation(res, "source", "is required");
    if (in->n_needs == 0) bus_response_violation(res, "needs", "at least one need is required");
    if (in->n_needs > 10) bus_response_violation(res, "needs", "at most 10 needs");
    svc_check_max_len(res, "summary", in->summary, 4000);
    intake_check_reference(res, "externalReference", in->external_reference);
    if (in->consent == NULL) {
        bus_response_violation(res, "consent", "is required: record the lawful basis for holding this case");
    } else {
        if (in->consent->lawful_basis == 0) bus_response_violation(res, "consent.lawfulBasis", "is required");
        svc_check_max_len(res, "consent.givenBy", in->consent->given_by, 200);
    }
}

static case_t *case_from_row(arena_t *a, const db_result_t *r, int i) {
    case_t *c = arena_alloc(a, sizeof *c);
    parley__intake__v1__case__init(c);
    c->id = db_str(a, r, i, 0);
    c->authority_id = db_str(a, r, i, 1);
    c->family_id = db_str(a, r, i, 2);
    c->child_id = db_str(a, r, i, 3);
    c->source = svc_enum_value(&parley__intake__v1__case_source__descriptor, db_text(r, i, 4));
    c->referrer_agency_id = db_str(a, r, i, 5);
    char **needs;
    int n = db_array_parse(a, db_text(r, i, 6), &needs);
    c->needs = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof *c->needs);
    for (int k = 0; k < n; k++) c->needs[c->n_needs++] = svc_enum_value(&parley__intake__v1__case_need__descriptor, needs[k]);
    c->wants_supporter = db_bool(r, i, 7);
    c->summary = db_str(a, r, i, 8);
    c->consent = arena_alloc(a, sizeof *c->consent);
    parley__intake__v1__consent__init(c->consent);
    c->consent->share_with_agencies = db_bool(r, i, 9);
    c->consent->lawful_basis = svc_enum_value(&parley__intake__v1__lawful_basis__descriptor, db_text(r, i, 10));
    c->consent->given_by = db_str(a, r, i, 11);
    c->consent->given_at = svc_timestamp(a, db_int(r, i, 12));
    c->status = svc_enum_value(&parley__intake__v1__case_status__descriptor, db_text(r, i, 13));
    c->version = (int32_t)db_int(r, i, 14);
    c->created_at = svc_timestamp(a, db_int(r, i, 15));
    c->updated_at = svc_timestamp(a, db_int(r, i, 16));
    c->stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, i, 17));
    c->views_sought = arena_alloc(a, sizeof *c->views_sought);
    google__protobuf__bool_value__init(c->views_sought);
    c->views_sought->value = db_bool(r, i, 18);
    c->views_last_recorded_on = db_str(a, r, i, 19);
    c->outcome = svc_enum_value(&parley__intake__v1__case_outcome__descriptor, db_text(r, i, 20));
    c->close_reason = db_str(a, r, i, 21);
    if (!db_is_null(r, i, 22)) c->closed_at = svc_timestamp(a, db_int(r, i, 22));
    if (!db_is_null(r, i, 23)) c->consent->withdrawn_at = svc_timestamp(a, db_int(r, i, 23));
    c->consent->withdrawal_reason = db_str(a, r, i, 24);
    c->consent->withdrawn_by = db_str(a, r, i, 25);
    c->external_reference = db_str(a, r, i, 26);
    c->consent_withdrawn = c->consent->withdrawn_at != NULL;
    c->young_person_id = db_str(a, r, i, 27);
    return c;
}

int cases_load(db_t *db, arena_t *a, const char *id, case_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "case_get", 1, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) == 1;
    if (rc) *out = case_from_row(a, r, 0);
    db_result_free(&r);
    return rc;
}

/* What a referrer may see of the case it opened, when it opens it (consent
 * is then not yet withdrawn): as referrals.c reads it. */
static case_t *referrer_view(arena_t *a, const case_t *full) {
    case_t *c = arena_alloc(a, sizeof *c);
    parley__intake__v1__case__init(c);
    c->id = full->id;
    c->authority_id = full->authority_id;
    c->status = full->status;
    c->stage = full->stage;
    c->version = full->version;
    c->created_at = full->created_at;
    c->updated_at = full->updated_at;
    c->closed_at = full->closed_at;
    c->external_reference = full->external_reference;
    return c;
}

int cases_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const create_case_t *in = (const create_case_t *)req->input;
    validate(req, res, in);
    if (res->status.code != PARLEY__COMMON__V1__CODE__CODE_OK) return -1;

    char *id = arena_alloc(a, IDS_UUID_LEN + 1);
    if (id == NULL || ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    char **needs = arena_alloc(a, in->n_needs * sizeof *needs);
    for (size_t k = 0; k < in->n_needs; k++)
        needs[k] = (char *)svc_enum_text(&parley__intake__v1__case_need__descriptor, in->needs[k]);
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *partner = intake_partner_client(req);
    const char *params[] = {id, in->authority_id, svc_opt(in->family_id), svc_opt(in->child_id),
                            svc_enum_text(&parley__intake__v1__case_source__descriptor, in->source),
                            svc_opt(in->referrer_agency_id), db_array_literal(a, needs, in->n_needs),
                            in->wants_supporter ? "true" : "false", svc_opt(in->summary),
                            in->consent->share_with_agencies ? "true" : "false",
                            svc_enum_text(&parley__intake__v1__lawful_basis__descriptor, in->consent->lawful_basis),
                            svc_opt(in->consent->given_by), (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL,
                            partner, svc_opt(in->external_reference), svc_opt(in->young_person_id)};
    /* The case, its events and its audit row: one round trip. */
    db_step_t steps[3] = {{"case_insert", 16, params, NULL}};
    size_t n = 1;
    int rc = events_step(a, "case.opened", id, NULL, &steps[n++]);
    if (rc == 0 && in->wants_supporter) rc = events_step(a, "case.supporter_requested", id, NULL, &steps[n++]);
    if (rc == 0) rc = db_run(db, p, DB_WRITE, steps, n);
    if (rc != 0 && intake_is_duplicate_reference(db, rc, "cases_client_reference"))
        return intake_duplicate_reference(db, req, res, "case_by_reference", in->external_reference, "case");
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    case_t *c = db_rows(steps[0].result) == 1 ? case_from_row(a, steps[0].result, 0) : NULL;
    db_steps_free(steps, n);
    if (c == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = partner ? &referrer_view(a, c)->base : &c->base;
    return 0;
}

static ProtobufCMessage *parse_case(arena_t *a, db_result_t *const *results) {
    return &case_from_row(a, results[0], 0)->base;
}

static const svc_get_t get_case = {"case", {"case_get"}, 1, parse_case};

/* A row of REFERRER_COLUMNS as a case. */
static ProtobufCMessage *parse_referred(arena_t *a, db_result_t *const *results) {
    const db_result_t *r = results[0];
    case_t *c = arena_alloc(a, sizeof *c);
    parley__intake__v1__case__init(c);
    c->id = db_str(a, r, 0, 0);
    c->authority_id = db_str(a, r, 0, 1);
    c->status = svc_enum_value(&parley__intake__v1__case_status__descriptor, db_text(r, 0, 2));
    c->stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, 0, 3));
    c->created_at = svc_timestamp(a, db_int(r, 0, 4));
    c->updated_at = svc_timestamp(a, db_int(r, 0, 5));
    if (!db_is_null(r, 0, 6)) c->closed_at = svc_timestamp(a, db_int(r, 0, 6));
    c->external_reference = db_str(a, r, 0, 7);
    c->consent_withdrawn = db_bool(r, 0, 8);
    c->version = (int32_t)db_int(r, 0, 9);
    return &c->base;
}

static const svc_get_t get_referred = {"case", {"case_get_referred"}, 1, parse_referred};

/* A partner agency reads only a case its client opened, as a referrer
 * sees it (what its POST was answered with): the Location of that 201. */
int cases_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetCaseRequest *in = (const void *)req->input;
    return svc_get_one(((intake_t *)ctx)->db, req, res, in->id, intake_partner_client(req) ? &get_referred : &get_case);
}

int cases_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListCasesRequest *in = (const Parley__Intake__V1__ListCasesRequest *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    if (in->authority_id && *in->authority_id) svc_check_uuid(res, "authorityId", in->authority_id, false);
    intake_check_reference(res, "externalReference", in->external_reference);
    if (!svc_ok(res)) return -1;

    const char *params[] = {in->status ? svc_enum_text(&parley__intake__v1__case_status__descriptor, in->status) : NULL,
                            svc_opt(in->authority_id), page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1),
                            in->stage ? svc_enum_text(&parley__intake__v1__sen_stage__descriptor, in->stage) : NULL,
                            svc_opt(in->external_reference), intake_micros(a, in->updated_since)};
    bool changed = in->updated_since != NULL;
    db_step_t step = {changed ? "case_list_changed" : "case_list", changed ? 8 : 7, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    db_result_t *r = step.result;

    Parley__Intake__V1__ListCasesResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_cases_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[i] = case_from_row(a, r, (int)i);
    out->n_items = n;
    if (rows > size) {
        const case_t *last = out->items[n - 1];
        out->next_page_token = page_token_after(a, changed ? last->updated_at : last->created_at, last->id);
    }
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}

int cases_lock(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, bool open_only,
               char **authority) {
    if (!ids_is_uuid(id)) {
        svc_not_found(res, "case");
        return 0;
    }
    const char *params[] = {id, svc_if_match(res->arena, req)};
    db_result_t *r = NULL;
    int rc = db_exec(db, "case_lock", 2, params, &r);
    if (rc != 0) return rc;
    if (db_rows(r) == 0) {
        db_result_free(&r);
        svc_not_found(res, "case");
        return 0;
    }
    bool matches = db_bool(r, 0, 2);
    bool closed = strcmp(db_text(r, 0, 1), "CASE_STATUS_CLOSED") == 0;
    *authority = db_str(res->arena, r, 0, 0);
    db_result_free(&r);
    if (!matches) {
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION, "the case has changed since that version; read it again");
        return 0;
    }
    if (open_only && closed) {
        bus_response_problem(res, BUS_PROBLEM_CASE_CLOSED, NULL);
        return 0;
    }
    return 1;
}

int cases_touch(db_t *db, const char *id) {
    const char *params[] = {id};
    return db_exec(db, "case_touch", 1, params, NULL);
}
