#include "gateway/ratelimit.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/ticker.h"
#include "gateway/metrics.h"
#include "gateway/roles.h"

/* ---- policy ------------------------------------------------------------- */

/* Parses one whole number in [lo, hi] at *p, advancing *p. */
static int parse_number(const char **p, long lo, long hi, long *out) {
    if (!isdigit((unsigned char)**p)) return -1;
    errno = 0;
    char *end;
    long v = strtol(*p, &end, 10);
    if (errno != 0 || v < lo || v > hi) return -1;
    *p = end;
    *out = v;
    return 0;
}

/* Parses "limit/period[/burst]" (the whole of s, spaces around allowed). */
static int parse_rule(const char *s, ratelimit_rule_t *r) {
    while (isspace((unsigned char)*s)) s++;
    if (parse_number(&s, 1, 1000000, &r->limit) != 0 || *s++ != '/') return -1;
    if (parse_number(&s, 1, 86400, &r->period_s) != 0) return -1;
    r->burst = r->limit;
    if (*s == '/') {
        s++;
        if (parse_number(&s, 1, 1000000, &r->burst) != 0) return -1;
    }
    while (isspace((unsigned char)*s)) s++;
    return *s == '\0' ? 0 : -1;
}

int ratelimit_policy_parse(const char *spec, ratelimit_policy_t *out, char *err, size_t cap) {
    if (spec == NULL || *spec == '\0') spec = RATELIMIT_DEFAULT_SPEC;
    memset(out, 0, sizeof *out);
    out->fallback = (ratelimit_rule_t){300, 60, 300};
    bool fallback_set = false;
    char *copy = strdup(spec), *save = NULL;
    if (copy == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item != NULL && rc == 0; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        while (isspace((unsigned char)*item)) item++;
        if (eq == NULL) {
            snprintf(err, cap, "'%s' is not role=limit/seconds", item);
            rc = -1;
            break;
        }
        char *name_end = eq;
        while (name_end > item && isspace((unsigned char)name_end[-1])) name_end--;
        *name_end = '\0';
        ratelimit_rule_t rule;
        bool is_default = strcmp(item, "default") == 0;
        unsigned bit = is_default ? 0 : roles_from_name(item);
        int i = bit ? __builtin_ctz(bit) : -1;
        ratelimit_rule_t *slot = is_default ? &out->fallback : i >= 0 && i < RATELIMIT_N_ROLES ? &out->role[i] : NULL;
        const char *why = NULL;
        if (parse_rule(eq + 1, &rule) != 0) why = "the rule must be limit/seconds[/burst], whole numbers in range";
        else if (slot == NULL) why = "not a role";
        else if (is_default ? fallback_set : slot->limit != 0) why = "given twice";
        if (why != NULL) {
            snprintf(err, cap, "'%s': %s", item, why);
            rc = -1;
        } else {
            *slot = rule;
            fallback_set = fallback_set || is_default;
        }
    }
    free(copy);
    return rc;
}

/* Whether a is more generous than b: a higher rate (compared without
 * division), then a higher burst. */
static bool more_generous(const ratelimit_rule_t *a, const ratelimit_rule_t *b) {
    long long ra = (long long)a->limit * b->period_s, rb = (long long)b->limit * a->period_s;
    return ra != rb ? ra > rb : a->burst > b->burst;
}

ratelimit_rule_t ratelimit_policy_rule(const ratelimit_policy_t *p, unsigned roles) {
    const ratelimit_rule_t *best = NULL;
    for (int i = 0; i < RATELIMIT_N_ROLES; i++) {
        if (!(roles & (1u << i))) continue;
        const ratelimit_rule_t *r = p->role[i].limit != 0 ? &p->role[i] : &p->fallback;
        if (best == NULL || more_generous(r, best)) best = r;
    }
    return best ? *best : p->fallback;
}

/* ---- the local limiter --------------------------------------------------- */

#define PROBES 32 /* slots looked at per client; bounds the time under the lock */

typedef struct {
    char id[40];      /* empty: never used */
    int64_t tat;      /* theoretical arrival time, us; <= now: the bucket is full */
    int64_t interval; /* the rule's emission interval, us (for the shared bucket) */
    int64_t pending;  /* requests admitted here since the last sync with Redis */
    int64_t burst;    /* the rule's burst: pending kept through an outage goes no higher */
} slot_t;

