/* The gateway's registry: fixed tables of atomics, written on the hot path
 * without locks, read when /metrics is scraped. */
#include <civetweb.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "gateway/metrics.h"

#include "gateway/backend.h"
#include "gateway/conns.h"

static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
#define N_METHODS (sizeof method_names / sizeof method_names[0])

/* Every status the gateway answers; anything else counts as "other". */
static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409,
                               411, 412, 413, 415, 422, 429, 499, 500, 501, 503, 504};
#define N_STATUSES (sizeof statuses / sizeof statuses[0] + 1)

/* Slots after the route table's: the open paths gw_handle serves itself,
 * then everything no route matched. */
static const char *const fixed_paths[] = {"/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/docs"};
#define N_FIXED (sizeof fixed_paths / sizeof fixed_paths[0])

#define MAX_SERVICES 16
static const char *const bus_outcomes[] = {"ok", "timeout", "error", "unavailable"};

static struct {
    bool ready;
    const route_t *table;
    size_t n_routes, n_slots; /* n_slots = n_routes + N_FIXED + 1 (unmatched) */
    atomic_uint_least64_t *requests; /* [slot][method][status] */
    metrics_hist_t *durations;       /* [slot][method] */
    const char *services[MAX_SERVICES];
    size_t n_services;
    unsigned char *route_service; /* route index -> services index */
    metrics_hist_t bus[MAX_SERVICES];
    atomic_uint_least64_t bus_calls[MAX_SERVICES][sizeof bus_outcomes / sizeof bus_outcomes[0]];
    atomic_uint_least64_t rejected[2]; /* redis, local */
    atomic_uint_least64_t auth_lookups;
    atomic_uint_least64_t auth_failures[METRICS_N_AUTH_FAILURES];
    atomic_int local_mode;
    atomic_int dep[METRICS_N_DEPS]; /* -1 until first seen, then 0 / 1 */
    atomic_long in_flight;
    double start_time;
    unsigned char token_hash[32];
    bool has_token;
} reg;

static _Thread_local int64_t req_start;
static _Thread_local int req_slot;

