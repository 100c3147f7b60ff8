/* Match requests: a family asks for a supporter. The best eligible one is
 * offered at once; with none the request waits, and is matched again when
 * capacity appears (sweeper.c). One open request a case, however many
 * instances race to make one (a partial unique index). */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/page_token.h"
#include "svc/svc.h"

#define COLUMNS                                                                                                    \
    "r.id, r.consortium_id, r.authority_id, r.case_id, r.family_id, r.status, r.pref_languages,"                  \
    " r.pref_require_language, r.pref_specialisms, r.pref_exclude, " DB_MICROS("r.waiting_since") ", r.version, " \
    DB_MICROS("r.created_at") ", " DB_MICROS("r.updated_at") ","                                                         \
    " (SELECT a.id FROM assignments a WHERE a.match_request_id = r.id ORDER BY a.started_at DESC LIMIT 1),"      \
    " r.last_attempt_at IS NOT NULL, r.cancel_reason, " DB_MICROS("r.last_attempt_at") ", r.cancelled_by"

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
    /* ---- list, cancel, retry (issue 12, item 1) ---- */
    {"req_list",
     "SELECT " COLUMNS ", audit.listed(r.id::text, $5::int - 1) FROM match_requests r"
     " WHERE r.authority_id = ANY (current_authorities())"
     " AND ($1::uuid IS NULL OR r.case_id = $1) AND ($2::text IS NULL OR r.status = $2)"
     " AND ($3::bigint IS NULL OR (r.created_at, r.id) > (" DB_FROM_MICROS("$3") ", $4::uuid))"
     " ORDER BY r.created_at, r.id LIMIT $5"},
    /* The offers' trigger releases the withdrawn offer's reserved place
     * (and signals the capacity), as for a declined one. */
    {"req_withdraw_offer",
     "UPDATE offers SET status = 'withdrawn', answered_at = clock_timestamp(), answer_reason = $2"
     " WHERE match_request_id = $1 AND status = 'pending' RETURNING id"},
    {"req_cancel",
     "UPDATE match_requests SET status = 'cancelled', cancel_reason = $2, cancelled_by = 'api', due_at = NULL,"
     " version = version + 1, updated_at = now() WHERE id = $1"},
    {"req_reopen",
     "UPDATE match_requests SET status = 'waiting', cancel_reason = NULL, cancelled_by = NULL,"
     " version = version + 1, updated_at = now() WHERE id = $1"},
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
    x->version = (int)db_int(r, i, 11);
    x->cancelled_by = db_is_null(r, i, 18) ? NULL : db_str(a, r, i, 18);
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

/* The match request of row i of r, without its offers. */
static match_request_t *message_from(arena_t *a, const db_result_t *r, int i) {
    request_row_t *row = row_from(a, r, i);
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
    m->version = (int32_t)db_int(r, i, 11);
    m->created_at = svc_timestamp(a, db_int(r, i, 12));
    m->updated_at = svc_timestamp(a, db_int(r, i, 13));
    m->assignment_id = db_is_null(r, i, 14) ? "" : db_str(a, r, i, 14);
    m->cancel_reason = db_is_null(r, i, 16) ? "" : db_str(a, r, i, 16);
    if (!db_is_null(r, i, 17)) m->last_attempt_at = svc_timestamp(a, db_int(r, i, 17));
    m->cancelled_by = row->cancelled_by == NULL              ? ""
                      : strcmp(row->cancelled_by, "api") == 0 ? "caseworker"
                                                              : row->cancelled_by;
    return m;
}

/* Adds m's offers, oldest first, and its current (pending) one. */
static int with_offers(db_t *db, arena_t *a, match_request_t *m) {
    offer_t **offers = NULL;
    int n = offers_of_request(db, a, m->id, &offers);
    if (n < 0) return n;
    m->offers = offers;
    m->n_offers = (size_t)n;
    for (int i = 0; i < n; i++)
        if (offers[i]->status == PARLEY__MATCHING__V1__OFFER_STATUS__OFFER_STATUS_PENDING) m->current_offer = offers[i];
    return 0;
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
    match_request_t *m = message_from(a, r, 0);
    db_result_free(&r);
    if ((rc = with_offers(db, a, m)) != 0) return rc;
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

/* ---- list, cancel, retry (issue 12, item 1) --------------------------------------------- */

static const char *status_text(Parley__Matching__V1__MatchRequestStatus s) {
    switch (s) {
    case PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_OFFERED: return "offered";
    case PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_WAITING: return "waiting";
    case PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_MATCHED: return "matched";
    case PARLEY__MATCHING__V1__MATCH_REQUEST_STATUS__MATCH_REQUEST_STATUS_CANCELLED: return "cancelled";
    default: return NULL;
    }
}

int requests_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__ListMatchRequestsRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    svc_check_uuid(res, "caseId", in->case_id, false);
    if (!svc_ok(res)) return -1;
    const char *params[] = {svc_opt(in->case_id), status_text(in->status), page_cursor_micros(a, &cur),
                            page_cursor_id(&cur), arena_printf(a, "%d", size + 1)};
    Parley__Matching__V1__ListMatchRequestsResponse *out = arena_alloc(a, sizeof *out);
    parley__matching__v1__list_match_requests_response__init(out);
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "req_list", 5, params, &r);
    int rows = rc == 0 ? db_rows(r) : 0;
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        out->items[i] = message_from(a, r, (int)i);
        rc = with_offers(db, a, out->items[i]);
    }
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    out->n_items = n;
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    res->reply = &out->base;
    return 0;
}

