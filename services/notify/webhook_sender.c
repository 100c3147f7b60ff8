/* The webhook sender thread (contract in webhook_sender.h). */
#include "services/notify/webhook_sender.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/ticker.h"
#include "db/db.h"
#include "services/notify/webhook.h"

#define ATTEMPT "jsonb_build_array(jsonb_build_object('at', " DB_MICROS("clock_timestamp()") \
                ", 'responseCode', $2::int, 'error', $3::text, 'durationMs', $4::int))"
#define MAX_ERROR 300

static const db_stmt_t stmts[] = {
    {"wq_claim",
     "SELECT delivery_id, authority_id, tries FROM webhook_queue WHERE next_attempt_at <= now()"
     " ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED"},
    /* Held for $2 ms, longer than a send may take (see sender.c). */
    {"wq_lease",
     "UPDATE webhook_queue SET tries = tries + 1, next_attempt_at = now() + $2::bigint * interval '1 millisecond'"
     " WHERE delivery_id = $1"},
    {"wq_scope", "SELECT set_config('parley.authority_ids', '{' || $1::uuid || '}', true)"},
    {"wq_load",
     "SELECT d.payload, w.id, w.url, encode(w.secret_sealed, 'hex') FROM webhook_deliveries d"
     " JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND d.status = 'WEBHOOK_DELIVERY_STATUS_PENDING'"},
    {"wq_done", "DELETE FROM webhook_queue WHERE delivery_id = $1"},
    {"wd_delivered",
     "UPDATE webhook_deliveries SET status = 'WEBHOOK_DELIVERY_STATUS_DELIVERED', delivered_at = now(),"
     " attempts = attempts || " ATTEMPT " WHERE id = $1"},
    {"wd_retry", "UPDATE webhook_deliveries SET attempts = attempts || " ATTEMPT " WHERE id = $1"},
    {"wd_failed",
     "UPDATE webhook_deliveries SET status = 'WEBHOOK_DELIVERY_STATUS_FAILED', failure_reason = left($5, 500),"
     " attempts = attempts || " ATTEMPT " WHERE id = $1"},
    /* After the tries-th attempt: base × 2^(tries-1), at most the longest, × 0.75 to 1.25. */
    {"wq_later",
     "UPDATE webhook_queue SET next_attempt_at = now() + least($3::bigint,"
     " $2::bigint * power(2, least(tries - 1, 30))) * (0.75 + random() / 2) * interval '1 millisecond'"
     " WHERE delivery_id = $1"},
};

typedef enum { OUT_SENT, OUT_TEMPORARY, OUT_PERMANENT } outcome_t;

struct webhook_sender {
    webhook_sender_config_t cfg;
    ticker_t *ticker;
    db_t *db;
    arena_t *arena;
};

/* One claimed delivery, in the arena. */
typedef struct {
    char *id, *authority, *payload, *webhook_id, *url, *sealed;
    int tries;
} job_t;

/* What the open-socket callback holds curl to. */
typedef struct {
    const webhook_target_t *target;
    bool refused;
} pin_t;

static int setup(void *arg) {
    webhook_sender_t *s = arg;
    s->db = db_new(s->cfg.conninfo);
    s->arena = arena_new();
    if (s->db == NULL || s->arena == NULL) {
        log_error(NULL, "webhook sender: cannot start (no memory or no database)");
        return -1;
    }
    db_register(s->db, stmts, sizeof stmts / sizeof stmts[0]);
    return 0;
}

/* Claims and leases one due delivery into *j: 1, 0 when none is due (or it
 * had ended), or a DB_ERR_*. */
static int claim(webhook_sender_t *s, job_t *j) {
    db_t *db = s->db;
    arena_t *a = s->arena;
    db_result_t *q = NULL, *n = NULL;
    int rc = db_tx_begin(db, NULL);
    if (rc == 0) rc = db_exec(db, "wq_claim", 0, NULL, &q);
    if (rc != 0 || db_rows(q) == 0) {
        db_result_free(&q);
        db_tx_rollback(db);
        return rc;
    }
    j->id = db_str(a, q, 0, 0);
    j->authority = db_str(a, q, 0, 1);
    j->tries = (int)db_int(q, 0, 2);
    db_result_free(&q);
    const char *scope[] = {j->authority}, *one[] = {j->id};
    const char *lease[] = {j->id, arena_printf(a, "%lld", (long long)s->cfg.timeout_ms + 60000)};
    rc = db_exec(db, "wq_scope", 1, scope, NULL);
    if (rc == 0) rc = db_exec(db, "wq_load", 1, one, &n);
    int found = rc == 0 && db_rows(n) == 1;
    if (found) {
        j->payload = db_str(a, n, 0, 0);
        j->webhook_id = db_str(a, n, 0, 1);
        j->url = db_str(a, n, 0, 2);
        j->sealed = db_str(a, n, 0, 3);
        rc = db_exec(db, "wq_lease", 2, lease, NULL);
    } else if (rc == 0) {
        rc = db_exec(db, "wq_done", 1, one, NULL);
    }
    db_result_free(&n);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc != 0 ? rc : found;
}

