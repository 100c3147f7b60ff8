/* Events in and out. In: Events.Deliver from intake's relay; a
 * case.supporter_requested event stores the case's facts and puts the
 * family on the waiting list, where the sweeper's next pass offers it by
 * batch assignment; a case.closed event ends the case's assignment (its
 * supporter's place is free again), withdraws its pending offers and
 * cancels its open match request; a family.updated event refreshes the
 * stored facts of the family's cases (profiles.c); a training.status_changed
 * event keeps on the supporter whether their training lapsed (newest
 * standing version only) and, when it did, withdraws their pending offers
 * and offers each family to the next candidate. Any other type is answered OK and
 * ignored, so the relay does not retry it. inbox_claim makes a redelivery
 * harmless. Out:
 * match.offered, match.accepted, match.declined (with "expired" when an
 * offer lapsed), match.waiting and assignment.ended, through the outbox, for
 * notify to tell the supporter and the family. Data carry ids only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "db/outbox.h"
#include "parley/events/v1/events.pb-c.h"
#include "pb/pb.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

static const db_stmt_t stmts[] = {
    {"ev_request",
     "INSERT INTO match_requests (id, consortium_id, authority_id, case_id, family_id, status, waiting_since, source)"
     " SELECT $1, (SELECT consortium_id FROM known_authorities WHERE authority_id = $2), $2, $3, $4, 'waiting',"
     "   coalesce($5::timestamptz, now()), 'event'"
     " WHERE NOT EXISTS (SELECT 1 FROM assignments WHERE case_id = $3 AND status = 'active')"
     " ON CONFLICT (case_id) WHERE status IN ('offered', 'waiting') DO NOTHING"},
    /* The offers' trigger releases each withdrawn offer's reserved place
     * (and signals the capacity), as for a declined or lapsed one. */
    {"ev_withdraw_offers",
     "UPDATE offers SET status = 'withdrawn', answered_at = clock_timestamp(), answer_reason = $2"
     " WHERE case_id = $1 AND status = 'pending' AND authority_id = ANY (current_authorities())"},
    {"ev_profile_closed",
     "UPDATE case_profiles SET closed_at = coalesce(closed_at, now()), updated_at = now()"
     " WHERE case_id = $1 AND authority_id = ANY (current_authorities())"},
    {"ev_cancel_requests",
     "UPDATE match_requests SET status = 'cancelled', cancel_reason = $2, cancelled_by = 'case_closed',"
     " version = version + 1, updated_at = now() WHERE case_id = $1 AND status IN ('offered', 'waiting') AND authority_id = ANY (current_authorities())"},
    /* The newest family.updated per family; an older one arriving late
     * leaves it as it is. */
    {"ev_family_keep",
     "INSERT INTO family_facts (family_id, authority_id, family_version, data)"
     " VALUES ($1, $2, $3::integer, $4::jsonb)"
     " ON CONFLICT (family_id) DO UPDATE SET family_version = excluded.family_version, data = excluded.data,"
     " updated_at = now()"
     " WHERE family_facts.authority_id = excluded.authority_id"
     " AND family_facts.family_version < excluded.family_version"},
    /* training.status_changed: the newest standing version per supporter. */
    {"ev_training_keep",
     "UPDATE supporters SET training_reason = $2, training_version = $3::integer"
     " WHERE id = $1 AND training_version < $3::integer AND authority_ids && current_authorities()"
     " RETURNING training_reason IS NOT NULL"},
    {"ev_training_offers",
     "SELECT id FROM offers WHERE supporter_id = $1 AND status = 'pending'"
     " AND authority_id = ANY (current_authorities()) ORDER BY offered_at, id"},
};

const db_stmt_t *events_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int events_emit(db_t *db, const char *type, const char *authority_id, const char *subject_id, json_t *data) {
    if (data == NULL) return DB_ERR_QUERY;
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (text == NULL) return DB_ERR_QUERY;
    int rc = outbox_add(db, type, authority_id, subject_id, text);
    free(text);
    return rc;
}

