#include "kv/kv.h"

#include <errno.h>
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
    char gcra_sha[41]; /* the GCRA script's SHA1 once SCRIPT LOAD answered */
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

/* GCRA in one script, so that read-decide-write is atomic however many
 * gateway instances share the bucket, and "now" is Redis's clock, not each
 * gateway's. Times are integer microseconds (exact in Lua's doubles until
 * 2^53 us, the year 2255); the stored value is formatted with %.0f because
 * Lua would print a large number in exponent form. The return is
 * {allowed, remaining, retry_after_us, reset_us}. */
static const char gcra_lua[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local interval = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now\n"
    "if tat < now then tat = now end\n"
    "local new_tat = tat + interval\n"
    "local allow_at = new_tat - burst * interval\n"
    "if now < allow_at then return {0, 0, allow_at - now, tat - now} end\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))\n"
    "return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}\n";

static int kv_gcra_load(kv_t *self) {
    const char *argv[] = {"SCRIPT", "LOAD", gcra_lua};
    size_t lens[] = {6, 4, sizeof gcra_lua - 1};
    int rc;
    redisReply *r = kv_run(self, 3, argv, lens, &rc);
    if (r == NULL) return rc;
    rc = -EPROTO;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(self->gcra_sha, r->str, 40);
        self->gcra_sha[40] = '\0';
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

int kv_gcra(kv_t *self, const char *key, long limit, long period_s, long burst, kv_rate_t *out) {
    if (limit <= 0 || period_s <= 0 || burst <= 0) return -EINVAL;
    int rc;
    if (self->gcra_sha[0] == '\0' && (rc = kv_gcra_load(self)) != 0) return rc;
    long long interval = (long long)period_s * 1000000 / limit;
    char interval_s[24], burst_s[24];
    snprintf(interval_s, sizeof interval_s, "%lld", interval > 0 ? interval : 1);
    snprintf(burst_s, sizeof burst_s, "%ld", burst);
    const char *argv[] = {"EVALSHA", self->gcra_sha, "1", key, interval_s, burst_s};
    size_t lens[] = {7, 40, 1, strlen(key), strlen(interval_s), strlen(burst_s)};
    redisReply *r = kv_run(self, 6, argv, lens, &rc);
    if (r == NULL) return rc;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* Redis restarted or its script cache was flushed: EVAL sends the
         * text (and caches it again, so EVALSHA works next time). */
        freeReplyObject(r);
        argv[0] = "EVAL";
        argv[1] = gcra_lua;
        lens[0] = 4;
        lens[1] = sizeof gcra_lua - 1;
        if ((r = kv_run(self, 6, argv, lens, &rc)) == NULL) return rc;
    }
    rc = -EPROTO;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
        long long v[4];
        size_t i;
        for (i = 0; i < 4 && r->element[i]->type == REDIS_REPLY_INTEGER; i++) v[i] = r->element[i]->integer;
        if (i == 4) {
            out->allowed = v[0] == 1;
            out->remaining = (long)v[1];
            out->retry_after = (double)v[2] / 1e6;
            out->reset = (double)v[3] / 1e6;
            rc = 0;
        }
    }
    if (rc != 0) log_debug(NULL, "redis GCRA: unexpected reply%s%s", r->type == REDIS_REPLY_ERROR ? ": " : "",
                           r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
    return rc;
}
