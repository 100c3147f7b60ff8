#include <stdlib.h>

#include "core/log.h"
#include "gateway/admin_api.h"
#include "gateway/audit.h"
#include "gateway/auth.h"
#include "gateway/idempotency.h"
#include "gateway/gateway.h"

gw_config_t gw_config;

gw_thread_t *gw_thread_new(void) {
    gw_thread_t *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    /* Every statement any module runs on the thread's connection. */
    const db_stmt_t *(*const sets[])(size_t *) = {auth_statements, admin_api_statements, idem_statements,
                                                  audit_statements};
    t->bus = bus_client_new(gw_config.broker);
    t->db = db_new(gw_config.pg_dsn);
    t->kv = kv_new(gw_config.redis_url);
    t->arena = arena_new();
    bool ok = t->bus != NULL && t->db != NULL && t->kv != NULL && t->arena != NULL;
    for (size_t i = 0; ok && i < sizeof sets / sizeof sets[0]; i++) {
        size_t n;
        const db_stmt_t *stmts = sets[i](&n);
        ok = db_register(t->db, stmts, n) == 0;
    }
    if (!ok) {
        log_error(NULL, "cannot set up a gateway thread");
        gw_thread_destroy(&t);
    }
    return t;
}

void gw_thread_destroy(gw_thread_t **self) {
    if (self == NULL || *self == NULL) return;
    bus_client_destroy(&(*self)->bus);
    db_destroy(&(*self)->db);
    kv_destroy(&(*self)->kv);
    arena_destroy(&(*self)->arena);
    free(*self);
    *self = NULL;
}
