/* ListSessionBookings (bus only, no route): the bookings of a session that
 * notify tells when the session is cancelled (session.cancelled): those
 * confirmed or waiting, or, once the session is cancelled, those its
 * cancellation cancelled (their cancelled_at is the session's change, one
 * transaction's now()), in the order they were made, at most
 * MAX_BOOKINGS. A read: its transaction commits nothing but the audit row. */
#include "core/ids.h"
#include "services/scheduling/scheduling.h"
#include "svc/svc.h"

#define MAX_BOOKINGS 600

static const db_stmt_t stmts[] = {
    {"sb_session", "SELECT audit.touch(id::text, authority_id) FROM sessions WHERE id = $1"},
    {"sb_list",
     "SELECT b.id, b.session_id, b.authority_id, b.name, b.email, b.case_id, b.status FROM session_bookings b"
     " JOIN sessions s ON s.id = b.session_id WHERE b.session_id = $1"
     " AND (b.status <> 'BOOKING_STATUS_CANCELLED' OR (s.status = 'SESSION_STATUS_CANCELLED'"
     " AND b.cancelled_at = s.updated_at)) ORDER BY b.seq LIMIT 600"},
};

const db_stmt_t *session_bookings_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int session_bookings_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__ListSessionBookingsRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "session");
    const char *params[] = {in->id};
    db_step_t steps[] = {{"sb_session", 1, params, NULL}, {"sb_list", 1, params, NULL}};
    if (svc_read(db, req, res, steps, 2) != 0) return -1;
    bool found = db_rows(steps[0].result) == 1;
    const db_result_t *r = steps[1].result;
    int rows = db_rows(r) < MAX_BOOKINGS ? db_rows(r) : MAX_BOOKINGS;
    Parley__Scheduling__V1__ListSessionBookingsResponse *out = arena_alloc(a, sizeof *out);
    Parley__Scheduling__V1__Booking *items = arena_alloc(a, ((size_t)rows + 1) * sizeof *items);
    if (out) {
        parley__scheduling__v1__list_session_bookings_response__init(out);
        out->items = arena_alloc(a, ((size_t)rows + 1) * sizeof *out->items);
    }
    for (int i = 0; found && out && out->items && items && i < rows; i++) {
        Parley__Scheduling__V1__Booking *b = &items[i];
        parley__scheduling__v1__booking__init(b);
        b->id = db_str(a, r, i, 0);
        b->session_id = db_str(a, r, i, 1);
        b->authority_id = db_str(a, r, i, 2);
        b->name = db_str(a, r, i, 3);
        b->email = db_str(a, r, i, 4);
        b->case_id = db_str(a, r, i, 5);
        b->status = svc_enum_value(&parley__scheduling__v1__booking_status__descriptor, db_text(r, i, 6));
        out->items[out->n_items++] = b;
    }
    db_steps_free(steps, 2);
    if (!found) return svc_not_found(res, "session");
    if (out == NULL || out->items == NULL || items == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &out->base;
    return 0;
}