static int sha256(const char *s, unsigned char out[32]) {
    unsigned int len = 0;
    return EVP_Digest(s, strlen(s), out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

int metrics_init(void) {
    reg.table = routes_table(&reg.n_routes);
    reg.n_slots = reg.n_routes + N_FIXED + 1;
    reg.requests = calloc(reg.n_slots * N_METHODS * N_STATUSES, sizeof *reg.requests);
    reg.durations = calloc(reg.n_slots * N_METHODS, sizeof *reg.durations);
    reg.route_service = calloc(reg.n_routes + 1, 1);
    if (reg.requests == NULL || reg.durations == NULL || reg.route_service == NULL) {
        log_error(NULL, "cannot allocate the metrics tables");
        return -1;
    }
    for (size_t r = 0; r < reg.n_routes; r++) {
        /* The gateway's own routes are served in process, never over the bus. */
        if (strcmp(reg.table[r].service, "gateway") == 0) continue;
        size_t s = 0;
        while (s < reg.n_services && strcmp(reg.services[s], reg.table[r].service) != 0) s++;
        if (s == reg.n_services && s < MAX_SERVICES) reg.services[reg.n_services++] = reg.table[r].service;
        reg.route_service[r] = (unsigned char)(s < MAX_SERVICES ? s : MAX_SERVICES - 1);
    }
    for (int d = 0; d < METRICS_N_DEPS; d++) atomic_store(&reg.dep[d], -1);
    const char *token = config_str("PARLEY_METRICS_TOKEN", "");
    reg.has_token = *token != '\0' && sha256(token, reg.token_hash) == 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    reg.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    reg.ready = true;
    return 0;
}

int64_t metrics_clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void metrics_request_begin(void) {
    if (!reg.ready) return;
    atomic_fetch_add_explicit(&reg.in_flight, 1, memory_order_relaxed);
    req_start = metrics_clock_ns();
    req_slot = -1;
}

void metrics_request_route(const route_t *route) {
    if (reg.ready && route >= reg.table && route < reg.table + reg.n_routes) req_slot = (int)(route - reg.table);
}

static size_t method_index(const char *m) {
    for (size_t i = 0; i + 1 < N_METHODS; i++)
        if (strcmp(method_names[i], m) == 0) return i;
    return N_METHODS - 1;
}

static size_t status_index(int status) {
    for (size_t i = 0; i + 1 < N_STATUSES; i++)
        if (statuses[i] == status) return i;
    return N_STATUSES - 1;
}

/* The slot of a request no route matched: an open path, or "unmatched". */
static size_t fixed_slot(const char *path) {
    for (size_t i = 0; i < N_FIXED; i++) {
        size_t n = strlen(fixed_paths[i]);
        bool docs = strcmp(fixed_paths[i], "/docs") == 0;
        if (strncmp(path, fixed_paths[i], n) == 0 && (path[n] == '\0' || (docs && path[n] == '/')))
            return reg.n_routes + i;
    }
    return reg.n_slots - 1;
}

void metrics_request_end(const char *method, const char *path, int status) {
    if (!reg.ready) return;
    int64_t ns = metrics_clock_ns() - req_start;
    size_t slot = req_slot >= 0 ? (size_t)req_slot : fixed_slot(path ? path : "");
    size_t m = method_index(method ? method : "");
    atomic_fetch_add_explicit(&reg.requests[(slot * N_METHODS + m) * N_STATUSES + status_index(status)], 1,
                              memory_order_relaxed);
    metrics_hist_observe(&reg.durations[slot * N_METHODS + m], ns);
    atomic_fetch_sub_explicit(&reg.in_flight, 1, memory_order_relaxed);
}

void metrics_bus_observe(const route_t *route, int rc, bool unavailable, int64_t start_ns) {
    if (!reg.ready || route < reg.table || route >= reg.table + reg.n_routes) return;
    size_t s = reg.route_service[route - reg.table];
    metrics_hist_observe(&reg.bus[s], metrics_clock_ns() - start_ns);
    int outcome = rc == 0 ? (unavailable ? 3 : 0) : rc == -ETIMEDOUT ? 1 : 2;
    atomic_fetch_add_explicit(&reg.bus_calls[s][outcome], 1, memory_order_relaxed);
    /* A reply (even an error status) came through the broker; no reply at
     * all means the broker did not even answer UNAVAILABLE at the deadline. */
    metrics_dependency_set(METRICS_DEP_BROKER, rc == 0);
}

void metrics_ratelimit_rejected(bool local) {
    atomic_fetch_add_explicit(&reg.rejected[local ? 1 : 0], 1, memory_order_relaxed);
}

void metrics_auth_lookup(void) { atomic_fetch_add_explicit(&reg.auth_lookups, 1, memory_order_relaxed); }

void metrics_auth_failed(metrics_auth_failure_t why) {
    if (why < METRICS_N_AUTH_FAILURES) atomic_fetch_add_explicit(&reg.auth_failures[why], 1, memory_order_relaxed);
}

void metrics_ratelimit_local_mode(bool local) {
    atomic_store(&reg.local_mode, local ? 1 : 0);
}

/* Called per request (redis, broker): a write only when the value changes,
 * so threads do not bounce the cache line in the steady state. */
void metrics_dependency_set(metrics_dep_t dep, bool up) {
    if (dep >= METRICS_N_DEPS) return;
    if (atomic_load_explicit(&reg.dep[dep], memory_order_relaxed) != (up ? 1 : 0))
        atomic_store_explicit(&reg.dep[dep], up ? 1 : 0, memory_order_relaxed);
}

/* ---- /metrics ---------------------------------------------------------- */

/* Loopback without a proxy's forwarding header: a reverse proxy on the same
 * host (nginx in front, as the README shows) connects from 127.0.0.1 too, so
 * a forwarded request is treated as coming from outside. */
static bool is_local_peer(const struct mg_connection *conn) {
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *a = ri->remote_addr;
    bool loopback = strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0 || strcmp(a, "::ffff:127.0.0.1") == 0;
    return loopback && mg_get_header(conn, "X-Forwarded-For") == NULL && mg_get_header(conn, "Forwarded") == NULL &&
           mg_get_header(conn, "X-Real-IP") == NULL;
}

/* Compares digests, so neither the token's bytes nor its length leak
 * through timing. */
static bool has_token(const struct mg_connection *conn) {
    const char *auth = mg_get_header(conn, "Authorization");
    unsigned char got[32];
    if (!reg.has_token || auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || sha256(auth + 7, got) != 0)
        return false;
    return CRYPTO_memcmp(got, reg.token_hash, sizeof got) == 0;
}

static const char *slot_name(size_t slot) {
    if (slot < reg.n_routes) return reg.table[slot].path;
    if (slot < reg.n_routes + N_FIXED) return fixed_paths[slot - reg.n_routes];
    return "unmatched";
}

static void write_http(metrics_text_t *t) {
    char route[300], labels[400];
    metrics_text_family(t, "parley_http_requests_total", "counter",
                        "HTTP requests answered, by route template, method and status.");
    for (size_t s = 0; s < reg.n_slots; s++) {
        metrics_escape_label(slot_name(s), route, sizeof route);
        for (size_t m = 0; m < N_METHODS; m++)
            for (size_t k = 0; k < N_STATUSES; k++) {
                uint64_t v = atomic_load_explicit(&reg.requests[(s * N_METHODS + m) * N_STATUSES + k],
                                                  memory_order_relaxed);
                if (v == 0) continue;
                char status[8];
                if (k + 1 < N_STATUSES) snprintf(status, sizeof status, "%d", statuses[k]);
                else snprintf(status, sizeof status, "other");
                snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",status=\"%s\"", route, method_names[m],
                         status);
                metrics_text_counter(t, "parley_http_requests_total", labels, v);
            }
    }
    metrics_text_family(t, "parley_http_request_duration_seconds", "histogram",
                        "Time from a request's arrival to its answer, by route template and method.");
    for (size_t s = 0; s < reg.n_slots; s++) {
        metrics_escape_label(slot_name(s), route, sizeof route);
        for (size_t m = 0; m < N_METHODS; m++) {
            const metrics_hist_t *h = &reg.durations[s * N_METHODS + m];
            if (metrics_hist_count(h) == 0) continue;
            snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\"", route, method_names[m]);
            metrics_text_histogram(t, "parley_http_request_duration_seconds", labels, h);
        }
    }
    metrics_text_family(t, "parley_http_requests_in_flight", "gauge", "Requests being served now.");
    metrics_text_gauge(t, "parley_http_requests_in_flight", "", (double)atomic_load(&reg.in_flight));
    metrics_text_family(t, "parley_http_connections_open", "gauge", "HTTP connections open now.");
    metrics_text_gauge(t, "parley_http_connections_open", "", (double)conns_open());
    metrics_text_family(t, "parley_http_connections_refused_total", "counter",
                        "Connections refused because their address had PARLEY_HTTP_MAX_CONNS_PER_ADDR open.");
    metrics_text_counter(t, "parley_http_connections_refused_total", "", conns_refused());
    size_t made, lent;
    backend_pool_stats(&made, &lent);
    metrics_text_family(t, "parley_gateway_backends", "gauge",
                        "Backends (broker, PostgreSQL and Redis connections) made, and lent to requests now.");
    metrics_text_gauge(t, "parley_gateway_backends", "state=\"made\"", (double)made);
    metrics_text_gauge(t, "parley_gateway_backends", "state=\"lent\"", (double)lent);
}

