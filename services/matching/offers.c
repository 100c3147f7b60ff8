/* Offers: the supporter (or a caseworker for them) accepts or declines; an
 * unanswered offer lapses (sweeper.c). Accepting is where capacity is
 * enforced: the supporter's supporter_places row is locked (FOR UPDATE) and
 * its active count compared with capacity in the same transaction, so
 * however many accepts race on however many instances, exactly the free
 * places are taken; an accept that finds none is refused (ABORTED, 409) and
 * the family is offered to the next candidate in that same transaction.
 * A supporter's own key answers only the offers made to that supporter:
 * any other offer is NOT_FOUND, exactly as a random id (matching_acts_for). */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "pb/pb.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

#define OFFER_COLUMNS                                                                                          \
    "o.id, o.match_request_id, o.case_id, o.authority_id, o.supporter_id, o.status, o.score, o.reasons::text," \
    " " DB_MICROS("o.offered_at") ", " DB_MICROS("o.expires_at") ", " DB_MICROS("o.answered_at") ", o.answer_reason,"  \
    " o.assignment_id"

static const db_stmt_t stmts[] = {
    {"off_get",
     "SELECT " OFFER_COLUMNS " FROM offers o WHERE o.id = $1 AND o.authority_id = ANY (current_authorities())"},
    {"off_of_request",
     "SELECT " OFFER_COLUMNS " FROM offers o WHERE o.match_request_id = $1"
     " AND o.authority_id = ANY (current_authorities()) ORDER BY o.offered_at, o.id"},
    {"off_lock",
     "SELECT o.match_request_id, o.status, o.supporter_id, audit.touch(o.id::text, o.authority_id) FROM offers o"
     " WHERE o.id = $1 AND o.authority_id = ANY (current_authorities())"
     " AND ($2::uuid IS NULL OR o.supporter_id = $2) FOR UPDATE OF o"},
    {"off_places_lock",
     "SELECT p.capacity, p.active, s.status, s.vetting_expires_on - date '1970-01-01',"
     " coalesce(s.authority_ids @> ARRAY[$2::uuid], false), s.training_reason"
     " FROM supporter_places p LEFT JOIN supporters s ON s.id = p.supporter_id"
     " WHERE p.supporter_id = $1 FOR UPDATE OF p"},
    {"off_answer",
     "UPDATE offers SET status = $2, answered_at = clock_timestamp(), answer_reason = $3, assignment_id = $4"
     " WHERE id = $1"},
    {"asg_insert",
     "INSERT INTO assignments (id, authority_id, supporter_id, case_id, family_id, match_request_id, offer_id, status)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, 'active')"},
    {"req_matched",
     "UPDATE match_requests SET status = 'matched', version = version + 1, updated_at = now() WHERE id = $1"},
};

const db_stmt_t *offers_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static const struct {
    const char *text;
    Parley__Matching__V1__OfferStatus value;
} statuses[] = {
    {"pending", PARLEY__MATCHING__V1__OFFER_STATUS__OFFER_STATUS_PENDING},
    {"accepted", PARLEY__MATCHING__V1__OFFER_STATUS__OFFER_STATUS_ACCEPTED},
    {"declined", PARLEY__MATCHING__V1__OFFER_STATUS__OFFER_STATUS_DECLINED},
    {"expired", PARLEY__MATCHING__V1__OFFER_STATUS__OFFER_STATUS_EXPIRED},
    {"withdrawn", PARLEY__MATCHING__V1__OFFER_STATUS__OFFER_STATUS_WITHDRAWN},
};

static Parley__Matching__V1__OfferStatus status_of(const char *text) {
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(statuses[i].text, text) == 0) return statuses[i].value;
    return 0;
}

