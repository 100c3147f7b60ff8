#include "gateway/health.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/metrics.h"
#include "gateway/ratelimit.h"
#include "gateway/routes.h"

/* The services the route table sends requests to, each once, in table
 * order: those are what readiness needs. A service with no route (one not
 * built yet) is not asked about, so it is never reported as ready. */
static size_t routed_services(const char **out, size_t cap) {
    size_t n_routes, n = 0;
    const route_t *table = routes_table(&n_routes);
    for (size_t i = 0; i < n_routes; i++) {
        if (strcmp(table[i].service, "gateway") == 0) continue; /* served in process */
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++) seen = strcmp(out[k], table[i].service) == 0;
        if (!seen && n < cap) out[n++] = table[i].service;
    }
    return n;
}

int health_live(const http_ctx_t *h) {
    static const char body[] = "{\"status\":\"ok\"}";
    return http_send(h, 200, "application/json", body, sizeof body - 1);
}

int health_ready(gw_thread_t *t, const http_ctx_t *h) {
    int redis_rc = kv_check(t->kv);
    bool pg = db_ping(t->db), redis = redis_rc == 0, broker = true, served = true;
    const char *services[16];
    size_t n = routed_services(services, sizeof services / sizeof services[0]);
    json_t *svc = json_object(), *missing = json_array();
    for (size_t i = 0; i < n; i++) {
        int r = broker ? bus_client_service_ready(t->bus, services[i], 500) : -ETIMEDOUT;
        if (r < 0) broker = false;
        json_object_set_new(svc, services[i], json_boolean(r == 1));
        if (r != 1) {
            served = false;
            json_array_append_new(missing, json_string(services[i]));
        }
    }
    metrics_dependency_set(METRICS_DEP_POSTGRES, pg);
    metrics_dependency_set(METRICS_DEP_BROKER, broker);
    /* A check skipped for a backoff shows nothing new; a real one also
     * switches the rate limiter back when Redis returns. */
    if (redis_rc != -EAGAIN) ratelimit_redis_seen(redis);
    /* Redis holds nothing that requests need (the rate limiter falls back to
     * a local one), so without it the gateway still serves: "degraded", 200.
     * The broker, PostgreSQL and a worker of every routed service are
     * required: without one, its routes would answer 503, so a load
     * balancer should send this instance nothing. */
    bool ready = pg && broker && served;
    json_t *checks = json_pack("{s:s, s:s, s:s}", "broker", broker ? "up" : "down", "postgres", pg ? "up" : "down",
                               "redis", redis ? "up" : "down");
    const char *state = !ready ? "unavailable" : redis ? "ready" : "degraded";
    json_t *o = json_pack("{s:s, s:o, s:o, s:s}", "status", state, "checks", checks, "services", svc, "rateLimiter",
                          ratelimit_is_local() ? "local" : "redis");
    if (json_array_size(missing) > 0) json_object_set(o, "missingServices", missing);
    json_decref(missing);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int status = ready ? 200 : 503;
    http_ctx_t hx = *h;
    if (!ready) hx.extra_headers = "Retry-After: 1\r\n";
    int rc = http_send(&hx, status, "application/json", text ? text : "{}", text ? strlen(text) : 2);
    free(text);
    return rc;
}
