#include "svc/runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"

typedef struct {
    const svc_runtime_t *rt;
    volatile sig_atomic_t *stop; /* the run's: set on the signal, or when a thread fails */
    pthread_t thread;
    bool started;
    atomic_bool ended;
    int status;
} handler_thread_t;

int svc_runtime_threads(void) { return (int)config_long("PARLEY_WORKER_THREADS", 4, 1, SVC_RUNTIME_MAX_THREADS); }

static void *handler_main(void *arg) {
    handler_thread_t *h = arg;
    const svc_runtime_t *rt = h->rt;
    h->status = -1;
    void *ctx = rt->ctx_new(rt->arg);
    if (ctx != NULL) {
        bus_worker_t *w = bus_worker_new(rt->endpoint, rt->service, rt->methods, rt->n_methods, ctx);
        if (w != NULL) h->status = bus_worker_run(w, h->stop);
        bus_worker_destroy(&w);
        rt->ctx_destroy(ctx);
    }
    atomic_store(&h->ended, true);
    return NULL;
}

int svc_runtime_run(const svc_runtime_t *rt, volatile sig_atomic_t *stop) {
    int n = rt->threads < 1 ? 1 : rt->threads > SVC_RUNTIME_MAX_THREADS ? SVC_RUNTIME_MAX_THREADS : rt->threads;
    /* The threads watch this flag rather than the signal's, so that one
     * thread failing for good stops the others too. One run a process. */
    static volatile sig_atomic_t run_stop;
    run_stop = 0;
    handler_thread_t *hs = calloc((size_t)n, sizeof *hs);
    if (hs == NULL) return -1;
    int started = 0;
    for (int i = 0; i < n; i++) {
        hs[i].rt = rt;
        hs[i].stop = &run_stop;
        atomic_init(&hs[i].ended, false);
        if (pthread_create(&hs[i].thread, NULL, handler_main, &hs[i]) == 0) {
            hs[i].started = true;
            started++;
        } else {
            log_error(NULL, "%s: cannot start handler thread %d", rt->service, i + 1);
        }
    }
    if (started > 0) log_info(NULL, "%s: serving with %d handler threads", rt->service, started);
    bool failed = started == 0;
    while (!*stop && !failed) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        for (int i = 0; i < n && !failed; i++)
            if (hs[i].started && atomic_load(&hs[i].ended)) {
                log_error(NULL, "%s: handler thread %d ended on its own; stopping", rt->service, i + 1);
                failed = true;
            }
    }
    __atomic_store_n(&run_stop, 1, __ATOMIC_RELEASE); /* the threads read it atomically (bus_worker_run) */
    for (int i = 0; i < n; i++)
        if (hs[i].started) pthread_join(hs[i].thread, NULL);
    free(hs);
    return failed ? -1 : 0;
}

int svc_runtime_migrate(const char *dsn, const char *service, volatile sig_atomic_t *stop) {
    db_t *db = db_new(dsn);
    if (db == NULL) return -1;
    char fallback[128];
    snprintf(fallback, sizeof fallback, "services/%s/migrations", service);
    const char *dir = config_str("PARLEY_MIGRATIONS_DIR", fallback);
    int rc = 0;
    for (int tries = 0; db_migrate(db, dir, service) != 0; tries++) {
        if (tries == 30 || *stop) {
            log_error(NULL, "cannot apply the %s migrations; giving up", service);
            rc = -1;
            break;
        }
        sleep(1);
    }
    db_destroy(&db);
    return rc;
}
