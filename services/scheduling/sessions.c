/* Group sessions: workshops and support groups with a capacity and a
 * waiting list. Every booking, cancellation and promotion locks the
 * session's row (FOR UPDATE) first, so seats are counted, and the first
 * waiting booking promoted when one is freed, by one transaction at a time
 * whatever process serves it: a cancellation promotes once. */
#include <string.h>

#include "core/ids.h"
#include "db/outbox.h"
#include "services/scheduling/scheduling.h"
#include "services/scheduling/tz.h"
#include "svc/page_token.h"
#include "svc/svc.h"

typedef Parley__Scheduling__V1__Session session_t;
typedef Parley__Scheduling__V1__Booking booking_t;

#define CONFIRMED "BOOKING_STATUS_CONFIRMED"
#define WAITLISTED "BOOKING_STATUS_WAITLISTED"
#define CANCELLED "BOOKING_STATUS_CANCELLED"
#define S_CANCELLED "SESSION_STATUS_CANCELLED"
#define COUNT(st) "(SELECT count(*) FROM session_bookings b WHERE b.session_id = s.id AND b.status = '" st "')::text"
#define S_COLUMNS                                                                                              \
    "s.id, s.authority_id, s.title, s.kind, s.audience::text, s.language, s.capacity::text, "                 \
    DB_MICROS("s.starts_at") ", " DB_MICROS("s.ends_at") ", s.zone, s.location::text, s.status, "            \
    COUNT(CONFIRMED) ", " COUNT(WAITLISTED) ", s.cancel_reason, " DB_MICROS("s.created_at")
#define B_COLUMNS                                                                                              \
    "b.id, b.session_id, b.authority_id, b.name, b.email, b.case_id, b.access_needs::text, b.status,"         \
    " (CASE WHEN b.status = '" WAITLISTED "' THEN (SELECT count(*) FROM session_bookings w"                   \
    " WHERE w.session_id = b.session_id AND w.status = '" WAITLISTED "' AND w.seq <= b.seq) ELSE 0 END)::text," \
    " " DB_MICROS("b.created_at") ", " DB_MICROS("b.promoted_at")

static const db_stmt_t stmts[] = {
    {"s_insert",
     "INSERT INTO sessions (id, authority_id, title, kind, audience, language, capacity, starts_at, ends_at, zone,"
     " location, created_by_client) VALUES ($1, $2, $3, $4, $5::text[], $6, $7::int, " DB_FROM_MICROS("$8") ", "
     DB_FROM_MICROS("$9") ", $10, $11::jsonb, $12) RETURNING audit.touch(id::text, authority_id)"},
    {"s_get", "SELECT " S_COLUMNS ", audit.touch(s.id::text, s.authority_id) FROM sessions s WHERE s.id = $1"},
    {"s_list",
     "SELECT " S_COLUMNS " FROM sessions s WHERE ($1::uuid IS NULL OR s.authority_id = $1)"
     " AND ($2::bigint IS NULL OR (s.starts_at, s.id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY s.starts_at, s.id LIMIT $4"},
    /* The session locked; then, in a statement of its own (so with a
     * snapshot taken after the lock was granted, which sees the seats the
     * lock's previous holder took), its seats taken. */
    {"s_lock", "SELECT status, capacity FROM sessions WHERE id = $1 FOR UPDATE"},
    {"s_seats", "SELECT count(*) FROM session_bookings WHERE session_id = $1 AND status = '" CONFIRMED "'"},
    {"s_cancel",
     "UPDATE sessions SET status = '" S_CANCELLED "', cancel_reason = $2, updated_at = now() WHERE id = $1"},
    {"s_cancel_bookings",
     "UPDATE session_bookings SET status = '" CANCELLED "', cancelled_at = now()"
     " WHERE session_id = $1 AND status <> '" CANCELLED "'"},
    {"b_insert",
     /* created_at is when the booking was admitted, after the session's lock
      * (not when its transaction began), so it runs in the order of seq and
      * of the waiting list's positions. */
     "INSERT INTO session_bookings (id, authority_id, session_id, name, email, case_id, access_needs, status,"
     " created_by_client, created_at)"
     " SELECT $1, authority_id, id, $3, $4, $5, $6::jsonb, $7, $8, clock_timestamp() FROM sessions WHERE id = $2"
     " RETURNING audit.touch(id::text, authority_id)"},
    {"b_get", "SELECT " B_COLUMNS ", audit.touch(b.id::text, b.authority_id) FROM session_bookings b WHERE b.id = $1"},
    {"b_get_sub",
     "SELECT " B_COLUMNS ", audit.touch(b.id::text, b.authority_id) FROM session_bookings b"
     " WHERE b.session_id = $1 AND b.id = $2"},
    {"b_session", "SELECT session_id FROM session_bookings WHERE id = $1"},
    {"b_lock", "SELECT status FROM session_bookings WHERE id = $1 FOR UPDATE"},
    {"b_cancel", "UPDATE session_bookings SET status = '" CANCELLED "', cancelled_at = now() WHERE id = $1"},
    /* The first waiting booking gets the seat. */
    {"b_promote",
     "UPDATE session_bookings SET status = '" CONFIRMED "', promoted_at = now() WHERE id = ("
     "SELECT id FROM session_bookings WHERE session_id = $1 AND status = '" WAITLISTED "' ORDER BY seq LIMIT 1)"
     " RETURNING id"},
};

