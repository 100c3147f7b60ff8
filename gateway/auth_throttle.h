/* auth_throttle — failed authentications counted per key (a client address,
 * a client id) in fixed windows, in this process: after `limit` failures in
 * `window_ms`, the key is refused until its window ends, without its
 * credentials being checked. A table of at most `slots` keys, so memory is
 * bounded whatever an attacker sends: past that, the entry to reuse is an
 * expired one, else the one with the fewest failures (a key being refused
 * is the last to go). Thread-safe. N gateway processes each count their
 * own failures: a key may fail up to N times the limit across them. */
#ifndef PARLEY_GATEWAY_AUTH_THROTTLE_H
#define PARLEY_GATEWAY_AUTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_KEY_MAX 64 /* an IPv6 address, a UUID: longer keys are cut */

typedef struct throttle throttle_t;

/* A table of slots entries, refusing a key after limit failures within
 * window_ms (limit 0: never refuses). NULL when out of memory. */
throttle_t *throttle_new(size_t slots, int limit, int64_t window_ms);
void throttle_destroy(throttle_t **self);

/* Milliseconds until key may try again at now_ms (monotonic), or 0 when it
 * may now. */
int64_t throttle_blocked_ms(throttle_t *self, const char *key, int64_t now_ms);

/* Counts one failure for key at now_ms. */
void throttle_fail(throttle_t *self, const char *key, int64_t now_ms);

#endif