/* Only the checked address may be connected to. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address) {
    pin_t *pin = clientp;
    const struct sockaddr_storage *want = &pin->target->addr;
    bool same = purpose == CURLSOCKTYPE_IPCXN && address->family == want->ss_family;
    if (same && address->family == AF_INET)
        same = memcmp(&((const struct sockaddr_in *)&address->addr)->sin_addr,
                      &((const struct sockaddr_in *)want)->sin_addr, sizeof(struct in_addr)) == 0;
    else if (same && address->family == AF_INET6)
        same = memcmp(&((const struct sockaddr_in6 *)&address->addr)->sin6_addr,
                      &((const struct sockaddr_in6 *)want)->sin6_addr, sizeof(struct in6_addr)) == 0;
    else same = false;
    if (!same) {
        pin->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static size_t discard(char *data, size_t size, size_t n, void *user) {
    (void)data;
    (void)user;
    return size * n;
}

/* POSTs j's payload, signed, to its URL's checked address: the outcome,
 * *code the HTTP status (0 when none came) and *error what went wrong. */
static outcome_t post(webhook_sender_t *s, const job_t *j, long *code, const char **error) {
    arena_t *a = s->arena;
    const webhook_config_t *cfg = webhook_config();
    *code = 0;
    *error = NULL;
    webhook_target_t t;
    const char *why = NULL;
    if (webhook_url_parse(j->url, &cfg->allow, &t, &why) != 0) {
        *error = arena_printf(a, "the URL %s", why);
        return OUT_PERMANENT;
    }
    int rrc = webhook_target_resolve(&t, &why);
    if (rrc == -2) {
        *error = arena_printf(a, "refused: the host resolves to %s", why);
        return OUT_PERMANENT;
    }
    if (rrc != 0) {
        *error = arena_printf(a, "the URL %s", why);
        return OUT_TEMPORARY;
    }
    char secret[WEBHOOK_SECRET_MAX], signature[WEBHOOK_SIGNATURE_MAX];
    long long ts = (long long)time(NULL);
    if (webhook_secret_open(cfg->key, j->webhook_id, j->sealed, secret) != 0 ||
        webhook_sign(secret, j->id, ts, j->payload, strlen(j->payload), signature) != 0) {
        OPENSSL_cleanse(secret, sizeof secret);
        *error = "the webhook's secret cannot be opened with this service's PARLEY_WEBHOOK_KEY";
        return OUT_TEMPORARY;
    }
    OPENSSL_cleanse(secret, sizeof secret);
    CURL *c = curl_easy_init();
    struct curl_slist *headers = NULL, *resolve = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    pin_t pin = {&t, false};
    const char *lines[] = {"Content-Type: application/json", "User-Agent: Parley-Webhooks/1",
                           arena_printf(a, "webhook-id: %s", j->id), arena_printf(a, "webhook-timestamp: %lld", ts),
                           arena_printf(a, "webhook-signature: %s", signature), "Expect:"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct curl_slist *next = curl_slist_append(headers, lines[i]);
        if (next == NULL) break;
        headers = next;
    }
    /* A name is held to the address checked; a literal needs no lookup. */
    bool v6 = t.addr.ss_family == AF_INET6;
    if (strchr(t.host, ':') == NULL)
        resolve = curl_slist_append(NULL, arena_printf(a, "%s:%d:%s%s%s", t.host, t.port, v6 ? "[" : "", t.addr_text,
                                                       v6 ? "]" : ""));
    if (c == NULL || headers == NULL) {
        curl_slist_free_all(headers);
        curl_slist_free_all(resolve);
        curl_easy_cleanup(c);
        *error = "no memory for the request";
        return OUT_TEMPORARY;
    }
    curl_easy_setopt(c, CURLOPT_URL, j->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, t.https ? "https" : "http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg.timeout_ms);
    if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &pin);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(j->payload));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);
    curl_easy_cleanup(c);
    if (pin.refused) {
        *code = 0;
        *error = arena_printf(a, "refused: curl was about to connect to an address other than the one checked (%s)",
                              t.addr_text);
        return OUT_PERMANENT;
    }
    if (cc == CURLE_OK && *code >= 200 && *code < 300) return OUT_SENT;
    if (cc == CURLE_OK || *code > 0) {
        *error = arena_printf(a, "HTTP %ld", *code);
        return *code >= 500 || *code == 408 || *code == 429 ? OUT_TEMPORARY : OUT_PERMANENT;
    }
    *error = arena_printf(a, "%.*s", MAX_ERROR, *errbuf ? errbuf : curl_easy_strerror(cc));
    return OUT_TEMPORARY;
}

