/* Assignments: a supporter supporting a family's case, from an accepted
 * offer until it ends. Ending one frees the supporter's place (a trigger on
 * assignments keeps supporter_places.active), which wakes the sweeper to
 * match waiting families again. A supporter's own key lists only that
 * supporter's assignments: a supporterId naming another lists none. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/page_token.h"
#include "svc/svc.h"

#define COLUMNS                                                                                                    \
    "id, supporter_id, case_id, family_id, authority_id, match_request_id, offer_id, status, " DB_MICROS("started_at") \
    ", " DB_MICROS("ended_at") ", end_reason, version"

static const db_stmt_t stmts[] = {
    {"asg_get", "SELECT " COLUMNS " FROM assignments WHERE id = $1 AND authority_id = ANY (current_authorities())"},
    {"asg_lock",
     "SELECT status, audit.touch(id::text, authority_id) FROM assignments"
     " WHERE id = $1 AND authority_id = ANY (current_authorities()) FOR UPDATE"},
    {"asg_active_of_case",
     "SELECT id FROM assignments WHERE case_id = $1 AND status = 'active'"
     " AND authority_id = ANY (current_authorities()) ORDER BY id"},
    {"asg_end",
     "UPDATE assignments SET status = 'ended', ended_at = clock_timestamp(), end_reason = $2, version = version + 1"
     " WHERE id = $1"},
    {"asg_list",
     "SELECT " COLUMNS ", audit.listed(id::text, $6::int - 1) FROM assignments WHERE authority_id = ANY (current_authorities())"
     " AND ($1::uuid IS NULL OR supporter_id = $1) AND ($2::uuid IS NULL OR case_id = $2)"
     " AND ($7::uuid IS NULL OR supporter_id = $7)"
     " AND ($3::text IS NULL OR status = $3)"
     " AND ($4::bigint IS NULL OR (started_at, id) >"
     "      (" DB_FROM_MICROS("$4") ", $5::uuid))"
     " ORDER BY started_at, id LIMIT $6"},
};

const db_stmt_t *assignments_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static assignment_t *from_row(arena_t *a, const db_result_t *r, int i) {
    assignment_t *x = arena_alloc(a, sizeof *x);
    parley__matching__v1__assignment__init(x);
    x->id = db_str(a, r, i, 0);
    x->supporter_id = db_str(a, r, i, 1);
    x->case_id = db_str(a, r, i, 2);
    x->family_id = db_str(a, r, i, 3);
    x->authority_id = db_str(a, r, i, 4);
    x->match_request_id = db_str(a, r, i, 5);
    x->offer_id = db_str(a, r, i, 6);
    x->status = strcmp(db_text(r, i, 7), "active") == 0
                    ? PARLEY__MATCHING__V1__ASSIGNMENT_STATUS__ASSIGNMENT_STATUS_ACTIVE
                    : PARLEY__MATCHING__V1__ASSIGNMENT_STATUS__ASSIGNMENT_STATUS_ENDED;
    x->started_at = svc_timestamp(a, db_int(r, i, 8));
    if (!db_is_null(r, i, 9)) x->ended_at = svc_timestamp(a, db_int(r, i, 9));
    x->end_reason = db_is_null(r, i, 10) ? "" : db_str(a, r, i, 10);
    x->version = (int32_t)db_int(r, i, 11);
    return x;
}

static int load(db_t *db, arena_t *a, const char *id, assignment_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "asg_get", 1, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) == 1;
    if (rc) *out = from_row(a, r, 0);
    db_result_free(&r);
    return rc;
}

int assignments_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__ListAssignmentsRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    svc_check_uuid(res, "supporterId", in->supporter_id, false);
    svc_check_uuid(res, "caseId", in->case_id, false);
    if (!svc_ok(res)) return -1;
    Parley__Matching__V1__ListAssignmentsResponse *out = arena_alloc(a, sizeof *out);
    parley__matching__v1__list_assignments_response__init(out);
    const char *only_for;
    if (!matching_acts_for(req, &only_for)) {
        res->reply = &out->base; /* bound to no supporter: none of them is its own */
        return 0;
    }
    const char *status = NULL;
    if (in->status == PARLEY__MATCHING__V1__ASSIGNMENT_STATUS__ASSIGNMENT_STATUS_ACTIVE) status = "active";
    if (in->status == PARLEY__MATCHING__V1__ASSIGNMENT_STATUS__ASSIGNMENT_STATUS_ENDED) status = "ended";
    const char *params[] = {svc_opt(in->supporter_id), svc_opt(in->case_id), status,
                            page_cursor_micros(a, &cur), page_cursor_id(&cur), arena_printf(a, "%d", size + 1),
                            only_for};
    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    if (rc == 0) rc = db_exec(db, "asg_list", 7, params, &r);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) {
        db_result_free(&r);
        return matching_db_fail(res, req, db, rc);
    }
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[i] = from_row(a, r, (int)i);
    out->n_items = n;
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->started_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}

int assignments_finish(db_t *db, arena_t *a, const char *id, const char *reason, assignment_t **out) {
    db_result_t *r = NULL;
    const char *lock_params[] = {id};
    int rc = db_exec(db, "asg_lock", 1, lock_params, &r);
    if (rc != 0) return rc;
    int found = db_rows(r) == 1;
    bool active = found && strcmp(db_text(r, 0, 0), "active") == 0;
    db_result_free(&r);
    if (!found) return 0;
    assignment_t *x = NULL;
    if (active) {
        /* Ending an ended assignment changes nothing: it answers as it is. */
        const char *params[] = {id, reason};
        rc = db_exec(db, "asg_end", 2, params, NULL);
    }
    if (rc == 0) {
        found = load(db, a, id, &x);
        rc = found == 1 ? 0 : found < 0 ? found : DB_ERR_QUERY;
    }
    if (rc == 0 && active)
        rc = events_emit(db, "assignment.ended", x->authority_id, x->case_id,
                         json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "assignmentId", x->id, "supporterId",
                                   x->supporter_id, "caseId", x->case_id, "familyId", x->family_id, "matchRequestId",
                                   x->match_request_id, "reason", reason));
    if (rc != 0) return rc;
    if (out) *out = x;
    return 1;
}

int assignments_end_for_case(db_t *db, arena_t *a, const char *case_id, const char *reason) {
    const char *params[] = {case_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "asg_active_of_case", 1, params, &r);
    if (rc != 0) return rc;
    int n = db_rows(r);
    char **ids = arena_alloc(a, ((size_t)n + 1) * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = db_str(a, r, i, 0);
    db_result_free(&r);
    for (int i = 0; i < n; i++) {
        rc = assignments_finish(db, a, ids[i], reason, NULL);
        if (rc < 0) return rc;
    }
    return 0;
}

int assignments_end(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__EndAssignmentRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "assignment");
    if (!svc_check_max_len(res, "reason", in->reason, 500)) return -1;
    int rc = db_tx_begin(db, req->header->principal);
    assignment_t *x = NULL;
    int found = rc == 0 ? assignments_finish(db, a, in->id, svc_opt(in->reason), &x) : rc;
    if (found < 0) return matching_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "assignment");
    }
    rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}