const db_stmt_t *sessions_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static int64_t micros(const Google__Protobuf__Timestamp *t) { return t ? t->seconds * 1000000 + t->nanos / 1000 : 0; }

static session_t *session_row(arena_t *a, const db_result_t *r, int i) {
    session_t *x = arena_alloc(a, sizeof *x);
    if (x == NULL) return NULL;
    parley__scheduling__v1__session__init(x);
    x->id = db_str(a, r, i, 0);
    x->authority_id = db_str(a, r, i, 1);
    x->title = db_str(a, r, i, 2);
    x->kind = svc_enum_value(&parley__scheduling__v1__session_kind__descriptor, db_text(r, i, 3));
    char **words = NULL;
    int n = db_array_parse(a, db_text(r, i, 4), &words);
    x->audience = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof *x->audience);
    for (int k = 0; x->audience && k < n && k < 3; k++)
        x->audience[x->n_audience++] = svc_enum_value(&parley__scheduling__v1__audience__descriptor, words[k]);
    x->language = db_str(a, r, i, 5);
    x->capacity = (int32_t)db_int(r, i, 6);
    x->start = svc_timestamp(a, db_int(r, i, 7));
    x->end = svc_timestamp(a, db_int(r, i, 8));
    x->zone = db_str(a, r, i, 9);
    x->location = (Parley__Scheduling__V1__Location *)sched_json_message(a, db_text(r, i, 10),
                                                                          &parley__scheduling__v1__location__descriptor);
    x->status = svc_enum_value(&parley__scheduling__v1__session_status__descriptor, db_text(r, i, 11));
    x->confirmed = (int32_t)db_int(r, i, 12);
    x->waitlisted = (int32_t)db_int(r, i, 13);
    x->cancel_reason = db_str(a, r, i, 14);
    x->created_at = svc_timestamp(a, db_int(r, i, 15));
    return x->location ? x : NULL;
}

static booking_t *booking_row(arena_t *a, const db_result_t *r) {
    booking_t *x = arena_alloc(a, sizeof *x);
    if (x == NULL) return NULL;
    parley__scheduling__v1__booking__init(x);
    x->id = db_str(a, r, 0, 0);
    x->session_id = db_str(a, r, 0, 1);
    x->authority_id = db_str(a, r, 0, 2);
    x->name = db_str(a, r, 0, 3);
    x->email = db_str(a, r, 0, 4);
    x->case_id = db_str(a, r, 0, 5);
    x->access_needs = (Parley__Scheduling__V1__AccessNeeds *)sched_json_message(
        a, db_text(r, 0, 6), &parley__scheduling__v1__access_needs__descriptor);
    x->status = svc_enum_value(&parley__scheduling__v1__booking_status__descriptor, db_text(r, 0, 7));
    x->position = (int32_t)db_int(r, 0, 8);
    x->created_at = svc_timestamp(a, db_int(r, 0, 9));
    if (!db_is_null(r, 0, 10)) x->promoted_at = svc_timestamp(a, db_int(r, 0, 10));
    return x;
}

/* Reads one row with statement name in the open transaction. */
static int read_one(db_t *db, arena_t *a, const char *name, const char *id, bool session, ProtobufCMessage **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, name, 1, params, &r);
    if (rc != 0) return rc;
    *out = NULL;
    if (db_rows(r) == 1) *out = session ? (ProtobufCMessage *)session_row(a, r, 0) : (ProtobufCMessage *)booking_row(a, r);
    db_result_free(&r);
    return *out ? 0 : DB_ERR_QUERY;
}