struct ratelimit_local {
    pthread_mutex_t lock;
    size_t mask;
    slot_t *slots;
};

ratelimit_local_t *ratelimit_local_new(size_t capacity) {
    size_t n = 64;
    while (n < capacity * 2) n *= 2; /* half empty keeps probe runs short */
    ratelimit_local_t *self = calloc(1, sizeof *self);
    if (self == NULL) return NULL;
    self->slots = calloc(n, sizeof *self->slots);
    if (self->slots == NULL) {
        free(self);
        return NULL;
    }
    self->mask = n - 1;
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void ratelimit_local_destroy(ratelimit_local_t **self) {
    if (self == NULL || *self == NULL) return;
    pthread_mutex_destroy(&(*self)->lock);
    free((*self)->slots);
    free(*self);
    *self = NULL;
}

static size_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The slot for id: its own if it has one; else the first never-used or full
 * bucket seen (a full bucket is the same state as none, so its slot can be
 * taken), else the fullest bucket probed. Slots are never emptied, so a
 * probe that stops at a never-used slot has not missed id further on. */
static slot_t *find_slot(ratelimit_local_t *self, const char *id, int64_t now) {
    size_t i = hash(id) & self->mask;
    slot_t *reusable = NULL, *fullest = NULL;
    for (int k = 0; k < PROBES; k++, i = (i + 1) & self->mask) {
        slot_t *s = &self->slots[i];
        if (s->id[0] == '\0') {
            if (reusable == NULL) reusable = s;
            break;
        }
        if (strcmp(s->id, id) == 0) return s;
        if (s->tat <= now && reusable == NULL) reusable = s;
        if (fullest == NULL || s->tat < fullest->tat) fullest = s;
    }
    slot_t *s = reusable ? reusable : fullest;
    snprintf(s->id, sizeof s->id, "%s", id);
    s->tat = now;
    s->pending = 0;
    return s;
}

static int64_t interval_of(const ratelimit_rule_t *rule) {
    int64_t interval = (int64_t)rule->period_s * 1000000 / rule->limit;
    return interval < 1 ? 1 : interval;
}

/* The same arithmetic as kv.c's Lua script, in microseconds. */
static void gcra(int64_t *tat, int64_t now, const ratelimit_rule_t *rule, kv_rate_t *out) {
    int64_t interval = interval_of(rule);
    int64_t t = *tat < now ? now : *tat;
    int64_t new_tat = t + interval, allow_at = new_tat - rule->burst * interval;
    if (now < allow_at) {
        *out = (kv_rate_t){false, 0, (double)(allow_at - now) / 1e6, (double)(t - now) / 1e6};
        return;
    }
    *tat = new_tat;
    *out = (kv_rate_t){true, (long)((now - allow_at) / interval), 0, (double)(new_tat - now) / 1e6};
}

void ratelimit_local_take(ratelimit_local_t *self, const char *client_id, const ratelimit_rule_t *rule,
                          int64_t now_us, kv_rate_t *out) {
    pthread_mutex_lock(&self->lock);
    slot_t *s = find_slot(self, client_id, now_us);
    gcra(&s->tat, now_us, rule, out);
    s->interval = interval_of(rule);
    s->burst = rule->burst;
    if (out->allowed) s->pending++;
    pthread_mutex_unlock(&self->lock);
}

size_t ratelimit_local_drain(ratelimit_local_t *self, ratelimit_charge_t *out, size_t cap, int64_t now_us) {
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i <= self->mask && n < cap; i++) {
        slot_t *s = &self->slots[i];
        if (s->id[0] == '\0' || (s->pending == 0 && s->tat <= now_us)) continue;
        snprintf(out[n].client_id, sizeof out[n].client_id, "%s", s->id);
        out[n].count = s->pending;
        out[n].interval_us = s->interval;
        s->pending = 0;
        n++;
    }
    pthread_mutex_unlock(&self->lock);
    return n;
}

void ratelimit_local_requeue(ratelimit_local_t *self, const ratelimit_charge_t *batch, size_t n) {
    pthread_mutex_lock(&self->lock);
    for (size_t b = 0; b < n; b++) {
        size_t i = hash(batch[b].client_id) & self->mask;
        for (int k = 0; k < PROBES && self->slots[i].id[0] != '\0'; k++, i = (i + 1) & self->mask) {
            slot_t *s = &self->slots[i];
            if (strcmp(s->id, batch[b].client_id) != 0) continue;
            s->pending += batch[b].count;
            if (s->pending > s->burst) s->pending = s->burst;
            break;
        }
    }
    pthread_mutex_unlock(&self->lock);
}