static void write_bus(metrics_text_t *t) {
    char svc[100], labels[200];
    metrics_text_family(t, "parley_bus_roundtrip_seconds", "histogram",
                        "Time of one bus call through the broker to a service and back, retry included.");
    for (size_t s = 0; s < reg.n_services; s++) {
        metrics_escape_label(reg.services[s], svc, sizeof svc);
        snprintf(labels, sizeof labels, "service=\"%s\"", svc);
        metrics_text_histogram(t, "parley_bus_roundtrip_seconds", labels, &reg.bus[s]);
    }
    metrics_text_family(t, "parley_bus_requests_total", "counter",
                        "Bus calls by service and outcome: ok (the service replied), unavailable (not served: "
                        "no worker took it, or the service could not), timeout, error.");
    for (size_t s = 0; s < reg.n_services; s++) {
        metrics_escape_label(reg.services[s], svc, sizeof svc);
        for (size_t o = 0; o < sizeof bus_outcomes / sizeof bus_outcomes[0]; o++) {
            snprintf(labels, sizeof labels, "service=\"%s\",outcome=\"%s\"", svc, bus_outcomes[o]);
            metrics_text_counter(t, "parley_bus_requests_total", labels, atomic_load(&reg.bus_calls[s][o]));
        }
    }
}

