/* ratelimit — request limits per API client.
 *
 * Every authenticated /v1 request counts against its client's bucket (GCRA).
 * The decision is made in process, with no round trip: each gateway keeps
 * its clients' buckets, and a sync thread (ratelimit_sync_start) shares them
 * through Redis every PARLEY_RATELIMIT_SYNC_MS (250 ms): in one pipelined
 * round trip it charges each active client's bucket in Redis (kv_gcra_charge,
 * Redis's clock) with what this process admitted since the last round, and
 * takes back the debt all instances ran up together. So every instance
 * enforces one shared limit to within a sync interval: N instances can
 * admit at most about N × (the rate × the interval) more than the limit
 * before they hear of each other. A client new to an instance starts there
 * from the shared bucket (one round trip, kv_gcra_charge with nothing to
 * add), so spreading requests over instances gains no burst. When Redis fails, requests are still served: each process limits on
 * its own with the same policy (so N instances admit up to N times the
 * limit until Redis returns), logs the transition once, and shows it in
 * /readyz and /metrics. The first sync Redis answers again switches back.
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
#define RATELIMIT_N_ROLES 7 /* the role bits of roles.h */

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
 * microseconds) and fills out (GCRA, in microseconds). An admitted request
 * is also counted as pending for the next sync. */
void ratelimit_local_take(ratelimit_local_t *self, const char *client_id, const ratelimit_rule_t *rule,
                          int64_t now_us, kv_rate_t *out);

/* A bucket to share: what this process admitted since the last sync. */
typedef struct {
    char client_id[40];
    int64_t count;
    int64_t interval_us;
} ratelimit_charge_t;

/* Takes up to cap buckets that are active at now_us (admitted something
 * since the last drain, or not full) into out, setting their pending counts
 * back to zero. Returns how many. */
size_t ratelimit_local_drain(ratelimit_local_t *self, ratelimit_charge_t *out, size_t cap, int64_t now_us);

/* The shared bucket of client_id stood debt_us ahead of now (Redis's answer
 * to a charge, at now_us here): the local bucket (made if there is none)
 * moves up to it, plus what was admitted here since the drain. Never moves
 * a bucket back. */
void ratelimit_local_merge(ratelimit_local_t *self, const char *client_id, int64_t debt_us, int64_t now_us);

/* Gives back the counts of a drain whose charge failed (Redis is away), so
 * the next sync tells them; a bucket keeps at most its burst pending. */
void ratelimit_local_requeue(ratelimit_local_t *self, const ratelimit_charge_t *batch, size_t n);

/* Whether the table has a bucket for client_id. */
bool ratelimit_local_knows(ratelimit_local_t *self, const char *client_id);

/* Sets the process's policy from spec (see ratelimit_policy_parse) and makes
 * the local limiter. Returns 0, or -1 (logged). Call once, before serving. */
int ratelimit_init(const char *spec);

/* Starts sharing the buckets through the Redis at redis_url every
 * interval_ms, on a thread with its own connection. 0 or -1 (logged). */
int ratelimit_sync_start(const char *redis_url, int interval_ms);
void ratelimit_sync_stop(void);

/* Counts the request of client_id (roles: its role bits), in process; kv
 * (the calling thread's, may be NULL) is used only for a client this
 * process has no bucket for, to start from the shared one.
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
