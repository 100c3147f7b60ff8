/* ics: a calendar's feed token and its iCalendar feed (feed.c). The
 * handlers run in svc_serve, as every scheduling method does; the key is
 * read once by feed_configure before any thread and is read-only after. */
#ifndef PARLEY_SCHEDULING_FEED_H
#define PARLEY_SCHEDULING_FEED_H

#include "bus/bus.h"
#include "db/db.h"

/* Reads PARLEY_SCHEDULING_FEED_KEY (64 hex digits). Unset: feeds answer
 * 503 (logged once); malformed: -1 (the process does not start). */
int feed_configure(void);
const db_stmt_t *feed_statements(size_t *n);

/* POST /v1/calendars/{ownerId}/feed-token: a new token, shown once. */
int feed_token_create(void *ctx, const bus_request_t *req, bus_response_t *res);
/* DELETE /v1/calendars/{ownerId}/feed-token: no feed until a new one. */
int feed_token_revoke(void *ctx, const bus_request_t *req, bus_response_t *res);
/* GET /v1/calendars/{ownerId}.ics?token=: the feed, or 404. */
int feed_get(void *ctx, const bus_request_t *req, bus_response_t *res);

#endif