/* A valid RFC 3339 time from the event, or NULL. */
static const char *requested_at(arena_t *a, const char *data_json) {
    json_t *d = pb_json_loadb(data_json ? data_json : "", strlen(data_json ? data_json : ""), 0, NULL);
    const char *v = json_string_value(json_object_get(d, "requestedAt"));
    char *out = NULL;
    /* Checked loosely here; PostgreSQL parses it, and a bad one fails the
     * event rather than guessing. */
    if (v && strlen(v) >= 20 && strlen(v) <= 40 && strspn(v, "0123456789-:.TZ+") == strlen(v)) out = arena_strdup(a, v);
    json_decref(d);
    return out;
}

static int supporter_requested(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev) {
    const char *why = NULL;
    profile_t *p = profiles_from_event(a, ev->data_json, &why);
    if (p == NULL) {
        /* A producer's bug: retrying cannot help, so it is logged and let go. */
        log_error(ev->id, "case.supporter_requested not usable: %s", why);
        return 0;
    }
    int rc = profiles_save(db, a, p, "event");
    if (rc != 0) return rc;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return DB_ERR_QUERY;
    const char *params[] = {id, p->authority_id, p->case_id, p->family_id, requested_at(a, ev->data_json)};
    return db_exec(db, "ev_request", 5, params, NULL);
}

#define CASE_CLOSED_REASON "case closed"

/* The case a case.closed event is about: its data's caseId, else its
 * subject; NULL when neither is a UUID. */
static const char *closed_case_id(arena_t *a, const Parley__Events__V1__Event *ev) {
    json_t *d = pb_json_loadb(ev->data_json ? ev->data_json : "", strlen(ev->data_json ? ev->data_json : ""), 0, NULL);
    const char *v = json_string_value(json_object_get(d, "caseId"));
    const char *out = v && ids_is_uuid(v) ? arena_strdup(a, v) : NULL;
    json_decref(d);
    if (out == NULL && ev->subject_id && ids_is_uuid(ev->subject_id)) out = ev->subject_id;
    return out;
}

/* In the transaction of the inbox claim. The case's profile is marked
 * closed, so a match request made for it later is refused. The order takes
 * row locks as an accept does (offers, then the request) and catches what a
 * concurrent accept or sweeper pass committed meanwhile: offers withdrawn,
 * the request cancelled, offers withdrawn again (one made for the request
 * while we waited for its lock), then the assignment (one an accept made)
 * ended. */
static int case_closed(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev) {
    const char *case_id = closed_case_id(a, ev);
    if (case_id == NULL) {
        log_error(ev->id, "case.closed not usable: no caseId");
        return 0;
    }
    const char *params[] = {case_id, CASE_CLOSED_REASON};
    int rc = db_exec(db, "ev_withdraw_offers", 2, params, NULL);
    if (rc == 0) rc = db_exec(db, "ev_profile_closed", 1, params, NULL);
    if (rc == 0) rc = db_exec(db, "ev_cancel_requests", 2, params, NULL);
    if (rc == 0) rc = db_exec(db, "ev_withdraw_offers", 2, params, NULL);
    if (rc == 0) rc = assignments_end_for_case(db, a, case_id, CASE_CLOSED_REASON);
    return rc;
}

/* In the transaction of the inbox claim: keeps the family's newest facts
 * and refreshes every stored profile of its cases from them (those from an
 * older family version only), so ranking sees the family as it is now. */
static int family_updated(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev) {
    json_t *d = pb_json_loadb(ev->data_json ? ev->data_json : "", strlen(ev->data_json ? ev->data_json : ""), 0, NULL);
    const char *family = json_string_value(json_object_get(d, "familyId"));
    const char *authority = json_string_value(json_object_get(d, "authorityId"));
    json_int_t version = json_integer_value(json_object_get(d, "familyVersion"));
    int rc = 0;
    if (!json_is_object(d) || !ids_is_uuid(family) || !ids_is_uuid(authority) || version <= 0 || version > INT32_MAX) {
        /* A producer's bug: retrying cannot help, so it is logged and let go. */
        log_error(ev->id, "family.updated not usable: no familyId, authorityId or familyVersion");
    } else {
        const char *params[] = {arena_strdup(a, family), arena_strdup(a, authority),
                                arena_printf(a, "%lld", (long long)version), ev->data_json};
        rc = db_exec(db, "ev_family_keep", 4, params, NULL);
        if (rc == 0) rc = profiles_apply_family(db, params[0]);
    }
    json_decref(d);
    return rc;
}

/* Why a standing keeps the supporter out, from the event's courses: the
 * first expired (else missing) course, in a; NULL when it does not. */
