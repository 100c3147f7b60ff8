#include "gateway/idempotency.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "gateway/auth.h"

#define NONCE_LEN 12
#define TAG_LEN 16
/* A kept answer is one the gateway wrote: at most a request's 1 MiB, and the
 * few headers of its own. */
#define MAX_SEALED (4u * 1024 * 1024)

static const db_stmt_t stmts[] = {
    {"idem_try_lock", "SELECT pg_try_advisory_lock($1::bigint)"},
    {"idem_unlock", "SELECT pg_advisory_unlock($1::bigint)"},
    {"idem_get",
     "SELECT fingerprint, status, encode(sealed, 'hex') FROM idempotency_keys"
     " WHERE client_id = $1 AND key_digest = $2 AND created_at > now() - interval '24 hours'"},
    {"idem_put",
     "INSERT INTO idempotency_keys (client_id, key_digest, fingerprint, status, sealed)"
     " VALUES ($1, $2, $3, $4, decode($5, 'hex'))"
     " ON CONFLICT (client_id, key_digest) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
     " status = EXCLUDED.status, sealed = EXCLUDED.sealed, created_at = now()"},
    {"idem_purge", "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'"},
};

const db_stmt_t *idem_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* ---- derivation, fingerprint, sealing (pure) ------------------------------ */

static void to_hex(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* HMAC-SHA256 of the parts (each followed by a NUL, so that no two lists of
 * parts hash alike) under key. */
static int hmac_parts(const unsigned char *key, size_t key_len, const char *const *parts, const size_t *lens,
                      size_t n, unsigned char out[32]) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end()};
    size_t len = 0;
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, key_len, params) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = (lens[i] == 0 || EVP_MAC_update(ctx, (const unsigned char *)parts[i], lens[i]) == 1) &&
             EVP_MAC_update(ctx, (const unsigned char *)"", 1) == 1;
    ok = ok && EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

int idem_derive(const unsigned char *secret, size_t secret_len, const char *client_id, const char *key,
                unsigned char replay_key[IDEM_KEY_LEN], char digest[65], char lock_id[24]) {
    /* Two labels, two independent values: the row's name never helps to
     * find the key that opens it. */
    const char *seal[] = {"parley idempotency replay key v1", client_id, key};
    const char *find[] = {"parley idempotency lookup v1", client_id, key};
    size_t lens[] = {strlen(seal[0]), strlen(client_id), strlen(key)};
    size_t find_lens[] = {strlen(find[0]), lens[1], lens[2]};
    unsigned char d[32];
    if (hmac_parts(secret, secret_len, seal, lens, 3, replay_key) != 0 ||
        hmac_parts(secret, secret_len, find, find_lens, 3, d) != 0)
        return -1;
    to_hex(d, sizeof d, digest);
    int64_t lock = 0;
    for (int i = 0; i < 8; i++) lock = (int64_t)((uint64_t)lock << 8 | d[i]);
    snprintf(lock_id, 24, "%lld", (long long)lock);
    OPENSSL_cleanse(d, sizeof d);
    return 0;
}

int idem_fingerprint(const unsigned char replay_key[IDEM_KEY_LEN], const idem_request_t *rq, char out[65]) {
    const char *query = rq->query ? rq->query : "";
    const char *parts[] = {rq->method, rq->path, query, rq->body ? rq->body : ""};
    size_t lens[] = {strlen(rq->method), strlen(rq->path), strlen(query), rq->body ? rq->body_len : 0};
    unsigned char md[32];
    if (hmac_parts(replay_key, IDEM_KEY_LEN, parts, lens, 4, md) != 0) return -1;
    to_hex(md, sizeof md, out);
    return 0;
}

int idem_seal(const unsigned char replay_key[IDEM_KEY_LEN], const char *aad, const unsigned char *plain, size_t len,
              unsigned char **out, size_t *out_len) {
    *out = NULL;
    if (len > MAX_SEALED) return -1;
    unsigned char *buf = malloc(NONCE_LEN + len + TAG_LEN);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = buf != NULL && c != NULL && RAND_bytes(buf, NONCE_LEN) == 1 &&
             EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_EncryptInit_ex(c, NULL, NULL, replay_key, buf) == 1 &&
             EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
             (len == 0 || EVP_EncryptUpdate(c, buf + NONCE_LEN, &n, plain, (int)len) == 1) &&
             EVP_EncryptFinal_ex(c, buf + NONCE_LEN + (len ? n : 0), &fin) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + len) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = NONCE_LEN + len + TAG_LEN;
    return 0;
}