bool ratelimit_local_knows(ratelimit_local_t *self, const char *client_id) {
    bool known = false;
    pthread_mutex_lock(&self->lock);
    size_t i = hash(client_id) & self->mask;
    for (int k = 0; k < PROBES && self->slots[i].id[0] != '\0'; k++, i = (i + 1) & self->mask)
        if (strcmp(self->slots[i].id, client_id) == 0) {
            known = true;
            break;
        }
    pthread_mutex_unlock(&self->lock);
    return known;
}

void ratelimit_local_merge(ratelimit_local_t *self, const char *client_id, int64_t debt_us, int64_t now_us) {
    pthread_mutex_lock(&self->lock);
    slot_t *s = find_slot(self, client_id, now_us);
    /* What every instance admitted until the sync, plus what this one
     * admitted since (not in Redis yet). */
    int64_t shared = now_us + debt_us + s->pending * s->interval;
    if (shared > s->tat) s->tat = shared;
    pthread_mutex_unlock(&self->lock);
}

/* ---- the process's limiter ---------------------------------------------- */

static ratelimit_policy_t policy;
static ratelimit_local_t *local_limiter;
static atomic_bool local_mode; /* false: the buckets are shared through Redis */

int ratelimit_init(const char *spec) {
    char err[200];
    if (ratelimit_policy_parse(spec, &policy, err, sizeof err) != 0) {
        log_error(NULL, "PARLEY_RATE_LIMITS: %s", err);
        return -1;
    }
    if (local_limiter == NULL && (local_limiter = ratelimit_local_new(8192)) == NULL) {
        log_error(NULL, "cannot allocate the local rate limiter");
        return -1;
    }
    return 0;
}

void ratelimit_redis_seen(bool up) {
    metrics_dependency_set(METRICS_DEP_REDIS, up);
    /* Called on every request: read first, so that the steady state writes
     * nothing and the shared cache line is not bounced between threads. */
    if (atomic_load_explicit(&local_mode, memory_order_relaxed) == !up) return;
    bool was_local = atomic_exchange(&local_mode, !up);
    if (was_local == !up) return; /* no change: say nothing */
    metrics_ratelimit_local_mode(!up);
    if (up) log_info(NULL, "redis answers again: rate limits are shared through redis");
    else log_warn(NULL, "redis is unavailable: rate limits fall back to this process's local limiter");
}

bool ratelimit_is_local(void) {
    return atomic_load(&local_mode);
}

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- sharing through Redis ---------------------------------------------- */

#define SYNC_BATCH 1024 /* buckets charged per round trip */

/* The sync thread's own things (a ticker: lib/core/ticker.h). */
typedef struct {
    char *redis_url;
    kv_t *kv;
    ratelimit_charge_t *batch;
    kv_charge_t *items;
    long long *debts;
    char (*keys)[64];
} sync_ctx_t;

static sync_ctx_t sync_ctx;
static ticker_t *sync_ticker;

static int sync_setup(void *arg) {
    sync_ctx_t *c = arg;
    c->kv = kv_new(c->redis_url);
    c->batch = calloc(SYNC_BATCH, sizeof *c->batch);
    c->items = calloc(SYNC_BATCH, sizeof *c->items);
    c->debts = calloc(SYNC_BATCH, sizeof *c->debts);
    c->keys = calloc(SYNC_BATCH, sizeof *c->keys);
    if (c->kv == NULL || c->batch == NULL || c->items == NULL || c->debts == NULL || c->keys == NULL) {
        log_error(NULL, "the rate limiter cannot share its buckets: out of memory or a bad PARLEY_REDIS_URL");
        return -1;
    }
    return 0;
}

static void sync_teardown(void *arg) {
    sync_ctx_t *c = arg;
    kv_destroy(&c->kv);
    free(c->batch);
    free(c->items);
    free(c->debts);
    free(c->keys);
    c->batch = NULL;
    c->items = NULL;
    c->debts = NULL;
    c->keys = NULL;
}

/* One round: every bucket active here is charged with what this process
 * admitted since the last round, and takes back the shared debt. More than
 * a batch: the next batch at once. */
