#include <stdlib.h>

#include "core/log.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"

gw_config_t gw_config;

gw_thread_t *gw_thread_new(void) {
    gw_thread_t *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    size_t n;
    const db_stmt_t *stmts = auth_statements(&n);
    t->bus = bus_client_new(gw_config.broker);
    t->db = db_new(gw_config.pg_dsn);
    t->kv = kv_new(gw_config.redis_url);
    t->arena = arena_new();
    if (t->bus == NULL || t->db == NULL || t->kv == NULL || t->arena == NULL || db_register(t->db, stmts, n) != 0) {
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
