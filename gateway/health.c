#include "gateway/health.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/metrics.h"
#include "gateway/ratelimit.h"

static const char *const services[] = {"intake", "matching", "scheduling", "notify", "training", "feedback"};

int health_live(const http_ctx_t *h) {
    static const char body[] = "{\"status\":\"ok\"}";
    return http_send(h, 200, "application/json", body, sizeof body - 1);
}

int health_ready(gw_thread_t *t, const http_ctx_t *h) {
    int redis_rc = kv_check(t->kv);
    bool pg = db_ping(t->db), redis = redis_rc == 0, broker = true;
    json_t *svc = json_object();
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
        int r = broker ? bus_client_service_ready(t->bus, services[i], 500) : -ETIMEDOUT;
        if (r < 0) broker = false;
        json_object_set_new(svc, services[i], json_boolean(r == 1));
    }
    metrics_dependency_set(METRICS_DEP_POSTGRES, pg);
    metrics_dependency_set(METRICS_DEP_BROKER, broker);
    /* A check skipped for a backoff shows nothing new; a real one also
     * switches the rate limiter back when Redis returns. */
    if (redis_rc != -EAGAIN) ratelimit_redis_seen(redis);
    /* Redis holds nothing that requests need (the rate limiter falls back to
     * a local one), so without it the gateway still serves: "degraded", 200.
     * The broker and PostgreSQL are required. */
    bool ready = pg && broker;
    json_t *checks = json_pack("{s:s, s:s, s:s}", "broker", broker ? "up" : "down", "postgres", pg ? "up" : "down",
                               "redis", redis ? "up" : "down");
    const char *state = !ready ? "unavailable" : redis ? "ready" : "degraded";
    json_t *o = json_pack("{s:s, s:o, s:o, s:s}", "status", state, "checks", checks, "services", svc, "rateLimiter",
                          ratelimit_is_local() ? "local" : "redis");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int status = ready ? 200 : 503;
    http_ctx_t hx = *h;
    if (!ready) hx.extra_headers = "Retry-After: 1\r\n";
    int rc = http_send(&hx, status, "application/json", text ? text : "{}", text ? strlen(text) : 2);
    free(text);
    return rc;
}