int sessions_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__CreateSessionRequest *in = (const void *)req->input;
    svc_check_authority(req, res, "authorityId", in->authority_id);
    if (in->start && in->end && micros(in->end) <= micros(in->start))
        bus_response_violation(res, "end", "must be after start");
    if (in->capacity < 1) bus_response_violation(res, "capacity", "must be 1 to 500");
    if (svc_opt(in->zone) && tz_get(in->zone) == NULL)
        bus_response_violation(res, "zone", "must be an IANA time zone such as Europe/London");
    const Parley__Scheduling__V1__Location *l = in->location;
    if (l && l->kind == PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_IN_PERSON && !svc_opt(l->address))
        bus_response_violation(res, "location.address", "is required: the venue");
    if (l && l->kind == PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_VIDEO && !svc_opt(l->link))
        bus_response_violation(res, "location.link", "is required for a session online");
    if (l && l->kind == PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_PHONE && !svc_opt(l->phone))
        bus_response_violation(res, "location.phone", "is required for a session by telephone");
    if (!svc_ok(res)) return -1;
    char **audience = arena_alloc(a, (in->n_audience + 1) * sizeof *audience);
    if (audience == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    for (size_t i = 0; i < in->n_audience; i++)
        audience[i] = (char *)svc_enum_text(&parley__scheduling__v1__audience__descriptor, (int)in->audience[i]);
    const Parley__Common__V1__Principal *p = req->header->principal;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const char *params[] = {id,
                            in->authority_id,
                            in->title,
                            svc_enum_text(&parley__scheduling__v1__session_kind__descriptor, (int)in->kind),
                            db_array_literal(a, audience, in->n_audience),
                            svc_opt(in->language) ? in->language : "en",
                            arena_printf(a, "%d", in->capacity),
                            arena_printf(a, "%lld", (long long)micros(in->start)),
                            arena_printf(a, "%lld", (long long)micros(in->end)),
                            svc_opt(in->zone) ? in->zone : SCHED_DEFAULT_ZONE,
                            sched_json_one(a, &in->location->base),
                            (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL};
    int rc = db_tx_begin(db, p);
    if (rc == 0) rc = db_exec(db, "s_insert", 12, params, NULL);
    ProtobufCMessage *x = NULL;
    if (rc == 0) rc = read_one(db, a, "s_get", id, true, &x);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = x;
    return 0;
}

static ProtobufCMessage *parse_session(arena_t *a, db_result_t *const *results) {
    session_t *x = session_row(a, results[0], 0);
    return x ? &x->base : NULL;
}

static ProtobufCMessage *parse_booking(arena_t *a, db_result_t *const *results) {
    booking_t *x = booking_row(a, results[0]);
    return x ? &x->base : NULL;
}

static const svc_get_t get_session = {"session", {"s_get"}, 1, parse_session};
static const svc_get_t get_booking = {"booking", {"b_get"}, 1, parse_booking};
static const svc_get_t get_session_booking = {"booking", {"b_get_sub"}, 1, parse_booking};

int sessions_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Scheduling__V1__GetSessionRequest *in = (const void *)req->input;
    return svc_get_one(((scheduling_t *)ctx)->db, req, res, in->id, &get_session);
}

int bookings_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Scheduling__V1__GetBookingRequest *in = (const void *)req->input;
    return svc_get_one(((scheduling_t *)ctx)->db, req, res, in->id, &get_booking);
}

int bookings_get_in_session(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Scheduling__V1__GetSessionBookingRequest *in = (const void *)req->input;
    return svc_get_sub(((scheduling_t *)ctx)->db, req, res, in->id, in->booking_id, &get_session_booking);
}

