/* metrics — the gateway's Prometheus metrics, served at /metrics in the
 * text exposition format 0.0.4.
 *
 * Every counter and histogram bucket is a C11 atomic in a fixed table sized
 * once at start (routes x methods x statuses), so recording a request takes
 * no lock and allocates nothing. Requests are labelled by route TEMPLATE
 * ("/v1/cases/{id}", never the path with its ids: label values must stay a
 * small fixed set); requests no route matched are route="unmatched".
 *
 * /metrics answers a peer on loopback (127.0.0.1, ::1) that came without a
 * proxy's forwarding header, or a request with
 * `Authorization: Bearer $PARLEY_METRICS_TOKEN` (compared in constant time);
 * anyone else gets 404, as if it did not exist.
 */
#ifndef PARLEY_GATEWAY_METRICS_H
#define PARLEY_GATEWAY_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/http.h"
#include "gateway/routes.h"

/* ---- the exposition text (pure; unit-tested) ------------------------------ */

#define METRICS_N_BUCKETS 13 /* upper bounds in seconds, plus +Inf */

/* Bucket upper bounds, seconds: 1 ms .. 10 s. */
extern const double metrics_buckets[METRICS_N_BUCKETS];

/* A histogram of durations. Buckets are stored non-cumulative (one atomic
 * increment per observation) and summed when written. Zero-initialise. */
typedef struct {
    atomic_uint_least64_t bucket[METRICS_N_BUCKETS + 1]; /* the last is +Inf */
    atomic_uint_least64_t sum_ns;
} metrics_hist_t;

void metrics_hist_observe(metrics_hist_t *h, int64_t ns);
uint64_t metrics_hist_count(const metrics_hist_t *h);

/* A growing text buffer; on out of memory it stops growing and sets oom. */
typedef struct {
    char *data;
    size_t len, cap;
    bool oom;
} metrics_text_t;

void metrics_text_free(metrics_text_t *t);
void metrics_text_printf(metrics_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes value into out (cap bytes, NUL-terminated, truncated to fit)
 * escaped as a label value: backslash, double quote and newline as \\, \"
 * and \n. Returns the length written. */
size_t metrics_escape_label(const char *value, char *out, size_t cap);

/* "# HELP name help" (help escaped) and "# TYPE name type". */
void metrics_text_family(metrics_text_t *t, const char *name, const char *type, const char *help);

/* One sample line, "name{labels} value"; labels is `k="v",...` already
 * escaped, or "" for none. */
void metrics_text_counter(metrics_text_t *t, const char *name, const char *labels, uint64_t value);
void metrics_text_gauge(metrics_text_t *t, const char *name, const char *labels, double value);

/* name_bucket{labels,le="..."} cumulative counts, name_sum and name_count. */
void metrics_text_histogram(metrics_text_t *t, const char *name, const char *labels, const metrics_hist_t *h);

/* ---- the gateway's registry ------------------------------------------------ */

typedef enum { METRICS_DEP_REDIS, METRICS_DEP_POSTGRES, METRICS_DEP_BROKER, METRICS_N_DEPS } metrics_dep_t;

/* Sizes the tables from routes_table() and reads PARLEY_METRICS_TOKEN.
 * Returns 0 or -1 (out of memory, logged). Call once before serving; until
 * then every recording function does nothing. */
int metrics_init(void);

/* A monotonic clock in nanoseconds, for the durations below. */
int64_t metrics_clock_ns(void);

/* The request this thread is serving: begin at its start, route once the
 * route table matched it, end with its status when answered. */
void metrics_request_begin(void);
void metrics_request_route(const route_t *route);
void metrics_request_end(const char *method, const char *path, int status);

/* One bus_client_call of route's service that started at start_ns and
 * returned rc (0: a reply came, which also shows the broker is up);
 * unavailable when that reply was UNAVAILABLE (no worker took the request:
 * not an "ok" outcome). */
void metrics_bus_observe(const route_t *route, int rc, bool unavailable, int64_t start_ns);

void metrics_ratelimit_rejected(bool local);
/* A look-up of an API key's client in PostgreSQL (a cache miss), and an
 * authentication that failed (gateway/auth.h: malformed, invalid, throttled). */
typedef enum {
    METRICS_AUTH_MALFORMED,
    METRICS_AUTH_INVALID,
    METRICS_AUTH_THROTTLED,
    METRICS_N_AUTH_FAILURES
} metrics_auth_failure_t;
void metrics_auth_lookup(void);
void metrics_auth_failed(metrics_auth_failure_t why);
void metrics_ratelimit_local_mode(bool local);
void metrics_dependency_set(metrics_dep_t dep, bool up);

/* Answers GET /metrics (or 404 for a caller not allowed to see it). */
int metrics_serve(const http_ctx_t *h);

#endif
