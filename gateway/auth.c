#include "gateway/auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "gateway/keys.h"
#include "gateway/roles.h"

#define CACHE_SLOTS 1024

typedef struct {
    char client_id[37];
    char consortium_id[37];
    char (*authorities)[37]; /* n_authorities UUIDs, malloc'd, owned by the entry */
    size_t n_authorities;
    unsigned roles;
    unsigned char hash[KEYS_HASH_LEN];
    int64_t expires_ms; /* monotonic; 0 = empty slot */
} cached_t;

static unsigned char server_secret[128];
static size_t server_secret_len;
static cached_t cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static long cache_ttl_ms = 2000;

static const db_stmt_t auth_stmts[] = {
    {"auth_lookup",
     "SELECT consortium_id, key_hash, roles, authority_ids FROM api_clients"
     " WHERE id = $1 AND revoked_at IS NULL"},
};

const db_stmt_t *auth_statements(size_t *n) {
    *n = sizeof auth_stmts / sizeof auth_stmts[0];
    return auth_stmts;
}

int auth_init(const char *secret_hex) {
    int len = keys_secret_from_hex(secret_hex, server_secret, sizeof server_secret);
    if (len < 0) return -1;
    server_secret_len = (size_t)len;
    cache_ttl_ms = config_long("PARLEY_AUTH_CACHE_MS", 2000, 0, 5000);
    return 0;
}

const unsigned char *auth_secret(size_t *len) {
    *len = server_secret_len;
    return server_secret;
}

static size_t slot_of(const char *id) {
    size_t h = 5381;
    for (; *id; id++) h = h * 33 + (unsigned char)*id;
    return h % CACHE_SLOTS;
}

/* Builds the request's principal from a cache entry. */
static int identity_from(const cached_t *c, arena_t *a, auth_identity_t *id) {
    Parley__Common__V1__Principal *p = arena_alloc(a, sizeof *p);
    if (p == NULL) return -1;
    parley__common__v1__principal__init(p);
    p->client_id = arena_strdup(a, c->client_id);
    p->consortium_id = arena_strdup(a, c->consortium_id);
    p->n_authority_ids = c->n_authorities;
    p->authority_ids = arena_alloc(a, (c->n_authorities + 1) * sizeof(char *));
    for (size_t i = 0; i < c->n_authorities; i++) p->authority_ids[i] = arena_strdup(a, c->authorities[i]);
    size_t n = 0;
    p->roles = arena_alloc(a, 7 * sizeof(char *));
    for (unsigned bit = 1; bit <= ROLE_ANALYST; bit <<= 1)
        if (c->roles & bit) p->roles[n++] = (char *)roles_name(bit);
    p->n_roles = n;
    id->principal = p;
    id->roles = c->roles;
    return 0;
}

/* Reads the client's row into c. AUTH_OK, AUTH_INVALID or AUTH_UNAVAILABLE. */
static auth_result_t load(db_t *db, arena_t *a, const char *client_id, cached_t *c) {
    const char *params[] = {client_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "auth_lookup", 1, params, &r);
    if (rc == DB_ERR_UNAVAILABLE) return AUTH_UNAVAILABLE;
    if (rc != 0) {
        log_error(NULL, "auth lookup failed: %s", db_error(db));
        return AUTH_UNAVAILABLE;
    }
    auth_result_t out = AUTH_INVALID;
    if (db_rows(r) != 1) goto cleanup;
    memset(c, 0, sizeof *c);
    snprintf(c->client_id, sizeof c->client_id, "%s", client_id);
    snprintf(c->consortium_id, sizeof c->consortium_id, "%s", db_text(r, 0, 0));
    if (keys_secret_from_hex(db_text(r, 0, 1), c->hash, sizeof c->hash) != KEYS_HASH_LEN) goto cleanup;
    char **items;
    int n = db_array_parse(a, db_text(r, 0, 2), &items);
    const char *unknown;
    if (n < 0) goto cleanup;
    c->roles = roles_from_names(items, (size_t)n, &unknown);
    n = db_array_parse(a, db_text(r, 0, 3), &items);
    if (n < 0 || n > AUTH_MAX_AUTHORITIES) {
        log_error(NULL, "API client %s holds %d authorities, more than %d: refused", client_id, n, AUTH_MAX_AUTHORITIES);
        goto cleanup;
    }
    c->authorities = malloc((size_t)(n > 0 ? n : 1) * sizeof *c->authorities);
    if (c->authorities == NULL) goto cleanup;
    for (int i = 0; i < n; i++) snprintf(c->authorities[i], 37, "%s", items[i]);
    c->n_authorities = (size_t)n;
    out = AUTH_OK;
cleanup:
    db_result_free(&r);
    return out;
}

void auth_forget(const char *client_id) {
    size_t slot = slot_of(client_id);
    pthread_mutex_lock(&cache_lock);
    if (strcmp(cache[slot].client_id, client_id) == 0) cache[slot].expires_ms = 0;
    pthread_mutex_unlock(&cache_lock);
}

auth_result_t auth_check(db_t *db, arena_t *arena, const char *authorization, auth_identity_t *id) {
    if (authorization == NULL || *authorization == '\0') return AUTH_MISSING;
    if (strncasecmp(authorization, "Bearer ", 7) != 0) return AUTH_MALFORMED;
    const char *key = authorization + 7;
    while (*key == ' ') key++;
    char client_id[37];
    if (keys_parse(key, client_id) != 0) return AUTH_MALFORMED;
    unsigned char presented[KEYS_HASH_LEN];
    if (keys_hash(server_secret, server_secret_len, key, presented) != 0) return AUTH_UNAVAILABLE;

    size_t slot = slot_of(client_id);
    int64_t now = clock_mono_ms();
    auth_result_t out = AUTH_INVALID;
    pthread_mutex_lock(&cache_lock);
    bool hit = cache[slot].expires_ms > now && strcmp(cache[slot].client_id, client_id) == 0;
    if (hit && keys_hash_equal(presented, cache[slot].hash))
        out = identity_from(&cache[slot], arena, id) == 0 ? AUTH_OK : AUTH_UNAVAILABLE;
    pthread_mutex_unlock(&cache_lock);
    if (hit) return out;

    cached_t c;
    auth_result_t rc = load(db, arena, client_id, &c);
    if (rc != AUTH_OK) return rc;
    c.expires_ms = now + cache_ttl_ms;
    if (keys_hash_equal(presented, c.hash))
        out = identity_from(&c, arena, id) == 0 ? AUTH_OK : AUTH_UNAVAILABLE;
    if (cache_ttl_ms > 0) {
        pthread_mutex_lock(&cache_lock);
        free(cache[slot].authorities);
        cache[slot] = c; /* the slot owns c's authorities now */
        pthread_mutex_unlock(&cache_lock);
    } else {
        free(c.authorities);
    }
    return out;
}
