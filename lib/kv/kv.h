/* kv — Redis through hiredis: one context per thread, reconnected after any
 * error (a hiredis context is dead once it has failed). The only module that
 * includes hiredis.h. Redis is never the only copy of anything. */
#ifndef PARLEY_KV_KV_H
#define PARLEY_KV_KV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kv kv_t;

/* A handle for url ("redis://host:port"); connects lazily. NULL on a bad url. */
kv_t *kv_new(const char *url);
void kv_destroy(kv_t **self);

/* Whether Redis answers PING now (connecting or reconnecting if needed, with
 * a 250 ms connect and command timeout, and a backoff of up to 2 s between
 * failed attempts). */
bool kv_ping(kv_t *self);

/* The same check, telling why not: 0 when Redis answered, -EAGAIN when it
 * was not tried (a reconnect backoff runs after a recent failure), -EIO when
 * it failed now. */
int kv_check(kv_t *self);

/* One rate-limit decision. Times are in seconds (fractions kept). */
typedef struct {
    bool allowed;
    long remaining;     /* further requests allowed right now (0 when refused) */
    double retry_after; /* when refused: until the next request is allowed */
    double reset;       /* until the whole burst is available again */
} kv_rate_t;

/* What one process admitted on its own to a shared GCRA bucket at key. */
typedef struct {
    const char *key;
    long long interval_us; /* the bucket's emission interval (period / limit) */
    long long count;       /* requests admitted since the last charge (0: just read) */
} kv_charge_t;

/* Charges n shared GCRA buckets in one pipelined round trip: each moves on
 * by count intervals, on Redis's clock; a key expires when its bucket is
 * full again. debt_us[i] (n of them)
 * gets how far bucket i now stands ahead of Redis's clock (0: full), or -1
 * when its command failed. Returns 0; -EAGAIN (not tried: backoff), -EIO
 * (the connection is dropped), -EPROTO (some command answered an error; the
 * others' debts are set). */
int kv_gcra_charge(kv_t *self, size_t n, const kv_charge_t *items, long long *debt_us);

#endif