static void write_health(metrics_text_t *t) {
    static const char *const deps[] = {"redis", "postgres", "broker"};
    metrics_text_family(t, "parley_ratelimit_rejections_total", "counter",
                        "Requests refused with 429, by the limiter that refused them.");
    metrics_text_counter(t, "parley_ratelimit_rejections_total", "limiter=\"redis\"", atomic_load(&reg.rejected[0]));
    metrics_text_counter(t, "parley_ratelimit_rejections_total", "limiter=\"local\"", atomic_load(&reg.rejected[1]));
    metrics_text_family(t, "parley_auth_lookups_total", "counter",
                        "API keys whose client was read from PostgreSQL (not in this process's caches).");
    metrics_text_counter(t, "parley_auth_lookups_total", "", atomic_load(&reg.auth_lookups));
    static const char *const why[] = {"malformed", "invalid", "throttled"};
    metrics_text_family(t, "parley_auth_failures_total", "counter",
                        "Requests with a key that failed authentication, by reason (throttled: refused unchecked).");
    for (int i = 0; i < METRICS_N_AUTH_FAILURES; i++) {
        char labels[40];
        snprintf(labels, sizeof labels, "reason=\"%s\"", why[i]);
        metrics_text_counter(t, "parley_auth_failures_total", labels, atomic_load(&reg.auth_failures[i]));
    }
    metrics_text_family(t, "parley_ratelimit_local_mode", "gauge",
                        "1 while Redis is unavailable and this process limits requests on its own.");
    metrics_text_gauge(t, "parley_ratelimit_local_mode", "", atomic_load(&reg.local_mode));
    metrics_text_family(t, "parley_dependency_up", "gauge",
                        "Whether a dependency answered when last used or checked (/readyz).");
    for (int d = 0; d < METRICS_N_DEPS; d++) {
        int v = atomic_load(&reg.dep[d]);
        if (v < 0) continue; /* not seen yet */
        char labels[40];
        snprintf(labels, sizeof labels, "dependency=\"%s\"", deps[d]);
        metrics_text_gauge(t, "parley_dependency_up", labels, v);
    }
    metrics_text_family(t, "parley_gateway_start_time_seconds", "gauge", "When this process started, Unix time.");
    metrics_text_gauge(t, "parley_gateway_start_time_seconds", "", reg.start_time);
}

int metrics_serve(const http_ctx_t *h) {
    if (!reg.ready || !(is_local_peer(h->conn) || has_token(h->conn)))
        return http_problem_as(h, BUS_PROBLEM_NO_ROUTE, NULL, NULL, NULL);
    metrics_text_t t = {0};
    write_http(&t);
    write_bus(&t);
    write_health(&t);
    int rc = t.oom ? http_problem(h, 500, "out of memory", NULL, NULL)
                   : http_send(h, 200, "text/plain; version=0.0.4; charset=utf-8", t.data, t.len);
    metrics_text_free(&t);
    return rc;
}
