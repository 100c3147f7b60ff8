/* idempotency — safe retries of POST with an Idempotency-Key (API.md).
 *
 * Keyed per API client, so two clients' keys never collide. Durable in
 * PostgreSQL (gateway.idempotency_keys, 24 h); a session advisory lock on
 * (client, key) makes concurrent requests with one key wait for the first:
 * they then replay its answer. Same key and same request → the first
 * response again, with Idempotent-Replayed: true; same key, another request
 * → 422; still in flight after PARLEY_IDEMPOTENCY_WAIT_MS → 409. Answers of
 * 5xx are not kept, so a retry after an outage runs again.
 */
#ifndef PARLEY_GATEWAY_IDEMPOTENCY_H
#define PARLEY_GATEWAY_IDEMPOTENCY_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "gateway/http.h"

typedef struct {
    bool held;           /* the lock is ours: idem_finish must run */
    const char *client_id;
    const char *key;
    char hash[65];       /* SHA-256 of method, path and body, hex */
    char lock_id[24];    /* the advisory lock's bigint, as text */
} idem_t;

const db_stmt_t *idem_statements(size_t *n);

/* Starts an idempotent request. Returns 0 when the caller should go on and
 * serve it (then idem->held is true and idem_finish must be called), or the
 * HTTP status of an answer already written (a replay, 409, 422, 400 for a bad
 * key, 503 when the store is down). */
int idem_begin(db_t *db, const http_ctx_t *h, const char *client_id, const char *key, const char *method,
               const char *path, const char *body, size_t body_len, idem_t *idem);

/* Keeps the answer recorded in rec (unless 5xx) and releases the lock. */
void idem_finish(db_t *db, idem_t *idem, const http_record_t *rec);

#endif
