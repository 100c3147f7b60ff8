#include "kv/kv.h"

#include <errno.h>
#include <stdbool.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

struct kv {
    char host[256];
    int port;
    redisContext *ctx;
    int64_t next_attempt_ms;
    int backoff_ms;
    char charge_sha[41]; /* the charge script's SHA1 once SCRIPT LOAD answered */
};

kv_t *kv_new(const char *url) {
    kv_t *kv = calloc(1, sizeof *kv);
    if (kv == NULL) return NULL;
    const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    if (sscanf(p, "%255[^:/]:%d", kv->host, &kv->port) != 2 || kv->port <= 0 || kv->port > 65535) {
        log_error(NULL, "bad redis url %s", url);
        free(kv);
        return NULL;
    }
    return kv;
}

void kv_destroy(kv_t **self) {
    if (self == NULL || *self == NULL) return;
    if ((*self)->ctx != NULL) redisFree((*self)->ctx);
    free(*self);
    *self = NULL;
}

static void kv_drop(kv_t *self) {
    if (self->ctx != NULL) redisFree(self->ctx);
    self->ctx = NULL;
    self->backoff_ms = self->backoff_ms == 0 ? 100 : self->backoff_ms * 2;
    if (self->backoff_ms > 2000) self->backoff_ms = 2000;
    self->next_attempt_ms = clock_mono_ms() + self->backoff_ms;
}

/* 0 when connected; -EAGAIN while a backoff runs; -EIO when connecting
 * failed now. Logged at debug level only: with a context per thread, a
 * warning here would repeat per thread every backoff; the caller (the rate
 * limiter, /readyz) reports the transition once. */
static int kv_ensure(kv_t *self) {
    if (self->ctx != NULL) return 0;
    if (clock_mono_ms() < self->next_attempt_ms) return -EAGAIN;
    struct timeval tv = {0, 250000};
    self->ctx = redisConnectWithTimeout(self->host, self->port, tv);
    if (self->ctx == NULL || self->ctx->err) {
        log_debug(NULL, "redis unavailable: %s", self->ctx ? self->ctx->errstr : "out of memory");
        kv_drop(self);
        return -EIO;
    }
    redisSetTimeout(self->ctx, tv);
    self->backoff_ms = 0;
    return 0;
}

/* Runs one command (argv). NULL with *err set when there is no reply:
 * -EAGAIN (not tried: backoff) or -EIO (the connection is dropped). A
 * connection made earlier may have died unseen (Redis restarted while this
 * thread was idle), so its failure earns one immediate retry on a fresh
 * connection: otherwise every idle thread would report a stale failure
 * after Redis came back. (A retried command may run twice; the callers'
 * commands tolerate that.) */
static redisReply *kv_run(kv_t *self, int argc, const char **argv, const size_t *lens, int *err) {
    bool fresh = self->ctx == NULL;
    if ((*err = kv_ensure(self)) != 0) return NULL;
    redisReply *r = redisCommandArgv(self->ctx, argc, argv, lens);
    if (r == NULL && !fresh) {
        redisFree(self->ctx);
        self->ctx = NULL;
        self->next_attempt_ms = 0;
        if ((*err = kv_ensure(self)) != 0) return NULL;
        r = redisCommandArgv(self->ctx, argc, argv, lens);
    }
    if (r == NULL) {
        log_debug(NULL, "redis failed: %s", self->ctx->errstr);
        kv_drop(self);
        *err = -EIO;
    }
    return r;
}

int kv_check(kv_t *self) {
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    int rc;
    redisReply *r = kv_run(self, 1, argv, lens, &rc);
    if (r == NULL) return rc;
    bool ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    freeReplyObject(r);
    if (!ok) kv_drop(self);
    return ok ? 0 : -EIO;
}

bool kv_ping(kv_t *self) {
    return kv_check(self) == 0;
}

/* Adds what one gateway admitted on its own to a shared GCRA bucket (the
 * generic cell rate algorithm: a bucket is its theoretical arrival time):
 * the time moves on by count intervals (from now if it had fallen behind),
 * whatever the burst says, since the requests were served already. One
 * script, so read-add-write is atomic however many gateways share the
 * bucket, and "now" is Redis's clock. Times are integer microseconds (exact
 * in Lua's doubles until 2^53 us, the year 2255); the stored value is
 * formatted with %.0f because Lua would print a large number in exponent
 * form. Returns the time the bucket stands ahead of Redis's clock now: the
 * debt every instance shares. */
static const char charge_lua[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local interval = tonumber(ARGV[1])\n"
    "local count = tonumber(ARGV[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now\n"
    "if tat < now then tat = now end\n"
    "tat = tat + count * interval\n"
    "if tat > now then\n"
    "  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))\n"
    "end\n"
    "return tat - now\n";

static int kv_load(kv_t *self, const char *script, size_t len, char sha[41]) {
    const char *argv[] = {"SCRIPT", "LOAD", script};
    size_t lens[] = {6, 4, len};
    int rc;
    redisReply *r = kv_run(self, 3, argv, lens, &rc);
    if (r == NULL) return rc;
    rc = -EPROTO;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(sha, r->str, 40);
        sha[40] = '\0';
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

static int kv_gcra_charge_once(kv_t *self, size_t n, const kv_charge_t *items, long long *debt_us, bool *noscript);

int kv_gcra_charge(kv_t *self, size_t n, const kv_charge_t *items, long long *debt_us) {
    bool noscript = false;
    int rc = kv_gcra_charge_once(self, n, items, debt_us, &noscript);
    /* Redis restarted (or its script cache was flushed) since the script was
     * loaded: load it again and charge once more. No command ran. */
    if (noscript) {
        self->charge_sha[0] = '\0';
        rc = kv_gcra_charge_once(self, n, items, debt_us, &noscript);
    }
    return rc;
}

static int kv_gcra_charge_once(kv_t *self, size_t n, const kv_charge_t *items, long long *debt_us, bool *noscript) {
    int rc;
    *noscript = false;
    if (n == 0) return 0;
    if (self->charge_sha[0] == '\0' && (rc = kv_load(self, charge_lua, sizeof charge_lua - 1, self->charge_sha)) != 0)
        return rc;
    if ((rc = kv_ensure(self)) != 0) return rc;
    /* One pipeline: every command is written, then every reply read. */
    for (size_t i = 0; i < n; i++) {
        char interval[24], count[24];
        snprintf(interval, sizeof interval, "%lld", items[i].interval_us > 0 ? items[i].interval_us : 1);
        snprintf(count, sizeof count, "%lld", items[i].count);
        const char *argv[] = {"EVALSHA", self->charge_sha, "1", items[i].key, interval, count};
        size_t lens[] = {7, 40, 1, strlen(items[i].key), strlen(interval), strlen(count)};
        if (redisAppendCommandArgv(self->ctx, 6, argv, lens) != REDIS_OK) {
            kv_drop(self);
            return -EIO;
        }
    }
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(self->ctx, (void **)&r) != REDIS_OK || r == NULL) {
            log_debug(NULL, "redis failed: %s", self->ctx->errstr);
            kv_drop(self);
            return -EIO;
        }
        if (r->type == REDIS_REPLY_INTEGER) {
            debt_us[i] = r->integer;
        } else {
            if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) *noscript = true;
            debt_us[i] = -1;
            rc = -EPROTO;
        }
        freeReplyObject(r);
    }
    return rc;
}