int idem_open(const unsigned char replay_key[IDEM_KEY_LEN], const char *aad, const unsigned char *sealed,
              size_t sealed_len, unsigned char **plain, size_t *len) {
    *plain = NULL;
    if (sealed_len < NONCE_LEN + TAG_LEN || sealed_len > MAX_SEALED + NONCE_LEN + TAG_LEN) return -1;
    size_t clen = sealed_len - NONCE_LEN - TAG_LEN;
    unsigned char *buf = malloc(clen + 1);
    unsigned char tag[TAG_LEN];
    memcpy(tag, sealed + NONCE_LEN + clen, TAG_LEN);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = buf != NULL && c != NULL && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_DecryptInit_ex(c, NULL, NULL, replay_key, sealed) == 1 &&
             EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
             (clen == 0 || EVP_DecryptUpdate(c, buf, &n, sealed + NONCE_LEN, (int)clen) == 1) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
             EVP_DecryptFinal_ex(c, buf + (clen ? n : 0), &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        if (buf) OPENSSL_cleanse(buf, clen + 1);
        free(buf);
        return -1;
    }
    buf[clen] = '\0';
    *plain = buf;
    *len = clen;
    return 0;
}

/* Replies that carry a secret shown once, and how a replay says it is gone. */
static const struct {
    const char *rpc, *field, *notice_field, *notice;
} once_only[] = {
    {"CreateClient", "key", "keyNotice",
     "this is a replay: the key was shown only in the first answer and is not kept; if it was lost, revoke this "
     "client and create another"},
    /* Webhooks: the signing secret is shown once (services/notify/webhook.h). */
    {"CreateWebhook", "secret", "secretNotice",
     "this is a replay: the secret was shown only in the first answer and is not kept readable; if it was lost, "
     "delete this webhook and create another"},
    /* ics: a calendar's feed token (services/scheduling/feed.c). */
    {"CreateFeedToken", "token", "tokenNotice",
     "this is a replay: the token was shown only in the first answer and is not kept; if it was lost, make "
     "another (the old one stops working)"},
};

char *idem_keepable_body(const char *rpc, const char *body, size_t len, bool *keep_as_is) {
    *keep_as_is = true;
    for (size_t i = 0; rpc != NULL && i < sizeof once_only / sizeof once_only[0]; i++) {
        if (strcmp(once_only[i].rpc, rpc) != 0) continue;
        *keep_as_is = false;
        /* The body is the gateway's own answer: a problem or the reply. */
        json_t *j = json_loadb(body ? body : "", len, 0, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            return NULL;
        }
        if (json_object_get(j, once_only[i].field) != NULL) {
            json_object_del(j, once_only[i].field);
            json_object_set_new(j, once_only[i].notice_field, json_string(once_only[i].notice));
        }
        char *out = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return out;
    }
    return NULL;
}

/* ---- the store -------------------------------------------------------------- */

/* Keys are what a client can generate and log safely: 1..255 visible ASCII. */
static bool key_is_valid(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > 255) return false;
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)k[i])) return false;
    return true;
}

static int store_down(const http_ctx_t *h) {
    return http_problem(h, 503, "idempotency keys cannot be checked right now", NULL, "Retry-After: 1\r\n");
}

/* What the seal is bound to: whose row, which row, which status. */
static char *seal_aad(arena_t *a, const idem_t *idem, int status) {
    return arena_printf(a, "%s\n%s\n%d", idem->principal->client_id, idem->digest, status);
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

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Writes the kept answer (content type NUL headers NUL body) again. */
static int resend(const http_ctx_t *h, idem_t *idem, int status, const char *hex) {
    size_t hl = strlen(hex), n = hl / 2;
    unsigned char *sealed = arena_alloc(h->arena, n + 1), *plain = NULL;
    if (sealed == NULL || hl % 2 != 0) return http_problem(h, 500, "the kept answer cannot be read", NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return http_problem(h, 500, "the kept answer cannot be read", NULL, NULL);
        sealed[i] = (unsigned char)(hi << 4 | lo);
    }
    size_t len = 0;
    if (idem_open(idem->replay_key, seal_aad(h->arena, idem, status), sealed, n, &plain, &len) != 0) {
        log_error(h->request_id, "a kept idempotent answer failed its authentication: not replayed");
        return http_problem(h, 500, "the kept answer cannot be read", NULL, NULL);
    }
    /* content type NUL headers NUL body */
    const char *type = (const char *)plain, *end = type + len;
    const char *headers = memchr(type, '\0', len);
    const char *body = headers ? memchr(headers + 1, '\0', (size_t)(end - headers - 1)) : NULL;
    if (body == NULL) {
        OPENSSL_cleanse(plain, len);
        free(plain);
        return http_problem(h, 500, "the kept answer cannot be read", NULL, NULL);
    }
    headers++;
    body++;
    size_t body_len = (size_t)(end - body);
    http_ctx_t hx = *h;
    hx.extra_headers =
        arena_printf(h->arena, "%s%sIdempotent-Replayed: true\r\n", h->extra_headers ? h->extra_headers : "", headers);
    int rc = http_send(&hx, status, arena_strdup(h->arena, type), body, body_len);
    OPENSSL_cleanse(plain, len);
    free(plain);
    return rc;
}

/* With the lock held: a kept answer replays or conflicts. 1 answered, 0 none. */
static int replay(db_t *db, const http_ctx_t *h, idem_t *idem, int *status) {
    const char *p[] = {idem->principal->client_id, idem->digest};
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, idem->principal);
    if (rc == 0) rc = db_exec(db, "idem_get", 2, p, &r);
    db_tx_rollback(db);
    if (rc != 0) {
        *status = store_down(h);
        return 1;
    }
    if (db_rows(r) == 0) {
        db_result_free(&r);
        return 0;
    }
    const char *kept = db_text(r, 0, 0);
    if (strlen(kept) != 64 || CRYPTO_memcmp(kept, idem->fingerprint, 64) != 0)
        *status = http_problem(h, 422, "this Idempotency-Key was used with a different request", NULL, NULL);
    else
        *status = resend(h, idem, (int)db_int(r, 0, 1), db_text(r, 0, 2));
    db_result_free(&r);
    return 1;
}

