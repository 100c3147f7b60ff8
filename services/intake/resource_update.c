/* Keeping the information library current: PATCH /v1/resources/{id},
 * POST /v1/resources/{id}/review and POST /v1/resources/{id}/retire.
 *
 * PATCH takes back what GET answers (JSON Merge Patch, RFC 7396: only the
 * members sent change, null removes an optional one, authorityIds sent is
 * the whole list); the read-only members (status, reviewedOn, retiredAt,
 * version, the times) may be sent as read (svc/read_only.h). The gateway
 * answers 428 without If-Match (gateway/routes.h); a stale one is 412. A
 * PATCH that changes nothing writes nothing and keeps the version.
 *
 * A leaflet that is also local information for an authority the caller
 * does not serve is changed only by a client serving all of them (its
 * authorityIds stay within the writer's: row-level security, 004): the
 * caller gets a violation on authorityIds saying so.
 *
 * Reviewing sets reviewedOn (today in the UK unless given, never later)
 * and reviewDueOn = reviewedOn + reviewIntervalMonths (review.h), which
 * takes it off GET /v1/resources/review-due. Retiring keeps the record
 * (readable by id) but takes it off the lists and review-due; retiring a
 * retired one changes nothing. Review and retire honour If-Match when sent.
 * Each change bumps the version; none emits an event (nothing subscribes
 * to the library). */
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "services/intake/intake.h"
#include "services/intake/review.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Resource resource_t;
typedef Parley__Intake__V1__CreateResourceRequest create_resource_t;
typedef Parley__Intake__V1__PatchResourceRequest patch_t;

#define RETIRED PARLEY__INTAKE__V1__LISTING_STATUS__LISTING_STATUS_RETIRED

static const db_stmt_t stmts[] = {
    {"resource_update",
     "UPDATE resources SET key = $2, title = $3, topic = $4, language = $5, format = $6, url = $7, body = $8,"
     " summary = $9, review_due_on = $10, authority_ids = $11::uuid[], review_interval_months = $12,"
     " version = version + 1, updated_at = now() WHERE id = $1"},
    {"resource_today", "SELECT ((now() AT TIME ZONE 'Europe/London')::date - date '1970-01-01')"},
    {"resource_reviewed",
     "UPDATE resources SET reviewed_on = $2, review_due_on = $3, version = version + 1, updated_at = now()"
     " WHERE id = $1"},
    {"resource_retired",
     "UPDATE resources SET status = 'LISTING_STATUS_RETIRED', retired_at = now(), version = version + 1,"
     " updated_at = now() WHERE id = $1"},
};

const db_stmt_t *resource_update_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* Derived by the list, never stored: whatever a client sends back. */
static const char *const derived[] = {"languageFallback", NULL};

/* Begins, locks resource id and checks If-Match. 1 with *out; 0 with res
 * set (404, 412; the transaction rolled back); a DB_ERR_* (still open). */
static int lock(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, resource_t **out) {
    int rc = resources_begin(db, req);
    if (rc != 0) return rc;
    const char *params[] = {id};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "resource_lock", 1, params, &r)) != 0) return rc;
    *out = db_rows(r) == 1 ? resources_from_row(res->arena, r, 0) : NULL;
    db_result_free(&r);
    if (*out == NULL) {
        db_tx_rollback(db);
        svc_not_found(res, "resource");
        return 0;
    }
    if (!svc_if_match_allows(res->arena, req, (*out)->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION,
                             "the resource has changed since that version (it is at version %d); read it again",
                             (*out)->version);
        return 0;
    }
    return 1;
}