static char *training_reason(arena_t *a, json_t *d) {
    const char *status = json_string_value(json_object_get(d, "status"));
    bool expired = status && strcmp(status, "expired") == 0, missing = status && strcmp(status, "missing") == 0;
    if (!expired && !missing) return NULL;
    json_t *courses = json_object_get(d, "courses");
    for (size_t i = 0; json_is_array(courses) && i < json_array_size(courses) && i < 50; i++) {
        json_t *c = json_array_get(courses, i);
        const char *st = json_string_value(json_object_get(c, "status"));
        const char *code = json_string_value(json_object_get(c, "code"));
        const char *until = json_string_value(json_object_get(c, "expiresOn"));
        if (st && strcmp(st, status) == 0)
            return expired ? arena_printf(a, "training_expired: %.32s expired on %.10s", code ? code : "a course",
                                          until ? until : "?")
                           : arena_printf(a, "training_missing: %.32s never completed", code ? code : "a course");
    }
    return arena_strdup(a, expired ? "training_expired" : "training_missing");
}

/* In the transaction of the inbox claim: keeps the supporter's newest
 * training standing; when it lapsed, their pending offers are withdrawn
 * (never silently kept) and each family offered to the next candidate.
 * An event about someone who is not a supporter here changes nothing. */
static int training_changed(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev) {
    json_t *d = pb_json_loadb(ev->data_json ? ev->data_json : "", strlen(ev->data_json ? ev->data_json : ""), 0, NULL);
    const char *supporter = json_string_value(json_object_get(d, "supporterId"));
    json_int_t version = json_integer_value(json_object_get(d, "version"));
    int rc = 0;
    if (!json_is_object(d) || !ids_is_uuid(supporter) || version <= 0 || version > INT32_MAX) {
        if (!json_is_object(d) || json_object_get(d, "supporterId"))
            log_error(ev->id, "training.status_changed not usable: no supporterId or version");
        json_decref(d);
        return 0;
    }
    const char *id = arena_strdup(a, supporter);
    const char *reason = training_reason(a, d);
    json_decref(d);
    const char *params[] = {id, reason, arena_printf(a, "%lld", (long long)version)};
    db_result_t *r = NULL;
    rc = db_exec(db, "ev_training_keep", 3, params, &r);
    bool lapsed = rc == 0 && db_rows(r) == 1 && db_bool(r, 0, 0);
    db_result_free(&r);
    if (rc != 0 || !lapsed) return rc;
    if ((rc = db_exec(db, "ev_training_offers", 1, params, &r)) != 0) return rc;
    int rows = db_rows(r);
    char **offers = arena_alloc(a, ((size_t)rows + 1) * sizeof *offers);
    for (int i = 0; offers && i < rows; i++) offers[i] = db_str(a, r, i, 0);
    db_result_free(&r);
    for (int i = 0; rc == 0 && offers && i < rows; i++)
        rc = offers_withdraw(db, a, offers[i], arena_printf(a, "supporter no longer eligible: %s", reason));
    return rc;
}

int events_deliver(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    const Parley__Events__V1__Event *ev = (const void *)req->input;
    if (!ids_is_uuid(ev->id) || ev->type == NULL || *ev->type == '\0') {
        bus_response_error(res, CODE(INVALID_ARGUMENT), "an event needs an id and a type");
        return -1;
    }
    int rc = db_tx_begin(db, req->header->principal);
    int first = rc == 0 ? inbox_claim(db, ev->id, ev->type) : rc;
    if (first < 0) return matching_db_fail(res, req, db, first);
    rc = 0;
    if (first == 1 && strcmp(ev->type, "case.supporter_requested") == 0) rc = supporter_requested(db, res->arena, ev);
    if (first == 1 && strcmp(ev->type, "case.closed") == 0) rc = case_closed(db, res->arena, ev);
    if (first == 1 && (strcmp(ev->type, "family.updated") == 0 || strcmp(ev->type, "young_person.updated") == 0))
        rc = family_updated(db, res->arena, ev);
    if (first == 1 && strcmp(ev->type, "training.status_changed") == 0) rc = training_changed(db, res->arena, ev);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    Parley__Events__V1__DeliverReply *out = arena_alloc(res->arena, sizeof *out);
    parley__events__v1__deliver_reply__init(out);
    res->reply = &out->base;
    return 0;
}