int idem_begin(db_t *db, const http_ctx_t *h, const Parley__Common__V1__Principal *principal, const char *key,
               const idem_request_t *rq, idem_t *idem) {
    memset(idem, 0, sizeof *idem);
    if (!key_is_valid(key)) {
        pb_errors_t errs;
        pb_errors_init(&errs, h->arena);
        pb_errors_add(&errs, "Idempotency-Key", "must be 1 to 255 visible ASCII characters");
        return http_problem(h, 400, "the Idempotency-Key header is not valid", &errs, NULL);
    }
    idem->principal = principal;
    idem->rpc = rq->rpc;
    size_t slen;
    const unsigned char *secret = auth_secret(&slen);
    if (idem_derive(secret, slen, principal->client_id, key, idem->replay_key, idem->digest, idem->lock_id) != 0 ||
        idem_fingerprint(idem->replay_key, rq, idem->fingerprint) != 0)
        return http_problem(h, 500, "the Idempotency-Key cannot be processed", NULL, NULL);

    int64_t until = clock_mono_ms() + config_long("PARLEY_IDEMPOTENCY_WAIT_MS", 3000, 0, 30000);
    int status = 0;
    while (!locked(db, idem->lock_id)) {
        if (clock_mono_ms() >= until) {
            status = http_problem_as(h, BUS_PROBLEM_IDEMPOTENCY_IN_FLIGHT, NULL, NULL, "Retry-After: 1\r\n");
            goto done;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    idem->held = true;
    if (replay(db, h, idem, &status)) {
        unlock(db, idem);
        goto done;
    }
    return 0;
done:
    OPENSSL_cleanse(idem->replay_key, sizeof idem->replay_key);
    return status;
}

/* Seals and stores rec; logs what it cannot. */
static void keep(db_t *db, idem_t *idem, const http_record_t *rec) {
    bool as_is;
    char *clean = idem_keepable_body(idem->rpc, rec->body, rec->len, &as_is);
    if (!as_is && clean == NULL) {
        log_warn(NULL, "an answer holding a secret could not be cleaned of it: not kept for replay");
        return;
    }
    const char *body = as_is ? (rec->body ? rec->body : "") : clean;
    size_t body_len = as_is ? rec->len : strlen(clean);
    const char *type = rec->content_type ? rec->content_type : "application/json";
    const char *headers = rec->headers ? rec->headers : "";
    size_t tl = strlen(type), hl = strlen(headers), len = tl + 1 + hl + 1 + body_len;
    unsigned char *plain = malloc(len + 1), *sealed = NULL;
    size_t sealed_len = 0;
    char *hex = NULL;
    arena_t *a = arena_new();
    if (plain == NULL || a == NULL) goto cleanup;
    memcpy(plain, type, tl + 1);
    memcpy(plain + tl + 1, headers, hl + 1);
    memcpy(plain + tl + 1 + hl + 1, body, body_len);
    if (idem_seal(idem->replay_key, seal_aad(a, idem, rec->status), plain, len, &sealed, &sealed_len) != 0)
        goto cleanup;
    hex = malloc(2 * sealed_len + 1);
    if (hex == NULL) goto cleanup;
    to_hex(sealed, sealed_len, hex);
    char status[8];
    snprintf(status, sizeof status, "%d", rec->status);
    const char *p[] = {idem->principal->client_id, idem->digest, idem->fingerprint, status, hex};
    int rc = db_tx_begin(db, idem->principal);
    if (rc == 0) rc = db_exec(db, "idem_put", 5, p, NULL);
    /* Now and then, forget keys past their 24 hours (a policy lets any
     * client's transaction delete expired rows, and only those). */
    if (rc == 0 && rand() % 1000 == 0) rc = db_exec(db, "idem_purge", 0, NULL, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) {
        log_warn(NULL, "could not keep the answer for an Idempotency-Key: %s", db_error(db));
        db_tx_rollback(db);
    }
cleanup:
    if (plain) OPENSSL_cleanse(plain, len);
    if (clean) OPENSSL_cleanse(clean, strlen(clean));
    free(plain);
    free(clean);
    free(sealed);
    free(hex);
    arena_destroy(&a);
}

void idem_finish(db_t *db, idem_t *idem, const http_record_t *rec) {
    if (!idem->held) return;
    if (rec->status > 0 && rec->status < 500) keep(db, idem, rec);
    unlock(db, idem);
    OPENSSL_cleanse(idem->replay_key, sizeof idem->replay_key);
}
