/* gateway — process-wide settings and the per-thread context every CivetWeb
 * worker thread owns (ZeroMQ sockets, libpq and hiredis connections are one
 * per thread). */
#ifndef PARLEY_GATEWAY_GATEWAY_H
#define PARLEY_GATEWAY_GATEWAY_H

#include "bus/bus.h"
#include "core/arena.h"
#include "db/db.h"
#include "kv/kv.h"

struct mg_connection;

typedef struct {
    char broker[256];
    const char *pg_dsn;
    const char *redis_url;
    int bus_timeout_ms; /* per attempt; an idempotent call may try twice */
} gw_config_t;

extern gw_config_t gw_config;

typedef struct {
    bus_client_t *bus;
    db_t *db;
    kv_t *kv;
    arena_t *arena; /* reset at the start of every request */
} gw_thread_t;

/* A thread context connected per gw_config, or NULL (logged). */
gw_thread_t *gw_thread_new(void);
void gw_thread_destroy(gw_thread_t **self);

/* The CivetWeb handler for every URI. Returns the HTTP status. */
int gw_handle(struct mg_connection *conn, void *cbdata);

#endif
