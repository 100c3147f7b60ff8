/* runtime — a service process serving many requests at once: several
 * handler threads, each with its own bus worker (the broker sees each thread
 * as a worker and balances over all of them), its own handler context (a
 * database connection, a bus client, caches: whatever the service's
 * ctx_new makes) and its own per-request arena (the worker's). Handlers stay
 * as they are, reentrant, their state in the context; what the process
 * shares (settings, the relay, sweepers) is read-only or guarded.
 *
 * Threads or processes? Threads overlap one process's waits on PostgreSQL
 * and the bus (a request spends most of its time waiting), so a handful
 * keeps a database busy; processes add cores and isolation (a crash takes
 * one process's threads only), and are what an operator scales.
 */
#ifndef PARLEY_SVC_RUNTIME_H
#define PARLEY_SVC_RUNTIME_H

#include <signal.h>
#include <stddef.h>

#include "bus/bus.h"

#define SVC_RUNTIME_MAX_THREADS 64

typedef struct {
    const char *service;         /* the bus service these threads serve */
    const char *endpoint;        /* the broker */
    const bus_method_t *methods; /* borrowed; outlive the run */
    size_t n_methods;
    /* Makes one thread's handler context (called on that thread), or NULL
     * (logged by it). ctx_destroy frees it (called on the same thread). */
    void *(*ctx_new)(void *arg);
    void (*ctx_destroy)(void *ctx);
    void *arg;
    int threads; /* 1..SVC_RUNTIME_MAX_THREADS */
} svc_runtime_t;

/* Applies service's migrations (PARLEY_MIGRATIONS_DIR, default
 * services/<service>/migrations) on a connection of its own to dsn before
 * serving: every instance tries, the advisory lock serialises. Retried once
 * a second while PostgreSQL starts, 30 times or until *stop. 0 or -1
 * (logged). */
int svc_runtime_migrate(const char *dsn, const char *service, volatile sig_atomic_t *stop);

/* PARLEY_WORKER_THREADS (default 4, 1..SVC_RUNTIME_MAX_THREADS). */
int svc_runtime_threads(void);

/* Serves with rt->threads handler threads until *stop becomes non-zero (a
 * signal handler sets it). Returns 0 on a requested stop; -1 when no thread
 * could start, or a worker failed for good (no socket can be made for the
 * endpoint), after stopping the others. */
int svc_runtime_run(const svc_runtime_t *rt, volatile sig_atomic_t *stop);

#endif
