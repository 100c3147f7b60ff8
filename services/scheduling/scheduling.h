/* scheduling — calendars and their free slots, and appointments that never
 * double-book a participant with a calendar. One process serves every
 * handler with PARLEY_WORKER_THREADS handler threads (lib/svc/runtime.h)
 * and runs the outbox relay; run as many processes as load needs: a
 * calendar's bookings are kept apart by PostgreSQL (an exclusion
 * constraint), never by a process. Each resource file prepares its
 * statements (<file>_statements) and exports its handlers. */
#ifndef PARLEY_SCHEDULING_H
#define PARLEY_SCHEDULING_H

#include <jansson.h>

#include "bus/bus.h"
#include "db/db.h"
#include "parley/scheduling/v1/scheduling.pb-c.h"

#define SCHED_DEFAULT_ZONE "Europe/London"

/* One handler thread's context: its own connection, and its own bus
 * client for asking intake (ics: a family's communication needs). */
typedef struct {
    db_t *db;
    bus_client_t *bus;
} scheduling_t;

void scheduling_register_statements(db_t *db);
const db_stmt_t *calendars_statements(size_t *n);
const db_stmt_t *appointments_statements(size_t *n);
const db_stmt_t *sessions_statements(size_t *n);
/* session_bookings.c (events): ListSessionBookings, for notify. */
const db_stmt_t *session_bookings_statements(size_t *n);
int session_bookings_list(void *ctx, const bus_request_t *req, bus_response_t *res);

/* calendars.c */
int calendars_put(void *ctx, const bus_request_t *req, bus_response_t *res);
int calendars_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int calendars_free_slots(void *ctx, const bus_request_t *req, bus_response_t *res);

/* appointments.c */
int appointments_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int appointments_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int appointments_reschedule(void *ctx, const bus_request_t *req, bus_response_t *res);
int appointments_cancel(void *ctx, const bus_request_t *req, bus_response_t *res);
/* The appointment as iCalendar (ical.h), METHOD:REQUEST or CANCEL. */
int appointments_icalendar(void *ctx, const bus_request_t *req, bus_response_t *res);

/* sessions.c: group sessions, bookings and the waiting list */
int sessions_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int sessions_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int sessions_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int sessions_cancel(void *ctx, const bus_request_t *req, bus_response_t *res);
int bookings_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int bookings_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int bookings_get_in_session(void *ctx, const bus_request_t *req, bus_response_t *res);
int bookings_cancel(void *ctx, const bus_request_t *req, bus_response_t *res);

/* json.c: sub-messages stored as the API's JSON. */
/* The JSON array text of n messages, in a (NULL when out of memory). */
const char *sched_json_array(arena_t *a, ProtobufCMessage *const *items, size_t n);
/* One message's JSON text, in a ("{}" for NULL). */
const char *sched_json_one(arena_t *a, const ProtobufCMessage *m);
/* The stored JSON array text as messages of desc in a, at most max; *n
 * their count. */
ProtobufCMessage **sched_json_items(arena_t *a, const char *text, const ProtobufCMessageDescriptor *desc, size_t max,
                                    size_t *n);
/* The stored JSON object text as a message of desc, or NULL. */
ProtobufCMessage *sched_json_message(arena_t *a, const char *text, const ProtobufCMessageDescriptor *desc);

/* A supporter-role key acts only for its own supporter: its id, else NULL
 * (a staff key). */
const char *sched_supporter(const bus_request_t *req);

/* Seconds since the epoch of a Timestamp (whole seconds). */
int64_t sched_seconds(const Google__Protobuf__Timestamp *t);

#endif