static offer_t *from_row(arena_t *a, const db_result_t *r, int i) {
    offer_t *o = arena_alloc(a, sizeof *o);
    parley__matching__v1__offer__init(o);
    o->id = db_str(a, r, i, 0);
    o->match_request_id = db_str(a, r, i, 1);
    o->case_id = db_str(a, r, i, 2);
    o->authority_id = db_str(a, r, i, 3);
    o->supporter_id = db_str(a, r, i, 4);
    o->status = status_of(db_text(r, i, 5));
    o->score = (int32_t)db_int(r, i, 6);
    json_t *reasons = pb_json_loadb(db_text(r, i, 7), strlen(db_text(r, i, 7)), 0, NULL);
    size_t n = json_is_array(reasons) ? json_array_size(reasons) : 0;
    o->reasons = arena_alloc(a, (n + 1) * sizeof *o->reasons);
    for (size_t k = 0; k < n; k++) {
        const json_t *x = json_array_get(reasons, k);
        pb_reason_t *reason = arena_alloc(a, sizeof *reason);
        parley__matching__v1__reason__init(reason);
        reason->factor = arena_strdup(a, json_string_value(json_object_get(x, "factor")));
        reason->points = (int32_t)json_integer_value(json_object_get(x, "points"));
        reason->detail = arena_strdup(a, json_string_value(json_object_get(x, "detail")));
        if (reason->factor && reason->detail) o->reasons[o->n_reasons++] = reason;
    }
    json_decref(reasons);
    o->offered_at = svc_timestamp(a, db_int(r, i, 8));
    o->expires_at = svc_timestamp(a, db_int(r, i, 9));
    if (!db_is_null(r, i, 10)) o->answered_at = svc_timestamp(a, db_int(r, i, 10));
    /* A lapse keeps its supporter out of the request only for the cool-off. */
    if (!db_is_null(r, i, 10) && strcmp(db_text(r, i, 5), "expired") == 0)
        o->may_offer_again_at =
            svc_timestamp(a, scoring_cooloff_end_us(db_int(r, i, 10), matching_config.offer_cooloff_s));
    o->answer_reason = db_is_null(r, i, 11) ? "" : db_str(a, r, i, 11);
    o->assignment_id = db_is_null(r, i, 12) ? "" : db_str(a, r, i, 12);
    return o;
}

int offers_load(db_t *db, arena_t *a, const char *id, offer_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "off_get", 1, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) == 1;
    if (rc) *out = from_row(a, r, 0);
    db_result_free(&r);
    return rc;
}

int offers_of_request(db_t *db, arena_t *a, const char *request_id, offer_t ***out) {
    const char *params[] = {request_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "off_of_request", 1, params, &r);
    if (rc != 0) return rc;
    int n = db_rows(r);
    *out = arena_alloc(a, ((size_t)n + 1) * sizeof **out);
    for (int i = 0; i < n; i++) (*out)[i] = from_row(a, r, i);
    db_result_free(&r);
    return n;
}

/* Locks offer id and its request. 1 with the offer's status and supporter
 * and the request row, 0 when there is no such offer (made to only_for,
 * when that is not NULL), or a DB_ERR_*. */
static int lock(db_t *db, arena_t *a, const char *id, const char *only_for, char **status, char **supporter,
                request_row_t **request) {
    const char *params[] = {id, only_for};
    db_result_t *r = NULL;
    int rc = db_exec(db, "off_lock", 2, params, &r);
    if (rc != 0) return rc;
    if (db_rows(r) != 1) {
        db_result_free(&r);
        return 0;
    }
    char *request_id = db_str(a, r, 0, 0);
    *status = db_str(a, r, 0, 1);
    *supporter = db_str(a, r, 0, 2);
    db_result_free(&r);
    rc = requests_lock(db, a, request_id, request);
    return rc == 0 ? DB_ERR_QUERY : rc;
}

/* Answers offer id with status and reason, as the offer and in the outbox. */
static int answer(db_t *db, arena_t *a, const char *id, const char *status, const char *reason,
                  const char *assignment_id) {
    const char *params[] = {id, status, reason, assignment_id};
    (void)a;
    return db_exec(db, "off_answer", 4, params, NULL);
}

/* Whether the supporter may take the family now: 1 yes, 0 no (with *why and
 * its cause), or a DB_ERR_*. Locks the supporter's places row until the
 * transaction ends. */
