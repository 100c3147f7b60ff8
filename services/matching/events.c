/* Events in and out. In: Events.Deliver from intake's relay; a
 * case.supporter_requested event stores the case's facts and puts the
 * family on the waiting list, where the sweeper's next pass offers it by
 * batch assignment. inbox_claim makes a redelivery harmless. Out:
 * match.offered, match.accepted, match.declined (with "expired" when an
 * offer lapsed), match.waiting and assignment.ended, through the outbox, for
 * notify to tell the supporter and the family. Data carry ids only. */
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "db/outbox.h"
#include "parley/events/v1/events.pb-c.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

static const db_stmt_t stmts[] = {
    {"ev_request",
     "INSERT INTO match_requests (id, consortium_id, authority_id, case_id, family_id, status, waiting_since, source)"
     " SELECT $1, (SELECT consortium_id FROM known_authorities WHERE authority_id = $2), $2, $3, $4, 'waiting',"
     "   coalesce($5::timestamptz, now()), 'event'"
     " WHERE NOT EXISTS (SELECT 1 FROM assignments WHERE case_id = $3 AND status = 'active')"
     " ON CONFLICT (case_id) WHERE status IN ('offered', 'waiting') DO NOTHING"},
};

const db_stmt_t *events_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static const char *const subscribers[] = {"notify"};

int events_emit(db_t *db, const char *type, const char *authority_id, const char *subject_id, json_t *data) {
    if (data == NULL) return DB_ERR_QUERY;
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (text == NULL) return DB_ERR_QUERY;
    int rc = outbox_add(db, type, authority_id, subject_id, text, subscribers, 1);
    free(text);
    return rc;
}

/* A valid RFC 3339 time from the event, or NULL. */
static const char *requested_at(arena_t *a, const char *data_json) {
    json_t *d = json_loads(data_json ? data_json : "", 0, NULL);
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
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    Parley__Events__V1__DeliverReply *out = arena_alloc(res->arena, sizeof *out);
    parley__events__v1__deliver_reply__init(out);
    res->reply = &out->base;
    return 0;
}
