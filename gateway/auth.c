#include "gateway/auth.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "gateway/auth_throttle.h"
#include "gateway/keys.h"
#include "gateway/metrics.h"
#include "gateway/roles.h"

#define CACHE_SLOTS 1024
#define THROTTLE_SLOTS 8192

typedef struct {
    char client_id[37];
    char consortium_id[37];
    char supporter_id[37];   /* "" unless a supporter key bound to one */
    char (*authorities)[37]; /* n_authorities UUIDs, malloc'd, owned by the entry */
    size_t n_authorities;
    unsigned roles;
    unsigned char hash[KEYS_HASH_LEN];
    bool revoked;       /* a revoked client: known (for the audit row), never admitted */
    int64_t expires_ms; /* monotonic; 0 = empty slot */
} cached_t;

/* A client id with no live client: as cheap to refuse again as a known one. */
typedef struct {
    char client_id[37];
    int64_t expires_ms;
} unknown_t;

static unsigned char server_secret[128];
static size_t server_secret_len;
static cached_t cache[CACHE_SLOTS];
static unknown_t unknown[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static long cache_ttl_ms = 2000;
static throttle_t *by_address, *by_client;

static const db_stmt_t auth_stmts[] = {
    {"auth_lookup",
     /* A revoked client is read too: its key is refused, and the audit row
      * of the attempt names its consortium, for its admins and DPOs. */
     "SELECT consortium_id, key_hash, roles, authority_ids, supporter_id, revoked_at IS NOT NULL FROM api_clients"
     " WHERE id = $1"},
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
    int64_t window = config_long("PARLEY_AUTH_FAILURE_WINDOW_S", 60, 1, 3600) * 1000;
    throttle_destroy(&by_address);
    throttle_destroy(&by_client);
    int per_address = (int)config_long("PARLEY_AUTH_FAILURES_PER_ADDRESS", 20, 0, 100000);
    int per_client = (int)config_long("PARLEY_AUTH_FAILURES_PER_CLIENT", 10, 0, 100000);
    by_address = throttle_new(THROTTLE_SLOTS, per_address, window);
    by_client = throttle_new(THROTTLE_SLOTS, per_client, window);
    return by_address != NULL && by_client != NULL ? 0 : -1;
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

static Parley__Common__V1__Principal *principal_new(arena_t *a, const cached_t *c) {
    Parley__Common__V1__Principal *p = arena_alloc(a, sizeof *p);
    if (p == NULL) return NULL;
    parley__common__v1__principal__init(p);
    p->client_id = arena_strdup(a, c->client_id);
    p->consortium_id = arena_strdup(a, c->consortium_id);
    p->supporter_id = arena_strdup(a, c->supporter_id);
    p->n_authority_ids = c->n_authorities;
    p->authority_ids = arena_alloc(a, (c->n_authorities + 1) * sizeof(char *));
    for (size_t i = 0; i < c->n_authorities; i++) p->authority_ids[i] = arena_strdup(a, c->authorities[i]);
    return p;
}

/* Builds the request's principal from a cache entry. */
static int identity_from(const cached_t *c, arena_t *a, auth_identity_t *id) {
    Parley__Common__V1__Principal *p = principal_new(a, c);
    if (p == NULL) return -1;
    size_t n = 0;
    p->roles = arena_alloc(a, 8 * sizeof(char *));
    for (unsigned bit = 1; bit <= ROLE_DPO; bit <<= 1)
        if (c->roles & bit) p->roles[n++] = (char *)roles_name(bit);
    p->n_roles = n;
    id->principal = p;
    id->roles = c->roles;
    return 0;
}

/* Whom a failed key claimed to be: the client as known (no roles). */
static void claim(arena_t *a, const cached_t *c, auth_identity_t *id) {
    Parley__Common__V1__Principal *p = principal_new(a, c);
    if (p != NULL) id->claimed = p;
}

/* Reads the client's row into c (c->revoked for a revoked one). AUTH_OK,
 * AUTH_INVALID (no such client) or AUTH_UNAVAILABLE. */
static auth_result_t load(db_t *db, arena_t *a, const char *client_id, cached_t *c) {
    const char *params[] = {client_id};
    db_result_t *r = NULL;
    metrics_auth_lookup();
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
    if (ids_is_uuid(db_text(r, 0, 4))) snprintf(c->supporter_id, sizeof c->supporter_id, "%s", db_text(r, 0, 4));
    c->revoked = db_bool(r, 0, 5);
    if (keys_secret_from_hex(db_text(r, 0, 1), c->hash, sizeof c->hash) != KEYS_HASH_LEN) goto cleanup;
    char **items;
    int n = db_array_parse(a, db_text(r, 0, 2), &items);
    const char *unknown_role;
    if (n < 0) goto cleanup;
    c->roles = roles_from_names(items, (size_t)n, &unknown_role);
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
    if (strcmp(unknown[slot].client_id, client_id) == 0) unknown[slot].expires_ms = 0;
    pthread_mutex_unlock(&cache_lock);
}

static bool is_loopback(const char *addr) {
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, addr, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

void auth_client_address(const char *peer, const char *forwarded_for, char out[AUTH_ADDRESS_LEN]) {
    snprintf(out, AUTH_ADDRESS_LEN, "%s", peer ? peer : "");
    if (peer == NULL || forwarded_for == NULL || !is_loopback(peer)) return;
    /* The proxy appends the address it saw last: the hop it can vouch for. */
    const char *last = strrchr(forwarded_for, ',');
    last = last ? last + 1 : forwarded_for;
    while (*last == ' ' || *last == '\t') last++;
    char candidate[AUTH_ADDRESS_LEN];
    size_t n = strcspn(last, " \t");
    if (n == 0 || n >= sizeof candidate) return;
    memcpy(candidate, last, n);
    candidate[n] = '\0';
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, candidate, buf) == 1 || inet_pton(AF_INET6, candidate, buf) == 1)
        snprintf(out, AUTH_ADDRESS_LEN, "%s", candidate);
}

/* The key of "Bearer <key>", and its client id. 0, or -1 when malformed. */
static int bearer(const char *authorization, const char **key, char client_id[37]) {
    if (strncasecmp(authorization, "Bearer ", 7) != 0) return -1;
    const char *k = authorization + 7;
    while (*k == ' ') k++;
    *key = k;
    return keys_parse(k, client_id);
}

static void failed(const char *address, const char *client_id, int64_t now) {
    metrics_auth_failed(client_id ? METRICS_AUTH_INVALID : METRICS_AUTH_MALFORMED);
    throttle_fail(by_address, address, now);
    throttle_fail(by_client, client_id, now);
}

auth_result_t auth_check(db_t *db, arena_t *arena, const char *authorization, const char *address,
                         auth_identity_t *id) {
    memset(id, 0, sizeof *id);
    if (authorization == NULL || *authorization == '\0') return AUTH_MISSING;
    int64_t now = clock_mono_ms();
    const char *key = NULL;
    char client_id[37];
    bool parsed = bearer(authorization, &key, client_id) == 0;
    cached_t claimed = {0};
    if (parsed) snprintf(claimed.client_id, sizeof claimed.client_id, "%s", client_id);
    claim(arena, &claimed, id);
    size_t slot = parsed ? slot_of(client_id) : 0;

    int64_t wait = throttle_blocked_ms(by_address, address, now);
    int64_t wait_client = parsed ? throttle_blocked_ms(by_client, client_id, now) : 0;
    if (wait_client > wait) wait = wait_client;
    if (wait > 0) {
        /* Refused unchecked; the audit row still names the client if known here. */
        pthread_mutex_lock(&cache_lock);
        if (parsed && cache[slot].expires_ms > now && strcmp(cache[slot].client_id, client_id) == 0)
            claim(arena, &cache[slot], id);
        pthread_mutex_unlock(&cache_lock);
        id->retry_after_s = (int)((wait + 999) / 1000);
        metrics_auth_failed(METRICS_AUTH_THROTTLED);
        return AUTH_THROTTLED;
    }
    if (!parsed) {
        failed(address, NULL, now);
        return AUTH_MALFORMED;
    }
    unsigned char presented[KEYS_HASH_LEN];
    if (keys_hash(server_secret, server_secret_len, key, presented) != 0) return AUTH_UNAVAILABLE;

    auth_result_t out = AUTH_INVALID;
    pthread_mutex_lock(&cache_lock);
    bool hit = cache[slot].expires_ms > now && strcmp(cache[slot].client_id, client_id) == 0;
    bool known_unknown = !hit && unknown[slot].expires_ms > now && strcmp(unknown[slot].client_id, client_id) == 0;
    if (hit && !cache[slot].revoked && keys_hash_equal(presented, cache[slot].hash))
        out = identity_from(&cache[slot], arena, id) == 0 ? AUTH_OK : AUTH_UNAVAILABLE;
    else if (hit)
        claim(arena, &cache[slot], id);
    pthread_mutex_unlock(&cache_lock);
    if (hit || known_unknown) {
        if (out == AUTH_INVALID) failed(address, client_id, now);
        return out;
    }

    cached_t c;
    auth_result_t rc = load(db, arena, client_id, &c);
    if (rc == AUTH_INVALID) {
        if (cache_ttl_ms > 0) {
            pthread_mutex_lock(&cache_lock);
            snprintf(unknown[slot].client_id, sizeof unknown[slot].client_id, "%s", client_id);
            unknown[slot].expires_ms = now + cache_ttl_ms;
            pthread_mutex_unlock(&cache_lock);
        }
        failed(address, client_id, now);
        return AUTH_INVALID;
    }
    if (rc != AUTH_OK) return rc;
    c.expires_ms = now + cache_ttl_ms;
    if (!c.revoked && keys_hash_equal(presented, c.hash)) {
        out = identity_from(&c, arena, id) == 0 ? AUTH_OK : AUTH_UNAVAILABLE;
    } else {
        claim(arena, &c, id);
        failed(address, client_id, now);
    }
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
