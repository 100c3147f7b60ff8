/* Offering a family's request to its next candidate, or putting it on the
 * waiting list: what a new request, a decline, a lapsed offer and an accept
 * that came too late all end in. Runs in the caller's transaction, with
 * the request row locked by the caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

static const db_stmt_t stmts[] = {
    {"off_insert",
     "INSERT INTO offers (id, match_request_id, authority_id, case_id, supporter_id, status, score, reasons,"
     " expires_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7::jsonb,"
     " clock_timestamp() + $8::bigint * interval '1 second')"
     " RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"},
    {"req_offered",
     "UPDATE match_requests SET status = 'offered', last_attempt_at = now(), due_at = NULL, version = version + 1,"
     " updated_at = now() WHERE id = $1"},
    {"req_waiting",
     "UPDATE match_requests SET status = 'waiting', last_attempt_at = now(), due_at = NULL,"
     " version = version + CASE WHEN status = 'waiting' THEN 0 ELSE 1 END,"
     " updated_at = CASE WHEN status = 'waiting' THEN updated_at ELSE now() END WHERE id = $1"
     " RETURNING to_char(waiting_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"},
};

const db_stmt_t *offering_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int offering_make(db_t *db, arena_t *a, const request_row_t *r, const Parley__Matching__V1__Candidate *c,
                  char **offer_id) {
    char *id = arena_alloc(a, IDS_UUID_LEN + 1);
    if (id == NULL || ids_uuid_new(id) != 0) return DB_ERR_QUERY;
    json_t *reasons = pool_reasons_json(c);
    char *text = reasons ? json_dumps(reasons, JSON_COMPACT) : NULL;
    json_decref(reasons);
    if (text == NULL) return DB_ERR_QUERY;
    const char *params[] = {id,
                            r->id,
                            r->authority_id,
                            r->case_id,
                            c->supporter_id,
                            arena_printf(a, "%d", c->score),
                            arena_strdup(a, text),
                            arena_printf(a, "%lld", (long long)matching_config.offer_ttl_s)};
    free(text);
    db_result_t *res = NULL;
    int rc = db_exec(db, "off_insert", 8, params, &res);
    if (rc != 0) return rc;
    char *expires = db_str(a, res, 0, 0);
    db_result_free(&res);
    const char *rid[] = {r->id};
    if ((rc = db_exec(db, "req_offered", 1, rid, NULL)) != 0) return rc;
    rc = events_emit(db, "match.offered", r->authority_id, r->case_id,
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "matchRequestId", r->id, "offerId", id,
                               "caseId", r->case_id, "familyId", r->family_id, "supporterId", c->supporter_id,
                               "score", c->score, "expiresAt", expires));
    if (rc == 0 && offer_id) *offer_id = id;
    return rc;
}

int offering_wait(db_t *db, arena_t *a, const request_row_t *r) {
    const char *rid[] = {r->id};
    db_result_t *res = NULL;
    int rc = db_exec(db, "req_waiting", 1, rid, &res);
    if (rc != 0) return rc;
    char *since = db_rows(res) == 1 ? db_str(a, res, 0, 0) : NULL;
    db_result_free(&res);
    if ((strcmp(r->status, "waiting") == 0 && r->attempted) || since == NULL) return 0;
    return events_emit(db, "match.waiting", r->authority_id, r->case_id,
                       json_pack("{s:s, s:s, s:s, s:s}", "matchRequestId", r->id, "caseId", r->case_id, "familyId",
                                 r->family_id, "waitingSince", since));
}

int offering_next(db_t *db, arena_t *a, const request_row_t *r, char **offer_id) {
    if (offer_id) *offer_id = NULL;
    profile_t *p = NULL;
    int rc = profiles_load(db, a, r->case_id, &p);
    if (rc == 0) rc = DB_ERR_QUERY; /* a request always has its case's profile (foreign key) */
    if (rc < 0) return rc;
    weights_t w;
    ranking_t rk;
    if ((rc = weights_load(db, r->consortium_id, &w)) != 0) return rc;
    if ((rc = pool_rank(db, a, NULL, p, &r->prefs, &w, 1, false, &rk)) != 0) return rc;
    if (rk.n == 0) {
        rc = offering_wait(db, a, r);
        return rc == 0 ? 0 : rc;
    }
    rc = offering_make(db, a, r, pool_candidate(a, &rk, rk.idx[0], &w), offer_id);
    return rc == 0 ? 1 : rc;
}
