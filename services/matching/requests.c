/* Match requests: a family asks for a supporter. The best eligible one is
 * offered at once; with none the request waits, and is matched again when
 * capacity appears (sweeper.c). One open request a case, however many
 * instances race to make one (a partial unique index). */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

#define COLUMNS                                                                                                    \
    "r.id, r.consortium_id, r.authority_id, r.case_id, r.family_id, r.status, r.pref_languages,"                  \
    " r.pref_require_language, r.pref_specialisms, r.pref_exclude, " DB_MICROS("r.waiting_since") ", r.version, " \
    DB_MICROS("r.created_at") ", " DB_MICROS("r.updated_at") ","                                                         \
    " (SELECT a.id FROM assignments a WHERE a.match_request_id = r.id ORDER BY a.started_at DESC LIMIT 1),"      \
    " r.last_attempt_at IS NOT NULL, r.cancel_reason"

static const db_stmt_t stmts[] = {
    {"req_get",
     "SELECT " COLUMNS ", audit.touch(r.id::text, r.authority_id) FROM match_requests r"
     " WHERE r.id = $1 AND r.authority_id = ANY (current_authorities())"},
    {"req_lock",
     "SELECT " COLUMNS " FROM match_requests r WHERE r.id = $1 AND r.authority_id = ANY (current_authorities())"
     " FOR UPDATE OF r"},
    {"req_open_for_case",
     "SELECT id FROM match_requests WHERE case_id = $1 AND status IN ('offered', 'waiting')"
     " AND authority_id = ANY (current_authorities())"},
    {"req_case_assigned",
     "SELECT id FROM assignments WHERE case_id = $1 AND status = 'active'"
     " AND authority_id = ANY (current_authorities())"},
    {"req_insert",
     "INSERT INTO match_requests (id, consortium_id, authority_id, case_id, family_id, status, pref_languages,"
     " pref_require_language, pref_specialisms, pref_exclude, source, created_by_client)"
     " VALUES ($1, $2, $3, $4, $5, 'waiting', $6::text[], $7, $8::text[], $9::uuid[], $10, $11)"},
};

const db_stmt_t *requests_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static char **list(arena_t *a, const db_result_t *r, int i, int col, size_t *n) {
    char **items = NULL;
    int k = db_array_parse(a, db_text(r, i, col), &items);
    *n = k > 0 ? (size_t)k : 0;
    return items;
}

static request_row_t *row_from(arena_t *a, const db_result_t *r, int i) {
    request_row_t *x = arena_alloc(a, sizeof *x);
    x->id = db_str(a, r, i, 0);
    x->consortium_id = db_str(a, r, i, 1);
    x->authority_id = db_str(a, r, i, 2);
    x->case_id = db_str(a, r, i, 3);
    x->family_id = db_str(a, r, i, 4);
    x->status = db_str(a, r, i, 5);
    x->prefs.id = x->id;
    x->prefs.pref_languages = list(a, r, i, 6, &x->prefs.n_pref_languages);
    x->prefs.require_language = db_bool(r, i, 7);
    size_t n_spec;
    char **spec = list(a, r, i, 8, &n_spec);
    x->prefs.pref_specialisms = pool_specialism_bits(spec, n_spec);
    x->prefs.exclude = list(a, r, i, 9, &x->prefs.n_exclude);
    x->waiting_since_us = db_int(r, i, 10);
    x->attempted = db_bool(r, i, 15);
    return x;
}

int requests_lock(db_t *db, arena_t *a, const char *id, request_row_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "req_lock", 1, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) == 1;
    if (rc) *out = row_from(a, r, 0);
    db_result_free(&r);
    return rc;
}

static Parley__Matching__V1__MatchRequestStatus status_of(const char *s) {
    if (strcmp(s, "offered") == 0) return PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_OFFERED;
    if (strcmp(s, "matched") == 0) return PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_MATCHED;
    if (strcmp(s, "cancelled") == 0)
        return PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_CANCELLED;
    return PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_WAITING;
}

