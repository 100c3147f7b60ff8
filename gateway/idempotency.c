#include "gateway/idempotency.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"

static const db_stmt_t stmts[] = {
    {"idem_try_lock", "SELECT pg_try_advisory_lock($1::bigint)"},
    {"idem_unlock", "SELECT pg_advisory_unlock($1::bigint)"},
    {"idem_lock_id", "SELECT hashtextextended($1 || ':' || $2, 0)::text"},
    {"idem_get",
     "SELECT request_hash, status, content_type, headers, body FROM idempotency_keys"
     " WHERE client_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'"},
    {"idem_put",
     "INSERT INTO idempotency_keys (client_id, key, request_hash, status, content_type, headers, body)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7)"
     " ON CONFLICT (client_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
     " status = EXCLUDED.status, content_type = EXCLUDED.content_type, headers = EXCLUDED.headers,"
     " body = EXCLUDED.body, created_at = now()"},
    {"idem_purge", "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'"},
};

const db_stmt_t *idem_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* Keys are what a client can generate and log safely: 1..255 visible ASCII. */
static bool key_is_valid(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > 255) return false;
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)k[i])) return false;
    return true;
}

static void request_hash(const char *method, const char *path, const char *body, size_t len, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(c, method, strlen(method) + 1) == 1 && EVP_DigestUpdate(c, path, strlen(path) + 1) == 1 &&
              (len == 0 || EVP_DigestUpdate(c, body, len) == 1) && EVP_DigestFinal_ex(c, md, &mdlen) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) mdlen = 0; /* an empty hash never equals a stored one */
    out[0] = '\0';
    for (unsigned i = 0; i < mdlen && i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int store_down(const http_ctx_t *h) {
    return http_problem(h, 503, "idempotency keys cannot be checked right now", NULL, "Retry-After: 1\r\n");
}

static bool locked(db_t *db, const char *lock_id) {
    const char *p[] = {lock_id};
    db_result_t *r = NULL;
    bool ok = db_exec(db, "idem_try_lock", 1, p, &r) == 0 && db_bool(r, 0, 0);
    db_result_free(&r);
    return ok;
}

static void unlock(db_t *db, idem_t *idem) {
    const char *p[] = {idem->lock_id};
    db_exec(db, "idem_unlock", 1, p, NULL);
    idem->held = false;
}

/* With the lock held: a kept answer replays or conflicts. 1 answered, 0 none. */
static int replay(db_t *db, const http_ctx_t *h, idem_t *idem, int *status) {
    const char *p[] = {idem->client_id, idem->key};
    db_result_t *r = NULL;
    int rc = db_exec(db, "idem_get", 2, p, &r);
    if (rc != 0) {
        *status = store_down(h);
        return 1;
    }
    if (db_rows(r) == 0) {
        db_result_free(&r);
        return 0;
    }
    if (strcmp(db_text(r, 0, 0), idem->hash) != 0) {
        *status = http_problem(h, 422, "this Idempotency-Key was used with a different request", NULL, NULL);
    } else {
        http_ctx_t hx = *h;
        hx.extra_headers = arena_printf(h->arena, "%s%sIdempotent-Replayed: true\r\n", h->extra_headers ? h->extra_headers : "",
                                        db_text(r, 0, 3));
        char *body = db_str(h->arena, r, 0, 4);
        *status = http_send(&hx, (int)db_int(r, 0, 1), db_str(h->arena, r, 0, 2), body ? body : "", body ? strlen(body) : 0);
    }
    db_result_free(&r);
    return 1;
}

int idem_begin(db_t *db, const http_ctx_t *h, const char *client_id, const char *key, const char *method,
               const char *path, const char *body, size_t body_len, idem_t *idem) {
    memset(idem, 0, sizeof *idem);
    if (!key_is_valid(key)) {
        pb_errors_t errs;
        pb_errors_init(&errs, h->arena);
        pb_errors_add(&errs, "Idempotency-Key", "must be 1 to 255 visible ASCII characters");
        return http_problem(h, 400, "the Idempotency-Key header is not valid", &errs, NULL);
    }
    idem->client_id = client_id;
    idem->key = key;
    request_hash(method, path, body, body_len, idem->hash);
    const char *p[] = {client_id, key};
    db_result_t *r = NULL;
    if (db_exec(db, "idem_lock_id", 2, p, &r) != 0) return store_down(h);
    snprintf(idem->lock_id, sizeof idem->lock_id, "%s", db_text(r, 0, 0));
    db_result_free(&r);

    int64_t until = clock_mono_ms() + config_long("PARLEY_IDEMPOTENCY_WAIT_MS", 3000, 0, 30000);
    while (!locked(db, idem->lock_id)) {
        if (clock_mono_ms() >= until)
            return http_problem(h, 409, "a request with this Idempotency-Key is still in flight", NULL,
                                "Retry-After: 1\r\n");
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    idem->held = true;
    int status;
    if (replay(db, h, idem, &status)) {
        unlock(db, idem);
        return status;
    }
    return 0;
}

void idem_finish(db_t *db, idem_t *idem, const http_record_t *rec) {
    if (!idem->held) return;
    if (rec->status > 0 && rec->status < 500) {
        char status[8];
        snprintf(status, sizeof status, "%d", rec->status);
        /* http_send leaves the recorded body NUL-terminated. */
        const char *p[] = {idem->client_id, idem->key, idem->hash, status, rec->content_type,
                           rec->headers ? rec->headers : "", rec->body ? rec->body : ""};
        if (db_exec(db, "idem_put", 7, p, NULL) != 0)
            log_warn(NULL, "could not keep the answer for an Idempotency-Key: %s", db_error(db));
        /* Now and then, forget keys past their 24 hours. */
        if (rand() % 1000 == 0) db_exec(db, "idem_purge", 0, NULL, NULL);
    }
    unlock(db, idem);
}