/* Locks match request id for an action, naming it for the audit row and
 * checking If-Match: 1 with *out, or -1 with res set and the transaction
 * ended (NOT_FOUND, STALE_VERSION, a database failure). */
static int lock_for_action(db_t *db, arena_t *a, const bus_request_t *req, bus_response_t *res, const char *id,
                           request_row_t **out) {
    if (!ids_is_uuid(id)) return svc_not_found(res, "match request");
    int rc = db_tx_begin(db, req->header->principal);
    int found = rc == 0 ? requests_lock(db, a, id, out) : rc;
    if (found < 0) return matching_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "match request");
    }
    db_audit_object(db, (*out)->id, (*out)->authority_id);
    if (!matching_if_match(a, req, (*out)->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION,
                             "the match request has changed (version %d); read it again", (*out)->version);
        return -1;
    }
    return 1;
}

/* Loads request id as it now is and commits: 0, or -1 with res set. */
static int answer_with(db_t *db, arena_t *a, const bus_request_t *req, bus_response_t *res, const char *id) {
    match_request_t *out = NULL;
    int found = load(db, a, id, &out);
    int rc = found == 1 ? db_tx_commit(db) : found < 0 ? found : DB_ERR_QUERY;
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &out->base;
    return 0;
}

int requests_cancel(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__CancelMatchRequestRequest *in = (const void *)req->input;
    if (!svc_check_max_len(res, "reason", in->reason, 500)) return -1;
    request_row_t *row = NULL;
    if (lock_for_action(db, a, req, res, in->id, &row) < 0) return -1;
    if (strcmp(row->status, "waiting") != 0 && strcmp(row->status, "offered") != 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_MATCH_REQUEST_ENDED, "the match request is %s already", row->status);
        return -1;
    }
    const char *reason = svc_opt(in->reason);
    const char *params[] = {row->id, reason ? reason : "match request cancelled"};
    db_result_t *r = NULL;
    int rc = db_exec(db, "req_withdraw_offer", 2, params, &r);
    char *withdrawn = rc == 0 && db_rows(r) > 0 ? db_str(a, r, 0, 0) : NULL;
    db_result_free(&r);
    const char *cancel[] = {row->id, reason};
    if (rc == 0) rc = db_exec(db, "req_cancel", 2, cancel, NULL);
    if (rc == 0)
        rc = events_emit(db, "match.cancelled", row->authority_id, row->case_id,
                         json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "matchRequestId", row->id, "caseId", row->case_id,
                                   "familyId", row->family_id, "withdrawnOfferId", withdrawn, "reason", reason));
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    return answer_with(db, a, req, res, row->id);
}

/* A cancelled request back on the waiting list, when nothing else holds
 * the case: 0, or -1 with res set and the transaction ended. */
static int reopen(db_t *db, arena_t *a, const bus_request_t *req, bus_response_t *res, const request_row_t *row) {
    profile_t *p = NULL;
    int rc = profiles_load(db, a, row->case_id, &p);
    char *open = NULL, *assigned = NULL;
    if (rc >= 0) rc = first_id(db, a, "req_open_for_case", row->case_id, &open);
    if (rc == 0) rc = first_id(db, a, "req_case_assigned", row->case_id, &assigned);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    bool closed = row->cancelled_by == NULL || strcmp(row->cancelled_by, "case_closed") == 0 || (p && p->closed);
    if (closed || open || assigned) {
        db_tx_rollback(db);
        if (closed) bus_response_problem(res, BUS_PROBLEM_CASE_CLOSED, "the case is closed: its request stays cancelled");
        else if (open)
            bus_response_problem(res, BUS_PROBLEM_MATCH_REQUEST_OPEN, "the case already has an open match request, %s",
                                 open);
        else
            bus_response_problem(res, BUS_PROBLEM_CASE_HAS_SUPPORTER, "the case already has a supporter (assignment %s)",
                                 assigned);
        return -1;
    }
    const char *params[] = {row->id};
    rc = db_exec(db, "req_reopen", 1, params, NULL);
    if (rc != 0 && strcmp(db_sqlstate(db), DB_SQLSTATE_UNIQUE) == 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_MATCH_REQUEST_OPEN, NULL);
        return -1;
    }
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    return 0;
}

int requests_retry(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__RetryMatchRequestRequest *in = (const void *)req->input;
    request_row_t *row = NULL;
    if (lock_for_action(db, a, req, res, in->id, &row) < 0) return -1;
    if (strcmp(row->status, "offered") == 0 || strcmp(row->status, "matched") == 0) {
        match_request_t *m = NULL;
        int found = load(db, a, row->id, &m);
        db_tx_rollback(db);
        if (found < 0) return matching_db_fail(res, req, db, found);
        if (strcmp(row->status, "matched") == 0)
            bus_response_problem(res, BUS_PROBLEM_MATCH_REQUEST_ENDED, "the match request is matched (assignment %s)",
                                 m ? m->assignment_id : "");
        else
            bus_response_problem(res, BUS_PROBLEM_MATCH_REQUEST_OFFERED, "offer %s awaits the supporter's answer",
                                 m && m->current_offer ? m->current_offer->id : "");
        return -1;
    }
    if (strcmp(row->status, "cancelled") == 0 && reopen(db, a, req, res, row) < 0) return -1;
    /* Tried now, in this transaction: offered, or back on the waiting list
     * (match.waiting when it was reopened). The cool-off of a lapsed offer
     * and a decline still apply. */
    int rc = offering_next(db, a, row, NULL);
    if (rc < 0) return matching_db_fail(res, req, db, rc);
    return answer_with(db, a, req, res, row->id);
}