/* Loads match request id with its offers: 1, 0 or a DB_ERR_*. */
static int load(db_t *db, arena_t *a, const char *id, match_request_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "req_get", 1, params, &r);
    if (rc != 0) return rc;
    if (db_rows(r) != 1) {
        db_result_free(&r);
        return 0;
    }
    request_row_t *row = row_from(a, r, 0);
    match_request_t *m = arena_alloc(a, sizeof *m);
    parley__matching__v1__match_request__init(m);
    m->id = row->id;
    m->case_id = row->case_id;
    m->authority_id = row->authority_id;
    m->family_id = row->family_id;
    m->status = status_of(row->status);
    Parley__Matching__V1__Preferences *p = arena_alloc(a, sizeof *p);
    parley__matching__v1__preferences__init(p);
    p->languages = row->prefs.pref_languages;
    p->n_languages = row->prefs.n_pref_languages;
    p->require_language = row->prefs.require_language;
    pool_bits_split(a, row->prefs.pref_specialisms, (int **)&p->specialisms, &p->n_specialisms, (int **)&p->needs,
                    &p->n_needs);
    p->exclude_supporter_ids = row->prefs.exclude;
    p->n_exclude_supporter_ids = row->prefs.n_exclude;
    m->preferences = p;
    m->waiting_since = svc_timestamp(a, row->waiting_since_us);
    m->version = (int32_t)db_int(r, 0, 11);
    m->created_at = svc_timestamp(a, db_int(r, 0, 12));
    m->updated_at = svc_timestamp(a, db_int(r, 0, 13));
    m->assignment_id = db_is_null(r, 0, 14) ? "" : db_str(a, r, 0, 14);
    m->cancel_reason = db_is_null(r, 0, 16) ? "" : db_str(a, r, 0, 16);
    db_result_free(&r);
    offer_t **offers = NULL;
    int n = offers_of_request(db, a, m->id, &offers);
    if (n < 0) return n;
    m->offers = offers;
    m->n_offers = (size_t)n;
    for (int i = 0; i < n; i++)
        if (offers[i]->status == PARLEY__MATCHING__V1__OFFER_STATUS__OFFER_STATUS_PENDING) m->current_offer = offers[i];
    *out = m;
    return 1;
}

/* The id the first row of statement name carries, or NULL; or rc < 0. */
static int first_id(db_t *db, arena_t *a, const char *name, const char *param, char **id) {
    const char *params[] = {param};
    db_result_t *r = NULL;
    int rc = db_exec(db, name, 1, params, &r);
    if (rc != 0) return rc;
    *id = db_rows(r) > 0 ? db_str(a, r, 0, 0) : NULL;
    db_result_free(&r);
    return 0;
}

int requests_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    matching_t *m = ctx;
    db_t *db = m->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__CreateMatchRequestRequest *in = (const void *)req->input;
    svc_check_uuid(res, "caseId", in->case_id, true);
    candidates_check_prefs(res, in->preferences);
    if (!svc_ok(res)) return -1;
    profile_t *p = NULL;
    if (profiles_ensure(m, req, res, in->case_id, &p) < 0) return -1;
    if (p->closed) {
        bus_response_problem(res, BUS_PROBLEM_CASE_CLOSED, NULL);
        return -1;
    }
    request_prefs_t prefs;
    candidates_prefs(in->preferences, &prefs);

    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return -1;
    int rc = db_tx_begin(db, req->header->principal);
    char *open = NULL, *assigned = NULL;
    if (rc == 0) rc = first_id(db, a, "req_open_for_case", p->case_id, &open);
    if (rc == 0) rc = first_id(db, a, "req_case_assigned", p->case_id, &assigned);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    if (open || assigned) {
        db_tx_rollback(db);
        if (open) bus_response_problem(res, BUS_PROBLEM_MATCH_REQUEST_OPEN, "the case already has an open match request, %s", open);
        else
            bus_response_problem(res, BUS_PROBLEM_CASE_HAS_SUPPORTER, "the case already has a supporter (assignment %s)", assigned);
        return -1;
    }
    const char *params[] = {id,
                            matching_consortium_id(req),
                            p->authority_id,
                            p->case_id,
                            p->family_id,
                            db_array_literal(a, prefs.pref_languages, prefs.n_pref_languages),
                            prefs.require_language ? "true" : "false",
                            pool_bits_literal(a, prefs.pref_specialisms),
                            db_array_literal(a, prefs.exclude, prefs.n_exclude),
                            "api",
                            matching_client_id(req)};
    rc = db_exec(db, "req_insert", 11, params, NULL);
    if (rc != 0 && strcmp(db_sqlstate(db), DB_SQLSTATE_UNIQUE) == 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_MATCH_REQUEST_OPEN, NULL);
        return -1;
    }
    request_row_t *row = NULL;
    if (rc == 0) {
        int found = requests_lock(db, a, id, &row);
        rc = found == 1 ? 0 : found < 0 ? found : DB_ERR_QUERY;
    }
    if (rc == 0) rc = offering_next(db, a, row, NULL);
    match_request_t *out = NULL;
    if (rc >= 0) {
        int found = load(db, a, id, &out);
        rc = found == 1 ? 0 : found < 0 ? found : DB_ERR_QUERY;
    }
    db_audit_object(db, id, p->authority_id);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &out->base;
    return 0;
}

int requests_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    const Parley__Matching__V1__GetMatchRequestRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "match request");
    int rc = db_tx_begin(db, req->header->principal);
    match_request_t *m = NULL;
    if (rc == 0) rc = load(db, res->arena, in->id, &m);
    if (rc >= 0) {
        int found = rc;
        rc = db_tx_commit_read(db);
        if (rc == 0) rc = found;
    }
    if (rc < 0) return matching_db_fail(res, req, db, rc);
    if (rc == 0) return svc_not_found(res, "match request");
    res->reply = &m->base;
    return 0;
}
