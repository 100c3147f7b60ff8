/* relay — delivers a service's transactional outbox (db/outbox.h) to the
 * subscribing services, as Events.Deliver requests through the broker.
 *
 * The relay is a thread of the producing service with its OWN database
 * connection and bus client (libpq connections and ZeroMQ sockets are one
 * per thread). Every interval it claims due deliveries with FOR UPDATE SKIP
 * LOCKED, so any number of instances share the work and none sends what
 * another is sending. A delivery is marked delivered when the subscriber
 * answers OK; any other answer, or none, counts an attempt and backs off
 * (1 s, 2 s, 4 s ... at most 5 minutes, with jitter) recording last_error,
 * so nothing is lost while a consumer is down or does not implement Deliver
 * yet. Delivery is at least once. Per subscriber, events about one subject
 * (outbox.subject_id) go in the order they were written: an event waits
 * while an earlier one about the same subject is undelivered to that
 * subscriber.
 *
 * The request's header: method "Deliver", request_id the event id, and a
 * principal holding only the event's authority (no client, no roles), so a
 * consumer's tenant-scoped transaction sees that authority's rows.
 *
 * The thread can also run a periodic task (the intake service's deadline
 * sweep) on the same connection.
 */
#ifndef PARLEY_SVC_RELAY_H
#define PARLEY_SVC_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "db/db.h"

typedef struct relay relay_t;

/* A periodic task: runs on the relay's thread with the relay's connection
 * (no transaction open; the task opens and ends its own). */
typedef void (*relay_task_fn)(void *ctx, db_t *db);

typedef struct {
    const char *conninfo; /* the service's PostgreSQL DSN (copied) */
    const char *endpoint; /* the broker (copied) */
    const char *source;   /* the producing service, e.g. "intake" (borrowed, static) */
    int interval_ms;      /* how often to look for due deliveries; 0: 250 */
    int batch;            /* deliveries claimed in one pass; 0: 50 */
    int timeout_ms;       /* one Deliver call's deadline; 0: 2000 */
    /* Optional: a task run first soon after start and then every
     * task_every_ms (0: an hour), and task_init, run once on the thread
     * before it (to db_register the task's statements on the connection). */
    relay_task_fn task_init;
    relay_task_fn task;
    void *task_ctx;
    int64_t task_every_ms;
} relay_config_t;

/* Starts the relay's thread. Returns NULL (logged) when it cannot. */
relay_t *relay_start(const relay_config_t *cfg);

/* Stops the thread (finishing the pass under way), frees everything and
 * sets *self to NULL. */
void relay_stop(relay_t **self);

/* One pass on db with bus: claims up to batch due deliveries and sends
 * them (Event.source = source). Returns how many were claimed (delivered
 * or backed off), or a DB_ERR_*. Exposed for the thread and for tests. */
int relay_pass(db_t *db, bus_client_t *bus, arena_t *arena, const char *source, int batch, int timeout_ms);

#endif
