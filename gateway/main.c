/* parley-gateway: the REST API in front of the broker. */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/auth.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "gateway/auth.h"
#include "gateway/backend.h"
#include "gateway/conns.h"
#include "gateway/read_deadline.h"
#include "gateway/cors.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"
#include "gateway/openapi.h"
#include "gateway/ratelimit.h"

static volatile sig_atomic_t stop;

static void *init_thread(const struct mg_context *ctx, int thread_type) {
    (void)ctx;
    return thread_type == 1 ? gw_thread_new() : NULL; /* 1: a request worker */
}

static void exit_thread(const struct mg_context *ctx, int thread_type, void *p) {
    (void)ctx;
    (void)thread_type;
    gw_thread_t *t = p;
    gw_thread_destroy(&t);
}

static void connection_close(const struct mg_connection *conn) {
    const struct mg_request_info *ri = mg_get_request_info(conn);
    conns_closed(ri->remote_addr, ri->remote_port);
}

static int log_message(const struct mg_connection *conn, const char *message) {
    (void)conn;
    log_warn(NULL, "civetweb: %s", message);
    return 1;
}

int main(int argc, char **argv) {
    log_init("gateway");
    /* `parley-gateway openapi`: print the API's OpenAPI document and exit. */
    if (argc == 2 && strcmp(argv[1], "openapi") == 0)
        return openapi_write(stdout, config_str("PARLEY_OPENAPI_OVERLAY", OPENAPI_OVERLAY_DEFAULT)) == 0 ? 0 : 1;
    if (argc != 1) {
        fprintf(stderr, "usage: parley-gateway          serve the API (settings from the environment)\n"
                        "       parley-gateway openapi  print the OpenAPI document\n");
        return 2;
    }
    if (bus_auth_init("gateway") != 0) return 1;
    config_broker_endpoint(gw_config.broker, sizeof gw_config.broker);
    gw_config.pg_dsn = config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_gateway");
    gw_config.redis_url = config_str("PARLEY_REDIS_URL", "redis://127.0.0.1:56379");
    gw_config.bus_timeout_ms = (int)config_long("PARLEY_BUS_TIMEOUT_MS", 2000, 50, 60000);
    gw_config.backend_wait_ms = (int)config_long("PARLEY_GATEWAY_BACKEND_WAIT_MS", 2000, 1, 60000);
    long request_timeout = config_long("PARLEY_HTTP_REQUEST_TIMEOUT_MS", 5000, 100, 60000);
    gw_config.body_timeout_ms = (int)config_long("PARLEY_HTTP_BODY_TIMEOUT_MS", 5000, 100, 60000);
    long backends = config_long("PARLEY_GATEWAY_BACKENDS", 32, 1, 1024);
    conns_init((int)config_long("PARLEY_HTTP_MAX_CONNS_PER_ADDR", 64, 0, 100000));
    if (backend_pool_init((size_t)backends) != 0 || read_deadline_start() != 0) return 1;
    if (auth_init(getenv("PARLEY_KEY_SECRET")) != 0) {
        log_error(NULL, "PARLEY_KEY_SECRET must be at least 64 hex digits");
        return 1;
    }
    if (ratelimit_init(getenv("PARLEY_RATE_LIMITS")) != 0 || metrics_init() != 0) return 1;
    if (ratelimit_sync_start(gw_config.redis_url, (int)config_long("PARLEY_RATELIMIT_SYNC_MS", 250, 10, 5000)) != 0)
        return 1;

    cors_init(config_str("PARLEY_CORS_ORIGINS", ""));

    /* Migrations first: every instance tries, the advisory lock serialises. */
    db_t *db = db_new(gw_config.pg_dsn);
    int tries = 0;
    while (db_migrate(db, config_str("PARLEY_MIGRATIONS_DIR", "gateway/migrations"), "gateway") != 0) {
        if (++tries == 30) {
            log_error(NULL, "cannot apply the gateway's migrations; giving up");
            db_destroy(&db);
            return 1;
        }
        sleep(1);
    }
    db_destroy(&db);

    /* The OpenAPI document is built once, here. If it cannot be (logged), the
     * API still serves and /v1/openapi.json answers 503. */
    openapi_init(config_str("PARLEY_OPENAPI_OVERLAY", OPENAPI_OVERLAY_DEFAULT));

    char ports[300], threads[16], request_ms[16], keep_alive_ms[16];
    snprintf(ports, sizeof ports, "%s:%ld", config_str("PARLEY_HTTP_BIND", "127.0.0.1"),
             config_long("PARLEY_HTTP_PORT", 8080, 1, 65535));
    snprintf(threads, sizeof threads, "%ld", config_long("PARLEY_HTTP_THREADS", 512, 2, 4096));
    snprintf(request_ms, sizeof request_ms, "%ld", request_timeout);
    snprintf(keep_alive_ms, sizeof keep_alive_ms, "%ld", config_long("PARLEY_HTTP_KEEP_ALIVE_MS", 5000, 0, 60000));
    /* No document_root, no websockets, no form API: CivetWeb 1.15's known
     * overflows live there; gw_handle answers every request from
     * begin_request, so none of CivetWeb's own handlers ever runs. One
     * connection per thread: threads are many and cheap (100 KiB stacks)
     * and borrow the scarce connections from the backend pool. The headers
     * must all arrive within request_timeout_ms of the request's start
     * (CivetWeb counts from its first byte), the body within
     * PARLEY_HTTP_BODY_TIMEOUT_MS (gateway/dispatch.c). The path is left
     * percent-encoded: the gateway decodes each parameter exactly once. */
    const char *options[] = {"listening_ports", ports,
                             "num_threads", threads,
                             "tcp_nodelay", "1",
                             "enable_keep_alive", "yes",
                             "keep_alive_timeout_ms", keep_alive_ms,
                             "request_timeout_ms", request_ms,
                             "decode_url", "no",
                             "listen_backlog", "1024",
                             /* CORS is ours (gateway/cors.c), from an allow-list:
                              * CivetWeb's own would answer preflights with "*". */
                             "access_control_allow_origin", "",
                             "access_control_allow_methods", "",
                             NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.init_thread = init_thread;
    cb.exit_thread = exit_thread;
    cb.log_message = log_message;
    cb.begin_request = gw_handle;
    cb.connection_close = connection_close;

    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    signal(SIGPIPE, SIG_IGN);

    mg_init_library(0);
    struct mg_context *ctx = mg_start(&cb, NULL, options);
    if (ctx == NULL) {
        log_error(NULL, "cannot listen on %s", ports);
        mg_exit_library();
        return 1;
    }
    log_info(NULL, "listening on %s with %s threads", ports, threads);
    while (!stop) sleep(1); /* a signal cuts the sleep short */
    log_info(NULL, "stopping");
    mg_stop(ctx);
    mg_exit_library();
    backend_pool_destroy();
    read_deadline_stop();
    ratelimit_sync_stop();
    return 0;
}