static int has_place(db_t *db, arena_t *a, const char *supporter, const char *authority, const char **why,
                     bus_problem_t *cause) {
    const char *params[] = {supporter, authority};
    db_result_t *r = NULL;
    int rc = db_exec(db, "off_places_lock", 2, params, &r);
    if (rc != 0) return rc;
    rc = 0;
    *why = "the supporter is no longer available";
    *cause = BUS_PROBLEM_SUPPORTER_UNAVAILABLE;
    if (db_rows(r) == 1 && !db_is_null(r, 0, 2)) {
        eligibility_input_t e = {.active = strcmp(db_text(r, 0, 2), "SUPPORTER_STATUS_ACTIVE") == 0,
                                 .has_vetting = !db_is_null(r, 0, 3),
                                 .vetting_expires = db_int(r, 0, 3)};
        eligibility_set_training(a, &e, db_is_null(r, 0, 5) ? NULL : db_text(r, 0, 5));
        if (eligibility_check(&e, svc_today_days()) != 0 || !db_bool(r, 0, 4)) {
            *why = "the supporter is no longer eligible for this family";
            *cause = BUS_PROBLEM_SUPPORTER_INELIGIBLE;
        } else if (db_int(r, 0, 1) >= db_int(r, 0, 0)) {
            *why = "the supporter has no place left";
            *cause = BUS_PROBLEM_CAPACITY_FULL;
        } else
            rc = 1;
    }
    db_result_free(&r);
    (void)a;
    return rc;
}

int offers_accept(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__AcceptOfferRequest *in = (const void *)req->input;
    const char *only_for;
    if (!ids_is_uuid(in->id) || !matching_acts_for(req, &only_for)) return svc_not_found(res, "offer");
    char *status = NULL, *supporter = NULL;
    request_row_t *rq = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    int found = rc == 0 ? lock(db, a, in->id, only_for, &status, &supporter, &rq) : rc;
    if (found < 0) return matching_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "offer");
    }
    offer_t *o = NULL;
    if (strcmp(status, "pending") != 0) {
        /* Accepting an accepted offer again changes nothing: a read. */
        rc = strcmp(status, "accepted") == 0 ? offers_load(db, a, in->id, &o) : 0;
        if (rc >= 0 && o != NULL) rc = db_tx_commit_read(db);
        else db_tx_rollback(db);
        if (rc < 0) return matching_db_fail(res, req, db, rc);
        if (o == NULL) {
            bus_response_problem(res, BUS_PROBLEM_OFFER_NOT_PENDING, "the offer is %s, no longer open", status);
            return -1;
        }
        res->reply = &o->base;
        return 0;
    }
    const char *why = NULL;
    bus_problem_t cause = BUS_PROBLEM_CONFLICT;
    int place = has_place(db, a, supporter, rq->authority_id, &why, &cause);
    if (place < 0) return matching_db_fail(res, req, db, place);
    if (place == 0) {
        /* Too late: the family goes to the next candidate now. */
        char *next = NULL;
        rc = answer(db, a, in->id, "withdrawn", why, NULL);
        int offered = rc == 0 ? offering_next(db, a, rq, &next) : rc;
        svc_audit_answer(db, CODE(ABORTED)); /* committed, then answered 409 */
        if (offered >= 0) rc = db_tx_commit(db);
        else rc = offered;
        if (rc != 0) return matching_db_fail(res, req, db, rc);
        bus_response_problem(res, cause, "%s; the family's request %s", why,
                           offered == 1 ? arena_printf(a, "was offered to the next candidate (offer %s)", next)
                                        : "is waiting for a supporter");
        return -1;
    }
    char assignment[IDS_UUID_LEN + 1];
    if (ids_uuid_new(assignment) != 0) return matching_db_fail(res, req, db, DB_ERR_QUERY);
    const char *ins[] = {assignment, rq->authority_id, supporter, rq->case_id, rq->family_id, rq->id, in->id};
    const char *rid[] = {rq->id};
    rc = db_exec(db, "asg_insert", 7, ins, NULL);
    if (rc == 0) rc = answer(db, a, in->id, "accepted", NULL, assignment);
    if (rc == 0) rc = db_exec(db, "req_matched", 1, rid, NULL);
    if (rc == 0)
        rc = events_emit(db, "match.accepted", rq->authority_id, rq->case_id,
                         json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "matchRequestId", rq->id, "offerId", in->id,
                                   "assignmentId", assignment, "caseId", rq->case_id, "familyId", rq->family_id,
                                   "supporterId", supporter));
    if (rc == 0) {
        found = offers_load(db, a, in->id, &o);
        rc = found == 1 ? 0 : found < 0 ? found : DB_ERR_QUERY;
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &o->base;
    return 0;
}