/* Records attempt tries + 1 and what follows, in one transaction. */
static int record(webhook_sender_t *s, const job_t *j, outcome_t out, long code, const char *error, int64_t ms) {
    db_t *db = s->db;
    arena_t *a = s->arena;
    bool last = j->tries + 1 >= s->cfg.max_attempts;
    const char *what = out == OUT_SENT ? "wd_delivered" : out == OUT_TEMPORARY && !last ? "wd_retry" : "wd_failed";
    const char *reason = out == OUT_TEMPORARY && last
                             ? arena_printf(a, "gave up after %d attempts: %s", j->tries + 1, error)
                             : error;
    const char *params[] = {j->id, arena_printf(a, "%ld", code), error, arena_printf(a, "%lld", (long long)ms),
                            reason};
    const char *scope[] = {j->authority}, *one[] = {j->id};
    const char *later[] = {j->id, arena_printf(a, "%lld", (long long)s->cfg.retry_base_ms),
                           arena_printf(a, "%lld", (long long)s->cfg.retry_max_ms)};
    int rc = db_tx_begin(db, NULL);
    if (rc == 0) rc = db_exec(db, "wq_scope", 1, scope, NULL);
    if (rc == 0) rc = db_exec(db, what, strcmp(what, "wd_failed") == 0 ? 5 : 4, params, NULL);
    if (rc == 0 && out == OUT_TEMPORARY && !last) rc = db_exec(db, "wq_later", 3, later, NULL);
    else if (rc == 0) rc = db_exec(db, "wq_done", 1, one, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc;
}

static int send_one(webhook_sender_t *s) {
    job_t j = {0};
    int rc = claim(s, &j);
    if (rc <= 0) return rc;
    long code = 0;
    const char *error = NULL;
    int64_t start = clock_mono_ms();
    outcome_t out = post(s, &j, &code, &error);
    int64_t ms = clock_mono_ms() - start;
    if ((rc = record(s, &j, out, code, error, ms)) != 0) {
        log_error(j.id, "webhook sender: the outcome of delivery %s was not recorded (%s); it will be tried again",
                  j.id, db_error(s->db));
        return rc;
    }
    bool last = j.tries + 1 >= s->cfg.max_attempts;
    /* The URL may be logged (it is the receiver's); the secret and the body never are. */
    if (out == OUT_SENT) log_debug(j.id, "webhook delivery %s delivered (HTTP %ld)", j.id, code);
    else log_warn(j.id, "webhook delivery %s to webhook %s not delivered (attempt %d%s): %s", j.id, j.webhook_id,
                  j.tries + 1, out == OUT_PERMANENT || last ? ", failed" : ", will retry", error);
    return 1;
}

/* Up to 50 deliveries, for at most a second, so a stop waits for one send. */
static int tick(void *arg) {
    webhook_sender_t *s = arg;
    int64_t until = clock_mono_ms() + 1000;
    for (int sent = 0; sent < 50; sent++) {
        int rc = send_one(s);
        arena_reset(s->arena);
        if (rc <= 0) return 0;
        if (clock_mono_ms() >= until) return 1;
    }
    return 1;
}

static void teardown(void *arg) {
    webhook_sender_t *s = arg;
    arena_destroy(&s->arena);
    db_destroy(&s->db);
}

webhook_sender_t *webhook_sender_start(const webhook_sender_config_t *cfg) {
    webhook_sender_t *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->cfg = *cfg;
    ticker_config_t tc = {.interval_ms = cfg->interval_ms, .setup = setup, .tick = tick, .teardown = teardown, .ctx = s};
    if ((s->ticker = ticker_new(&tc)) == NULL) {
        log_error(NULL, "webhook sender: cannot start its thread");
        free(s);
        return NULL;
    }
    return s;
}

void webhook_sender_stop(webhook_sender_t **self) {
    if (self == NULL || *self == NULL) return;
    ticker_destroy(&(*self)->ticker);
    free(*self);
    *self = NULL;
}
