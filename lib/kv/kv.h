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

#endif