int sessions_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__ListSessionsRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    if (svc_opt(in->authority_id)) svc_check_authority(req, res, "authorityId", in->authority_id);
    if (!svc_ok(res)) return -1;
    const char *params[] = {svc_opt(in->authority_id), page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1)};
    db_step_t step = {"s_list", 4, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    Parley__Scheduling__V1__ListSessionsResponse *out = arena_alloc(a, sizeof *out);
    int rows = db_rows(step.result);
    size_t n = (size_t)(rows > size ? size : rows);
    if (out) {
        parley__scheduling__v1__list_sessions_response__init(out);
        out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    }
    for (size_t i = 0; out && out->items && i < n; i++) {
        session_t *x = session_row(a, step.result, (int)i);
        if (x) out->items[out->n_items++] = x;
    }
    if (out && rows > size && out->n_items > 0)
        out->next_page_token = page_token_after(a, out->items[out->n_items - 1]->start, out->items[out->n_items - 1]->id);
    db_steps_free(&step, 1);
    if (out == NULL || out->items == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &out->base;
    return 0;
}

/* Opens the transaction and locks the session: 0 with its seats, or -1
 * with res set (404, 409 cancelled) and the transaction ended. */
static int lock_session(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, int *capacity,
                        int *confirmed) {
    if (!ids_is_uuid(id)) return svc_not_found(res, "session");
    int rc = db_tx_begin(db, req->header->principal);
    const char *params[] = {id};
    db_result_t *r = NULL;
    if (rc == 0) rc = db_exec(db, "s_lock", 1, params, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    bool found = db_rows(r) == 1, cancelled = found && strcmp(db_text(r, 0, 0), S_CANCELLED) == 0;
    *capacity = found ? (int)db_int(r, 0, 1) : 0;
    db_result_free(&r);
    if (found && !cancelled) {
        rc = db_exec(db, "s_seats", 1, params, &r);
        if (rc != 0) return svc_db_fail(res, req, db, rc);
        *confirmed = (int)db_int(r, 0, 0);
        db_result_free(&r);
        return 0;
    }
    db_tx_rollback(db);
    if (!found) return svc_not_found(res, "session");
    bus_response_problem(res, BUS_PROBLEM_SESSION_CANCELLED, "the session is cancelled");
    return -1;
}

static int emit(db_t *db, arena_t *a, const char *type, const char *authority, const char *session, const char *booking) {
    const char *data = booking ? arena_printf(a, "{\"sessionId\":\"%s\",\"bookingId\":\"%s\"}", session, booking)
                               : arena_printf(a, "{\"sessionId\":\"%s\"}", session);
    return outbox_add(db, type, authority, session, data);
}

int bookings_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__CreateBookingRequest *in = (const void *)req->input;
    int capacity, confirmed;
    if (lock_session(db, req, res, in->id, &capacity, &confirmed) != 0) return -1;
    const Parley__Common__V1__Principal *p = req->header->principal;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const char *params[] = {id,
                            in->id,
                            in->name,
                            svc_opt(in->email),
                            svc_opt(in->case_id),
                            sched_json_one(a, in->access_needs ? &in->access_needs->base : NULL),
                            confirmed < capacity ? CONFIRMED : WAITLISTED,
                            (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL};
    int rc = db_exec(db, "b_insert", 8, params, NULL);
    ProtobufCMessage *x = NULL;
    if (rc == 0) rc = read_one(db, a, "b_get", id, false, &x);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = x;
    return 0;
}

int bookings_cancel(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__CancelBookingRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "booking");
    /* Its session first (outside any lock), then the session locked, then
     * the booking as it is now: a concurrent cancel has finished by then. */
    const char *id[] = {in->id};
    db_step_t step = {"b_session", 1, id, NULL};
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, step.name, 1, id, &step.result);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *session = db_rows(step.result) == 1 ? db_str(a, step.result, 0, 0) : NULL;
    db_result_free(&step.result);
    db_tx_rollback(db);
    if (session == NULL) return svc_not_found(res, "booking");
    int capacity, confirmed;
    if (lock_session(db, req, res, session, &capacity, &confirmed) != 0) return -1;
    db_result_t *r = NULL;
    rc = db_exec(db, "b_lock", 1, id, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *status = db_rows(r) == 1 ? db_str(a, r, 0, 0) : NULL;
    db_result_free(&r);
    if (status == NULL || strcmp(status, CANCELLED) == 0) {
        db_tx_rollback(db);
        if (status == NULL) return svc_not_found(res, "booking");
        bus_response_problem(res, BUS_PROBLEM_BOOKING_CANCELLED, "the booking is already cancelled");
        return -1;
    }
    rc = db_exec(db, "b_cancel", 1, id, NULL);
    const char *promoted = NULL;
    /* A seat freed goes to the first waiting booking, now. */
    if (rc == 0 && strcmp(status, CONFIRMED) == 0 && confirmed - 1 < capacity) {
        const char *sp[] = {session};
        rc = db_exec(db, "b_promote", 1, sp, &r);
        promoted = rc == 0 && db_rows(r) == 1 ? db_str(a, r, 0, 0) : NULL;
        db_result_free(&r);
    }
    booking_t *x = NULL;
    if (rc == 0) rc = read_one(db, a, "b_get", in->id, false, (ProtobufCMessage **)&x);
    if (rc == 0 && promoted) rc = emit(db, a, "session.booking_promoted", x->authority_id, session, promoted);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    x->promoted_booking_id = (char *)promoted;
    res->reply = &x->base;
    return 0;
}

int sessions_cancel(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__CancelSessionRequest *in = (const void *)req->input;
    int capacity, confirmed;
    if (lock_session(db, req, res, in->id, &capacity, &confirmed) != 0) return -1;
    const char *params[] = {in->id, in->reason};
    int rc = db_exec(db, "s_cancel", 2, params, NULL);
    if (rc == 0) rc = db_exec(db, "s_cancel_bookings", 1, params, NULL);
    session_t *x = NULL;
    if (rc == 0) rc = read_one(db, a, "s_get", in->id, true, (ProtobufCMessage **)&x);
    if (rc == 0) rc = emit(db, a, "session.cancelled", x->authority_id, in->id, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}