int offers_decline(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__DeclineOfferRequest *in = (const void *)req->input;
    const char *only_for;
    if (!ids_is_uuid(in->id) || !matching_acts_for(req, &only_for)) return svc_not_found(res, "offer");
    if (!svc_check_max_len(res, "reason", in->reason, 500)) return -1;
    char *status = NULL, *supporter = NULL;
    request_row_t *rq = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    int found = rc == 0 ? lock(db, a, in->id, only_for, &status, &supporter, &rq) : rc;
    if (found < 0) return matching_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "offer");
    }
    if (strcmp(status, "pending") != 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_OFFER_NOT_PENDING, "the offer is %s, no longer open", status);
        return -1;
    }
    char *next = NULL;
    rc = answer(db, a, in->id, "declined", svc_opt(in->reason), NULL);
    if (rc == 0)
        rc = events_emit(db, "match.declined", rq->authority_id, rq->case_id,
                         json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "matchRequestId", rq->id, "offerId", in->id,
                                   "caseId", rq->case_id, "familyId", rq->family_id, "supporterId", supporter,
                                   "expired", 0));
    if (rc == 0) {
        int offered = offering_next(db, a, rq, &next);
        rc = offered < 0 ? offered : 0;
    }
    offer_t *o = NULL;
    if (rc == 0) {
        found = offers_load(db, a, in->id, &o);
        rc = found == 1 ? 0 : found < 0 ? found : DB_ERR_QUERY;
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    if (next) o->next_offer_id = next;
    res->reply = &o->base;
    return 0;
}

int offers_withdraw(db_t *db, arena_t *a, const char *id, const char *reason) {
    char *status = NULL, *supporter = NULL;
    request_row_t *rq = NULL;
    int found = lock(db, a, id, NULL, &status, &supporter, &rq);
    if (found <= 0 || strcmp(status, "pending") != 0) return found < 0 ? found : 0;
    int rc = answer(db, a, id, "withdrawn", reason, NULL);
    if (rc == 0)
        rc = events_emit(db, "match.declined", rq->authority_id, rq->case_id,
                         json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "matchRequestId", rq->id, "offerId", id,
                                   "caseId", rq->case_id, "familyId", rq->family_id, "supporterId", supporter,
                                   "withdrawn", 1));
    if (rc == 0) {
        int offered = offering_next(db, a, rq, NULL);
        rc = offered < 0 ? offered : 0;
    }
    return rc;
}

int offers_expire(db_t *db, arena_t *a, const char *id) {
    char *status = NULL, *supporter = NULL;
    request_row_t *rq = NULL;
    int found = lock(db, a, id, NULL, &status, &supporter, &rq);
    if (found <= 0 || strcmp(status, "pending") != 0) return found < 0 ? found : 0;
    int rc = answer(db, a, id, "expired", "not answered in time", NULL);
    if (rc == 0)
        rc = events_emit(db, "match.declined", rq->authority_id, rq->case_id,
                         json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "matchRequestId", rq->id, "offerId", id,
                                   "caseId", rq->case_id, "familyId", rq->family_id, "supporterId", supporter,
                                   "expired", 1));
    if (rc == 0) {
        int offered = offering_next(db, a, rq, NULL);
        rc = offered < 0 ? offered : 0;
    }
    return rc;
}
