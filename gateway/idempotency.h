/* idempotency — safe retries of POST with an Idempotency-Key (API.md).
 *
 * Keyed per API client, so two clients' keys never collide. Durable in
 * PostgreSQL (gateway.idempotency_keys, 24 h); a session advisory lock on
 * (client, key) makes concurrent requests with one key wait for the first:
 * they then replay its answer. Same key and same request (method, path,
 * query string and body) → the first response again, with
 * Idempotent-Replayed: true; same key, another request → 422; still in
 * flight after PARLEY_IDEMPOTENCY_WAIT_MS → 409. Answers of 5xx are not
 * kept, so a retry after an outage runs again.
 *
 * What is kept is what a replay needs and nothing readable without the
 * Idempotency-Key itself, which only the client holds: a replay key is
 * derived by HMAC-SHA256 from the server secret, the client id and the
 * Idempotency-Key; the row is found by another HMAC of the same (the
 * Idempotency-Key is not stored), the request's fingerprint is an HMAC
 * under the replay key, and the answer's content type, headers (Location,
 * ETag) and body are sealed with AES-256-GCM under it (bound to the row's
 * client, lookup digest and status). Only the status is in clear. Row-level
 * security (forced, keyed on parley.client_id, which db_tx_begin sets)
 * lets a transaction see only its own client's rows.
 *
 * A secret shown once is never kept: the reply of POST /v1/clients is kept
 * without its key, and its replay says so in keyNotice.
 */
#ifndef PARLEY_GATEWAY_IDEMPOTENCY_H
#define PARLEY_GATEWAY_IDEMPOTENCY_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "gateway/http.h"

#define IDEM_KEY_LEN 32 /* AES-256 */

/* The request an Idempotency-Key is bound to. Borrowed strings. */
typedef struct {
    const char *method;
    const char *path;
    const char *query; /* the raw query string; NULL or "" when none */
    const char *body;  /* may be NULL when body_len is 0 */
    size_t body_len;
    const char *rpc; /* the route's rpc ("CreateClient"): what its reply may not keep */
} idem_request_t;

typedef struct {
    bool held; /* the lock is ours: idem_finish must run */
    const Parley__Common__V1__Principal *principal;
    const char *rpc;
    unsigned char replay_key[IDEM_KEY_LEN];
    char digest[65];      /* the row's lookup HMAC, hex */
    char fingerprint[65]; /* HMAC of the request under replay_key, hex */
    char lock_id[24];     /* the advisory lock's bigint, as text */
} idem_t;

const db_stmt_t *idem_statements(size_t *n);

/* Starts an idempotent request for principal (borrowed until idem_finish).
 * Returns 0 when the caller should go on and serve it (then idem->held is
 * true and idem_finish must be called), or the HTTP status of an answer
 * already written (a replay, 409, 422, 400 for a bad key, 503 when the
 * store is down, 500 when a kept answer fails its authentication). */
int idem_begin(db_t *db, const http_ctx_t *h, const Parley__Common__V1__Principal *principal, const char *key,
               const idem_request_t *rq, idem_t *idem);

/* Keeps the answer recorded in rec (unless 5xx, or unless what must not be
 * kept cannot be taken out of it) and releases the lock; wipes idem's keys. */
void idem_finish(db_t *db, idem_t *idem, const http_record_t *rec);

/* ---- pure parts, unit-tested ---- */

/* The replay key, the lookup digest (hex) and the advisory lock id for
 * (client_id, key) under secret. Returns 0 or -1. */
int idem_derive(const unsigned char *secret, size_t secret_len, const char *client_id, const char *key,
                unsigned char replay_key[IDEM_KEY_LEN], char digest[65], char lock_id[24]);

/* HMAC-SHA256 under replay_key of method, path, query and body, hex into
 * out. Returns 0 or -1. */
int idem_fingerprint(const unsigned char replay_key[IDEM_KEY_LEN], const idem_request_t *rq, char out[65]);

/* Seals plain (len bytes) with AES-256-GCM under replay_key, aad bound in:
 * a malloc'd nonce || ciphertext || tag into *out (*out_len bytes). Returns
 * 0 or -1. */
int idem_seal(const unsigned char replay_key[IDEM_KEY_LEN], const char *aad, const unsigned char *plain, size_t len,
              unsigned char **out, size_t *out_len);

/* Opens what idem_seal made: a malloc'd plaintext (NUL-terminated, *len
 * bytes before the NUL). Returns 0, or -1 when it is not authentic. */
int idem_open(const unsigned char replay_key[IDEM_KEY_LEN], const char *aad, const unsigned char *sealed,
              size_t sealed_len, unsigned char **plain, size_t *len);

/* The JSON body of rpc's reply as it may be kept: for a reply holding a
 * secret shown once (CreateClient's key), a malloc'd copy without it and
 * with a notice saying so; for any other, NULL and *keep_as_is true. NULL
 * with *keep_as_is false: the body cannot be cleaned, keep nothing. */
char *idem_keepable_body(const char *rpc, const char *body, size_t len, bool *keep_as_is);

#endif
