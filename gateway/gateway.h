/* gateway — process-wide settings and the per-thread context every CivetWeb
 * worker thread owns: its arena, and the backend (broker socket, libpq and
 * hiredis connections) it borrows from the pool while it works on a request
 * (gateway/backend.h). */
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
    int backend_wait_ms; /* how long a request waits for a free backend */
    int body_timeout_ms; /* the whole body must arrive within this */
} gw_config_t;

extern gw_config_t gw_config;

typedef struct gw_backend gw_backend_t;

typedef struct {
    /* The borrowed backend's connections: NULL unless the thread holds one
     * (backend_hold .. backend_release). */
    bus_client_t *bus;
    db_t *db;
    kv_t *kv;
    gw_backend_t *backend;
    arena_t *arena; /* reset after every request */
} gw_thread_t;

/* A thread context (with no backend), or NULL (logged). */
gw_thread_t *gw_thread_new(void);
void gw_thread_destroy(gw_thread_t **self);

/* Answers every request (CivetWeb's begin_request callback). Returns the
 * HTTP status. */
int gw_handle(struct mg_connection *conn);

#endif