static int sync_tick(void *arg) {
    sync_ctx_t *c = arg;
    int64_t now = mono_us();
    size_t n = ratelimit_local_drain(local_limiter, c->batch, SYNC_BATCH, now);
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(c->keys[i], sizeof c->keys[i], "parley:rl:%s", c->batch[i].client_id);
        c->items[i] = (kv_charge_t){c->keys[i], c->batch[i].interval_us, c->batch[i].count};
    }
    int rc = kv_gcra_charge(c->kv, n, c->items, c->debts);
    if (rc != -EAGAIN) ratelimit_redis_seen(rc == 0 || rc == -EPROTO);
    if (rc != 0 && rc != -EPROTO) {
        /* Redis is away: the local limits stand alone, and what they
         * admitted is told to Redis when it returns (a burst at most). */
        ratelimit_local_requeue(local_limiter, c->batch, n);
        return 0;
    }
    now = mono_us();
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->debts[i] >= 0) ratelimit_local_merge(local_limiter, c->batch[i].client_id, c->debts[i], now);
        else c->batch[failed++] = c->batch[i];
    }
    if (failed > 0) ratelimit_local_requeue(local_limiter, c->batch, failed);
    return n == SYNC_BATCH ? 1 : 0;
}

int ratelimit_sync_start(const char *redis_url, int interval_ms) {
    sync_ctx.redis_url = strdup(redis_url);
    ticker_config_t cfg = {.interval_ms = interval_ms > 0 ? interval_ms : 250,
                           .setup = sync_setup,
                           .tick = sync_tick,
                           .teardown = sync_teardown,
                           .ctx = &sync_ctx};
    if (sync_ctx.redis_url == NULL || (sync_ticker = ticker_new(&cfg)) == NULL) {
        log_error(NULL, "cannot start the rate limiter's sync thread");
        free(sync_ctx.redis_url);
        sync_ctx.redis_url = NULL;
        return -1;
    }
    return 0;
}

void ratelimit_sync_stop(void) {
    ticker_destroy(&sync_ticker);
    free(sync_ctx.redis_url);
    sync_ctx.redis_url = NULL;
}

/* A client new to this process (or back after its bucket filled up and its
 * slot went to another) starts from the shared bucket, not a full one, so
 * spreading requests over instances gains no burst: one round trip, then
 * none until it is new again. */
static void learn(kv_t *kv, const char *client_id, const ratelimit_rule_t *rule) {
    if (kv == NULL || ratelimit_is_local() || ratelimit_local_knows(local_limiter, client_id)) return;
    char key[64];
    snprintf(key, sizeof key, "parley:rl:%s", client_id);
    kv_charge_t item = {key, interval_of(rule), 0};
    long long debt = -1;
    int rc = kv_gcra_charge(kv, 1, &item, &debt);
    if (rc != -EAGAIN) ratelimit_redis_seen(rc == 0 || rc == -EPROTO);
    if (rc == 0 && debt >= 0) ratelimit_local_merge(local_limiter, client_id, debt, mono_us());
}

int ratelimit_apply(kv_t *kv, const http_ctx_t *h, const char *client_id, unsigned roles, http_ctx_t *out) {
    ratelimit_rule_t rule = ratelimit_policy_rule(&policy, roles);
    learn(kv, client_id, &rule);
    kv_rate_t r;
    ratelimit_local_take(local_limiter, client_id, &rule, mono_us(), &r);

    *out = *h;
    char policy_text[48];
    int n = snprintf(policy_text, sizeof policy_text, "%ld;w=%ld", rule.limit, rule.period_s);
    if (rule.burst != rule.limit) snprintf(policy_text + n, sizeof policy_text - (size_t)n, ";burst=%ld", rule.burst);
    out->extra_headers = arena_printf(h->arena,
                                      "%sRateLimit-Limit: %ld\r\nRateLimit-Remaining: %ld\r\n"
                                      "RateLimit-Reset: %ld\r\nRateLimit-Policy: %s\r\n",
                                      h->extra_headers ? h->extra_headers : "", rule.burst, r.remaining,
                                      (long)ceil(r.reset), policy_text);
    if (r.allowed) return 0;
    metrics_ratelimit_rejected(ratelimit_is_local());
    long retry = (long)ceil(r.retry_after);
    return http_problem(out, 429,
                        arena_printf(h->arena, "this API client is over its limit of %ld requests in %ld s",
                                     rule.limit, rule.period_s),
                        NULL, arena_printf(h->arena, "Retry-After: %ld\r\n", retry < 1 ? 1 : retry));
}
