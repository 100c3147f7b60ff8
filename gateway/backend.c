#include "gateway/backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "gateway/admin_api.h"
#include "gateway/audit.h"
#include "gateway/auth.h"
#include "gateway/idempotency.h"

struct gw_backend {
    bus_client_t *bus;
    db_t *db;
    kv_t *kv;
    struct gw_backend *next;     /* in the free list */
    struct gw_backend *all_next; /* in the list of every backend made */
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_freed = PTHREAD_COND_INITIALIZER;
static gw_backend_t *free_list; /* most recently returned first: warm connections are reused */
static gw_backend_t *all;       /* every backend made, for destroy */
static size_t pool_size, made, lent; /* made counts those being made too */

int backend_pool_init(size_t size) {
    if (size == 0) return -1;
    pthread_mutex_lock(&pool_lock);
    all = NULL;
    pool_size = size;
    made = lent = 0;
    free_list = NULL;
    pthread_mutex_unlock(&pool_lock);
    return 0;
}

static void backend_free(gw_backend_t **b) {
    if (*b == NULL) return;
    bus_client_destroy(&(*b)->bus);
    db_destroy(&(*b)->db);
    kv_destroy(&(*b)->kv);
    free(*b);
    *b = NULL;
}

void backend_pool_destroy(void) {
    pthread_mutex_lock(&pool_lock);
    while (all != NULL) {
        gw_backend_t *b = all;
        all = b->all_next;
        backend_free(&b);
    }
    free_list = NULL;
    pool_size = made = lent = 0;
    pthread_mutex_unlock(&pool_lock);
}

/* A new backend with every statement any module runs on it registered, or
 * NULL (logged). Connections are made lazily, on first use. */
static gw_backend_t *backend_new(void) {
    const db_stmt_t *(*const sets[])(size_t *) = {auth_statements, admin_api_statements, idem_statements,
                                                  audit_statements};
    gw_backend_t *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    b->bus = bus_client_new(gw_config.broker);
    b->db = db_new(gw_config.pg_dsn);
    b->kv = kv_new(gw_config.redis_url);
    bool ok = b->bus != NULL && b->db != NULL && b->kv != NULL;
    for (size_t i = 0; ok && i < sizeof sets / sizeof sets[0]; i++) {
        size_t n;
        const db_stmt_t *stmts = sets[i](&n);
        ok = db_register(b->db, stmts, n) == 0;
    }
    if (!ok) {
        log_error(NULL, "cannot set up a gateway backend");
        backend_free(&b);
    }
    return b;
}

static void lend(gw_thread_t *t, gw_backend_t *b) {
    t->backend = b;
    t->bus = b->bus;
    t->db = b->db;
    t->kv = b->kv;
}

int backend_hold(gw_thread_t *t, int wait_ms) {
    if (t->backend != NULL) return 0;
    struct timespec until = clock_timespec_in(CLOCK_REALTIME, wait_ms);
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        if (free_list != NULL) {
            gw_backend_t *b = free_list;
            free_list = b->next;
            b->next = NULL;
            lent++;
            pthread_mutex_unlock(&pool_lock);
            lend(t, b);
            return 0;
        }
        if (made < pool_size) {
            made++; /* reserved; made outside the lock (it allocates; connections come later) */
            lent++;
            pthread_mutex_unlock(&pool_lock);
            gw_backend_t *b = backend_new();
            pthread_mutex_lock(&pool_lock);
            if (b == NULL) {
                made--;
                lent--;
                pthread_mutex_unlock(&pool_lock);
                return -EIO;
            }
            b->all_next = all;
            all = b;
            pthread_mutex_unlock(&pool_lock);
            lend(t, b);
            return 0;
        }
        if (pthread_cond_timedwait(&pool_freed, &pool_lock, &until) == ETIMEDOUT && free_list == NULL) {
            pthread_mutex_unlock(&pool_lock);
            return -ETIMEDOUT;
        }
    }
}

void backend_release(gw_thread_t *t) {
    gw_backend_t *b = t->backend;
    if (b == NULL) return;
    t->backend = NULL;
    t->bus = NULL;
    t->db = NULL;
    t->kv = NULL;
    pthread_mutex_lock(&pool_lock);
    b->next = free_list;
    free_list = b;
    lent--;
    pthread_cond_signal(&pool_freed);
    pthread_mutex_unlock(&pool_lock);
}

void backend_pool_stats(size_t *made_out, size_t *lent_out) {
    pthread_mutex_lock(&pool_lock);
    *made_out = made;
    *lent_out = lent;
    pthread_mutex_unlock(&pool_lock);
}
