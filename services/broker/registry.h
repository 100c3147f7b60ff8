/* registry — the broker's bookkeeping, with no sockets in it: which services
 * exist, which workers serve each, which of them are idle in least-recently-
 * used order, and which requests wait for a worker until their deadline.
 *
 * Time is whatever clock the caller passes as now, in milliseconds (the
 * broker passes a monotonic clock and converts wire deadlines to it), so the
 * tests can drive it by hand. A worker is alive until liveness_ms after it was
 * last heard from; while busy it is also given until liveness_ms after its
 * request's deadline, since a worker cannot heartbeat in the middle of a
 * handler. A request is a caller's opaque pointer that the registry owns from
 * registry_request_add until it gives it back (dispatch, expiry) or frees it
 * with free_request on destroy.
 *
 * Lookups are linear: a broker has tens of workers and a handful of services.
 */
#ifndef PARLEY_BROKER_REGISTRY_H
#define PARLEY_BROKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct registry registry_t;
typedef struct registry_worker registry_worker_t;

typedef void (*registry_free_fn)(void *request);

/* A request paired with the worker that is to serve it (now busy). */
typedef struct {
    registry_worker_t *worker;
    void *request; /* the caller's again */
    int64_t deadline;
} registry_job_t;

/* An empty registry. NULL when out of memory. */
registry_t *registry_new(int64_t liveness_ms, registry_free_fn free_request);

/* An idle worker silent for more than quiet_ms (a live one heartbeats more
 * often) is given work only when no other idle worker of its service is
 * live: see registry_dispatch. 0 (the default) turns this off. */
void registry_set_quiet_ms(registry_t *self, int64_t quiet_ms);

/* Frees every worker, service and waiting request; sets *self to NULL. */
void registry_destroy(registry_t **self);

/* ---- workers ---- */

/* Registers an idle worker of service, identified by id (copied), as the most
 * recently used. 0 and *out (may be NULL); -EEXIST when id is registered
 * already (nothing changes); -EINVAL for an empty id or service; -ENOMEM. */
int registry_worker_add(registry_t *self, const void *id, size_t id_len, const char *service,
                        int64_t now, registry_worker_t **out);

/* The worker with this id, or NULL. */
registry_worker_t *registry_worker_find(const registry_t *self, const void *id, size_t id_len);

/* The worker was heard from (any message): it stays alive. */
void registry_worker_seen(registry_t *self, registry_worker_t *w, int64_t now);

/* The worker replied: it is idle again, now the most recently used. */
void registry_worker_idle(registry_t *self, registry_worker_t *w, int64_t now);

/* Forgets the worker (a busy worker's request is the client's to retry);
 * sets *w to NULL. */
void registry_worker_remove(registry_t *self, registry_worker_t **w);

const void *registry_worker_id(const registry_worker_t *w, size_t *len);
const char *registry_worker_service(const registry_worker_t *w);
bool registry_worker_is_busy(const registry_worker_t *w);

/* What the broker remembers of the request a worker was just given (after
 * registry_dispatch): tag, the client's address and correlation id, so that
 * only the reply to it is taken; and the caller's packed principal, so that
 * the worker's own calls may act for that caller until the request's
 * deadline (principal NULL when it had none). Both copied; forgotten when
 * the worker is idle again or removed. 0 or -ENOMEM (nothing remembered). */
int registry_worker_assign(registry_worker_t *w, const void *tag, size_t tag_len,
                           const void *principal, size_t principal_len);

/* Whether w is busy with the request whose tag this is. */
bool registry_worker_serves(const registry_worker_t *w, const void *tag, size_t tag_len);

/* Whether some worker of service is busy, before its request's deadline,
 * with a request whose principal is exactly these bytes. */
bool registry_acts_for(const registry_t *self, const char *service, const void *principal,
                       size_t principal_len, int64_t now);

/* Calls fn for each idle live worker (to heartbeat them). fn must not change
 * the registry. */
void registry_foreach_idle(const registry_t *self, int64_t now,
                           void (*fn)(void *ctx, const registry_worker_t *w), void *ctx);

/* Calls fn for each worker silent past its liveness, then removes it.
 * Returns how many were removed. */
size_t registry_purge(registry_t *self, int64_t now,
                      void (*fn)(void *ctx, const registry_worker_t *w), void *ctx);

/* Calls fn for every worker (to say goodbye at shutdown). fn must not change
 * the registry. */
void registry_foreach_worker(const registry_t *self,
                             void (*fn)(void *ctx, const registry_worker_t *w), void *ctx);

/* ---- requests ---- */

/* Queues request for service until deadline, behind those already waiting.
 * 0; -ENOMEM or -EINVAL (an empty service), and then the request is still
 * the caller's. */
int registry_request_add(registry_t *self, const char *service, void *request,
                         int64_t deadline);

/* Puts a job's request back at the head of its queue (its worker turned out
 * to be gone), then the caller removes the worker. 0 or -ENOMEM (the request
 * is then still the caller's). */
int registry_request_return(registry_t *self, const registry_job_t *job);

/* Pairs the oldest waiting request of service that is still within its
 * deadline with the least recently used idle live worker of service that is
 * not quiet (registry_set_quiet_ms; a quiet one when there is no other),
 * marks the worker busy and fills job. false when there is no such pair. */
bool registry_dispatch(registry_t *self, const char *service, int64_t now, registry_job_t *job);

/* Removes every waiting request whose deadline is at or before now and
 * gives each to fn (the caller's then: answer it). Returns how many. */
size_t registry_expire(registry_t *self, int64_t now, void (*fn)(void *ctx, void *request),
                       void *ctx);

/* The earliest deadline among waiting requests (possibly earlier than any
 * still waiting, never later), or INT64_MAX when none wait. */
int64_t registry_next_deadline(const registry_t *self);

/* ---- services ---- */

/* Whether service has at least one live worker, idle or busy. */
bool registry_service_ready(const registry_t *self, const char *service, int64_t now);

/* How many requests wait for service. */
size_t registry_queue_depth(const registry_t *self, const char *service);

typedef struct {
    const char *name;
    size_t depth;   /* requests waiting now */
    size_t peak;    /* most waiting at once since the last report */
    size_t workers; /* registered */
    size_t idle;
} registry_stats_t;

/* Calls fn for each service, then starts a new peak for each. */
void registry_report(registry_t *self, void (*fn)(void *ctx, const registry_stats_t *s),
                     void *ctx);

#endif
