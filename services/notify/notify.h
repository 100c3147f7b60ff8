/* notify — templates in every language and format a family reads, and the
 * notifications sent from them. One process serves every handler with
 * PARLEY_WORKER_THREADS handler threads (lib/svc/runtime.h) and runs a
 * sender thread (sender.h) that delivers what is due; run as many processes
 * as load needs: the senders share the queue (FOR UPDATE SKIP LOCKED) and
 * nothing is process-local truth. Each resource file prepares its
 * statements (<file>_statements) and exports its handlers. */
#ifndef PARLEY_NOTIFY_H
#define PARLEY_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>

#include "bus/bus.h"
#include "db/db.h"
#include "parley/notify/v1/notify.pb-c.h"

/* One handler thread's context: its own connection and bus client. */
typedef struct {
    db_t *db;
    bus_client_t *bus;
} notify_t;

/* Every statement of the handlers, on db (a handler thread's). */
void notify_register_statements(db_t *db);

const db_stmt_t *templates_statements(size_t *n);
const db_stmt_t *notifications_statements(size_t *n);
const db_stmt_t *events_statements(size_t *n);

/* events.c: Events.Deliver (case.opened: the parents are told). */
int events_deliver(void *ctx, const bus_request_t *req, bus_response_t *res);

/* templates.c */
int templates_put(void *ctx, const bus_request_t *req, bus_response_t *res);
int templates_get(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Whether key is a template's key: 1 to 64 of a-z 0-9 _ . - (no _ . - first). */
bool templates_key_ok(const char *key);
/* The translations stored as JSON text (templates.translations) as
 * messages in a; *n their count. NULL (and *n 0) when the text is not an
 * array of them. */
Parley__Notify__V1__Translation **templates_parse_translations(arena_t *a, const char *json_text, size_t *n);

/* notifications.c */
int notifications_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int notifications_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int notifications_list(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Renders and queues the notification in (checked as the codec and the
 * handler check a request) in the open transaction on db, its new id into
 * id (IDS_UUID_LEN + 1 bytes) and, when row is not NULL, its row as GET
 * reads it into *row (the caller frees it); source_event (the event it
 * answers) and client_id (who made it) may be NULL. 0; 1 when the template
 * or data refuse it (a violation on res); or a DB_ERR_*. */
int notifications_insert(db_t *db, bus_response_t *res, const Parley__Notify__V1__CreateNotificationRequest *in,
                         const char *source_event, const char *client_id, char *id, db_result_t **row);
/* contacts: the same for a recipient named by personId, whose record
 * person (contacts.h: read from their owner by the caller; only its kind,
 * language and format are used, never kept) and preferences decide the
 * language, format and channels the request leaves out. person NULL:
 * notifications_insert (explicit contact details). */
struct contact_s;
int notifications_insert_person(db_t *db, bus_response_t *res,
                                const Parley__Notify__V1__CreateNotificationRequest *in, const struct contact_s *person,
                                const char *source_event, const char *client_id, char *id, db_result_t **row);

/* The API's word of a MessageFormat ("large_print"), and back (0 unknown). */
const char *notify_format_word(int format);

#endif
