/* ratelimit — request limits per API client.
 *
 * Every authenticated /v1 request counts against its client's bucket. The
 * bucket lives in Redis (kv_gcra: GCRA, atomic, Redis's clock), so every
 * gateway instance enforces one shared limit. When Redis fails, requests are
 * still served: each gateway process falls back to a local in-process GCRA
 * limiter with the same policy (so N instances admit up to N times the limit
 * until Redis returns), logs the transition once, and shows it in /readyz
 * and /metrics. The first request that Redis answers again switches back.
 *
 * The policy (PARLEY_RATE_LIMITS) gives each role `limit/period_s[/burst]`,
 * e.g. "caseworker=600/60,partner_agency=120/60/20,default=300/60": limit
 * requests per period on average, at most burst at once (default: limit).
 * A role not listed gets `default`; a client's rule is the most generous of
 * its roles' (highest rate, then highest burst).
 */
#ifndef PARLEY_GATEWAY_RATELIMIT_H
#define PARLEY_GATEWAY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/http.h"
#include "kv/kv.h"

#define RATELIMIT_DEFAULT_SPEC "consortium_admin=600/60,caseworker=600/60,partner_agency=120/60,default=300/60"
#define RATELIMIT_N_ROLES 6 /* the role bits of roles.h */

typedef struct {
    long limit;    /* requests ... */
    long period_s; /* ... per this many seconds */
    long burst;    /* at most this many at once */
} ratelimit_rule_t;

typedef struct {
    ratelimit_rule_t role[RATELIMIT_N_ROLES]; /* by bit position; limit 0: not set */
    ratelimit_rule_t fallback;                /* "default" */
} ratelimit_policy_t;

/* Parses spec (NULL or empty: RATELIMIT_DEFAULT_SPEC; a spec without
 * "default" keeps the built-in default of 300/60). Returns 0, or -1 with a
 * sentence in err (cap bytes) naming the bad entry: an unknown role, a role
 * given twice, a number that is not a whole number in range (limit and
 * burst 1..1000000, period 1..86400 s). */
int ratelimit_policy_parse(const char *spec, ratelimit_policy_t *out, char *err, size_t cap);

/* The rule for a client holding the role bits roles. */
ratelimit_rule_t ratelimit_policy_rule(const ratelimit_policy_t *p, unsigned roles);

/* The local limiter: GCRA states in a fixed open-addressing table under one
 * mutex. Thread-safe. A client whose bucket is full again takes no room (its
 * slot may be reused), so the table holds only recently active clients; when
 * it is full of active ones, the fullest bucket is given up. */
typedef struct ratelimit_local ratelimit_local_t;

/* A table for about capacity active clients (rounded up to a power of two).
 * NULL when out of memory. */
ratelimit_local_t *ratelimit_local_new(size_t capacity);
void ratelimit_local_destroy(ratelimit_local_t **self);

/* Counts one request of client_id under rule at now_us (a monotonic clock,
 * microseconds) and fills out, exactly as kv_gcra would. */
void ratelimit_local_take(ratelimit_local_t *self, const char *client_id, const ratelimit_rule_t *rule,
                          int64_t now_us, kv_rate_t *out);

/* Sets the process's policy from spec (see ratelimit_policy_parse) and makes
 * the local limiter. Returns 0, or -1 (logged). Call once, before serving. */
int ratelimit_init(const char *spec);

/* Counts the request of client_id (roles: its role bits) with kv (the
 * calling thread's), falling back to the local limiter when Redis fails.
 * Fills *out with a copy of *h whose extra headers carry RateLimit-Limit,
 * RateLimit-Remaining, RateLimit-Reset and RateLimit-Policy (in h's arena).
 * Returns 0 when the request may go on (answer it with *out), or the status
 * it has already answered: 429 with Retry-After. */
int ratelimit_apply(kv_t *kv, const http_ctx_t *h, const char *client_id, unsigned roles, http_ctx_t *out);

/* Tells the limiter what a real Redis call just showed (a call skipped for a
 * reconnect backoff shows nothing). On a change of state, logs it once and
 * switches between Redis and the local limiter. */
void ratelimit_redis_seen(bool up);

/* Whether requests are limited locally now (Redis was last seen failing). */
bool ratelimit_is_local(void);

#endif