/* Reads resource id back, commits and answers it. */
static int answer(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "resource_get", 1, params, &r);
    resource_t *x = NULL;
    if (rc == 0) {
        if (db_rows(r) == 1) x = resources_from_row(res->arena, r, 0);
        else rc = DB_ERR_QUERY;
        db_result_free(&r);
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

/* Answers the stored resource, unchanged (nothing written: version kept). */
static int unchanged(db_t *db, const bus_request_t *req, bus_response_t *res, resource_t *x) {
    int rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

/* The stored resource with the patch's members merged in, as a create
 * would state it. */
static create_resource_t *merge(const bus_request_t *req, arena_t *a, const resource_t *x, const patch_t *in) {
    create_resource_t *m = arena_alloc(a, sizeof *m);
    parley__intake__v1__create_resource_request__init(m);
    m->key = svc_sent(req, "key") ? in->key : x->key;
    m->title = svc_sent(req, "title") ? in->title : x->title;
    m->topic = svc_sent(req, "topic") ? in->topic : x->topic;
    m->language = svc_sent(req, "language") ? in->language : x->language;
    m->format = svc_sent(req, "format") ? in->format : x->format;
    m->url = svc_sent(req, "url") ? in->url : x->url;
    m->body = svc_sent(req, "body") ? in->body : x->body;
    m->summary = svc_sent(req, "summary") ? in->summary : x->summary;
    m->review_due_on = svc_sent(req, "reviewDueOn") ? in->review_due_on : x->review_due_on;
    m->review_interval_months =
        svc_sent(req, "reviewIntervalMonths") ? review_interval(in->review_interval_months) : x->review_interval_months;
    if (svc_sent(req, "authorityIds")) {
        m->n_authority_ids = in->n_authority_ids;
        m->authority_ids = in->authority_ids;
    } else {
        m->n_authority_ids = x->n_authority_ids;
        m->authority_ids = x->authority_ids;
    }
    return m;
}

static bool same(const char *x, const char *y) { return strcmp(x ? x : "", y ? y : "") == 0; }

static bool is_unchanged(const create_resource_t *m, const resource_t *x) {
    if (!same(m->key, x->key) || !same(m->title, x->title) || m->topic != x->topic ||
        !same(m->language, x->language) || m->format != x->format || !same(m->url, x->url) ||
        !same(m->body, x->body) || !same(m->summary, x->summary) || !same(m->review_due_on, x->review_due_on) ||
        m->review_interval_months != x->review_interval_months || m->n_authority_ids != x->n_authority_ids)
        return false;
    for (size_t i = 0; i < m->n_authority_ids; i++)
        if (!same(m->authority_ids[i], x->authority_ids[i])) return false;
    return true;
}

/* Whether the caller serves every authority the stored leaflet names. */
static bool serves_all(const bus_request_t *req, const resource_t *x) {
    for (size_t i = 0; i < x->n_authority_ids; i++)
        if (!svc_has_authority(req, x->authority_ids[i])) return false;
    return true;
}

int resources_update(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const patch_t *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "resource");
    resource_t *x = NULL;
    int rc = lock(db, req, res, in->id, &x);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    if (rc == 0) return -1;
    if (svc_check_read_only(req, res, &x->base, derived) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    create_resource_t *m = merge(req, a, x, in);
    if (is_unchanged(m, x)) return unchanged(db, req, res, x);
    if (!serves_all(req, x))
        bus_response_violation(res, "authorityIds",
                               "this leaflet is also local information for an authority this API client does not "
                               "serve: only a client serving all of its authorities may change it");
    else resources_check(req, res, m);
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    const char *params[] = {x->id, m->key, m->title,
                            svc_enum_text(&parley__intake__v1__resource_topic__descriptor, m->topic), m->language,
                            svc_enum_text(&parley__intake__v1__resource_format__descriptor, m->format),
                            svc_opt(m->url), svc_opt(m->body), svc_opt(m->summary), m->review_due_on,
                            db_array_literal(a, m->authority_ids, m->n_authority_ids),
                            arena_printf(a, "%d", (int)m->review_interval_months)};
    rc = db_exec(db, "resource_update", 12, params, NULL);
    if (rc == DB_ERR_QUERY && strcmp(db_sqlstate(db), DB_SQLSTATE_UNIQUE) == 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_DUPLICATE_RESOURCE, NULL);
        return -1;
    }
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    return answer(db, req, res, x->id);
}

int resources_review(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    const Parley__Intake__V1__ReviewResourceRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "resource");
    int64_t on = 0;
    bool given = svc_check_date(res, "reviewedOn", in->reviewed_on, false, &on) && svc_opt(in->reviewed_on);
    if (!svc_ok(res)) return -1;
    resource_t *x = NULL;
    int rc = lock(db, req, res, in->id, &x);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    if (rc == 0) return -1;
    if (x->status == RETIRED) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_CONFLICT, "the resource is retired: it is no longer reviewed");
        return -1;
    }
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "resource_today", 0, NULL, &r)) != 0) return svc_db_fail(res, req, db, rc);
    int64_t today = db_int(r, 0, 0);
    db_result_free(&r);
    if (!given) on = today;
    else if (on > today) bus_response_violation(res, "reviewedOn", "must not be after today");
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    char reviewed[11], due[11];
    const char *params[] = {x->id, deadline_format(on, reviewed),
                            deadline_format(review_next_due(on, x->review_interval_months), due)};
    if ((rc = db_exec(db, "resource_reviewed", 3, params, NULL)) != 0) return svc_db_fail(res, req, db, rc);
    return answer(db, req, res, x->id);
}

int resources_retire(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    const Parley__Intake__V1__RetireResourceRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "resource");
    resource_t *x = NULL;
    int rc = lock(db, req, res, in->id, &x);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    if (rc == 0) return -1;
    if (x->status == RETIRED) return unchanged(db, req, res, x);
    const char *params[] = {x->id};
    if ((rc = db_exec(db, "resource_retired", 1, params, NULL)) != 0) return svc_db_fail(res, req, db, rc);
    return answer(db, req, res, x->id);
}
