/* kv — Redis through hiredis: one context per thread, reconnected after any
 * error (a hiredis context is dead once it has failed). The only module that
 * includes hiredis.h. Redis is never the only copy of anything. */
#ifndef PARLEY_KV_KV_H
#define PARLEY_KV_KV_H

#include <stdbool.h>

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

/* Counts one request against the GCRA (generic cell rate algorithm) bucket
 * at key: on average `limit` requests per `period_s` seconds, at most `burst`
 * at once. Atomic across every gateway instance: the bucket's theoretical
 * arrival time lives in Redis, read and written by one Lua script that takes
 * the time from Redis's own clock (SCRIPT LOAD once, EVALSHA, EVAL when the
 * server answers NOSCRIPT, e.g. after a restart). A refused request does not
 * move the bucket. The key expires when its bucket is full again.
 * Returns 0 and fills out; -EAGAIN when Redis was not tried (a reconnect
 * backoff is running after a failure); -EIO when Redis failed now (the
 * connection is dropped); -EPROTO when Redis answered an error or something
 * unexpected (the connection is kept). */
int kv_gcra(kv_t *self, const char *key, long limit, long period_s, long burst, kv_rate_t *out);

#endif
