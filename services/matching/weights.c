/* Each consortium's weights for the soft score (scoring.h), or the defaults
 * until it sets its own. PUT replaces them whole, with If-Match; the
 * defaults read as version 0. */
#include <stdio.h>

#include "services/matching/matching.h"
#include "svc/read_only.h"
#include "svc/svc.h"

#define COLUMNS "language, specialism, continuity, proximity, capacity, fairness, waiting_per_week, version, "

static const db_stmt_t stmts[] = {
    {"w_get", "SELECT " COLUMNS DB_MICROS("updated_at") " FROM weights WHERE consortium_id = $1"},
    {"w_lock", "SELECT version FROM weights WHERE consortium_id = $1 FOR UPDATE"},
    {"w_put",
     "INSERT INTO weights (consortium_id, language, specialism, continuity, proximity, capacity, fairness,"
     " waiting_per_week) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
     " ON CONFLICT (consortium_id) DO UPDATE SET language = excluded.language, specialism = excluded.specialism,"
     " continuity = excluded.continuity, proximity = excluded.proximity, capacity = excluded.capacity,"
     " fairness = excluded.fairness, waiting_per_week = excluded.waiting_per_week,"
     " version = weights.version + 1, updated_at = now()"},
};

const db_stmt_t *weights_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* Reads the consortium's row into w and *out (either may be NULL): 1 when
 * it has one, 0 when it uses the defaults, or a DB_ERR_*. */
static int read_row(db_t *db, arena_t *a, const char *consortium_id, weights_t *w,
                    Parley__Matching__V1__Weights **out) {
    weights_t v = SCORING_DEFAULT_WEIGHTS;
    int version = 0, found = 0;
    int64_t updated = 0;
    if (consortium_id != NULL) {
        const char *params[] = {consortium_id};
        db_result_t *r = NULL;
        int rc = db_exec(db, "w_get", 1, params, &r);
        if (rc != 0) return rc;
        if (db_rows(r) == 1) {
            found = 1;
            v = (weights_t){(int)db_int(r, 0, 0), (int)db_int(r, 0, 1), (int)db_int(r, 0, 2), (int)db_int(r, 0, 3),
                            (int)db_int(r, 0, 4), (int)db_int(r, 0, 5), (int)db_int(r, 0, 6)};
            version = (int)db_int(r, 0, 7);
            updated = db_int(r, 0, 8);
        }
        db_result_free(&r);
    }
    if (w) *w = v;
    if (out) {
        Parley__Matching__V1__Weights *x = arena_alloc(a, sizeof *x);
        parley__matching__v1__weights__init(x);
        x->language = v.language;
        x->specialism = v.specialism;
        x->continuity = v.continuity;
        x->proximity = v.proximity;
        x->capacity = v.capacity;
        x->fairness = v.fairness;
        x->waiting_per_week = v.waiting_per_week;
        x->version = version;
        x->customised = found;
        if (found) x->updated_at = svc_timestamp(a, updated);
        *out = x;
    }
    return found;
}

int weights_load(db_t *db, const char *consortium_id, weights_t *out) {
    int rc = read_row(db, NULL, consortium_id, out, NULL);
    return rc < 0 ? rc : 0;
}

int weights_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    Parley__Matching__V1__Weights *out = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = read_row(db, res->arena, matching_consortium_id(req), NULL, &out);
    if (rc >= 0) rc = db_tx_commit_read(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &out->base;
    return 0;
}

int weights_put(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__PutWeightsRequest *in = (const void *)req->input;
    const struct {
        const char *field;
        int value;
    } f[] = {{"language", in->language},     {"specialism", in->specialism}, {"continuity", in->continuity},
             {"proximity", in->proximity},   {"capacity", in->capacity},     {"fairness", in->fairness},
             {"waitingPerWeek", in->waiting_per_week}};
    int total = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].value < 0 || f[i].value > 100) bus_response_violation(res, f[i].field, "must be between 0 and 100");
        if (i < 6) total += f[i].value;
    }
    if (total == 0) bus_response_violation(res, "language", "at least one factor must carry weight");
    const char *consortium = matching_consortium_id(req);
    if (consortium == NULL)
        bus_response_problem(res, BUS_PROBLEM_NO_CONSORTIUM, NULL);
    if (!svc_ok(res)) return -1;

    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    const char *id[] = {consortium};
    if (rc == 0) rc = db_exec(db, "w_lock", 1, id, &r);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    int version = db_rows(r) == 1 ? (int)db_int(r, 0, 0) : 0;
    db_result_free(&r);
    if (!matching_if_match(a, req, version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION, "the weights have changed (version %d); read them again",
                           version);
        return -1;
    }
    /* What GET answered may come back whole: version, customised and
     * updatedAt must be as stored. */
    Parley__Matching__V1__Weights *was = NULL;
    if ((rc = read_row(db, a, consortium, NULL, &was)) < 0) return matching_db_fail(res, req, db, rc);
    if (svc_check_read_only(req, res, &was->base, NULL) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    const char *params[8] = {consortium};
    for (size_t i = 0; i < 7; i++) params[i + 1] = arena_printf(a, "%d", f[i].value);
    rc = db_exec(db, "w_put", 8, params, NULL);
    Parley__Matching__V1__Weights *out = NULL;
    if (rc == 0) rc = read_row(db, a, consortium, NULL, &out);
    /* The consortium's weights: no record id, no one authority. */
    db_audit_object(db, NULL, NULL);
    if (rc >= 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &out->base;
    return 0;
}
