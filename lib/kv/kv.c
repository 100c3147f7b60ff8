#include "kv/kv.h"

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

static int kv_ensure(kv_t *self) {
    if (self->ctx != NULL) return 0;
    if (clock_mono_ms() < self->next_attempt_ms) return -1;
    struct timeval tv = {0, 250000};
    self->ctx = redisConnectWithTimeout(self->host, self->port, tv);
    if (self->ctx == NULL || self->ctx->err) {
        log_warn(NULL, "redis unavailable: %s", self->ctx ? self->ctx->errstr : "out of memory");
        kv_drop(self);
        return -1;
    }
    redisSetTimeout(self->ctx, tv);
    self->backoff_ms = 0;
    return 0;
}

bool kv_ping(kv_t *self) {
    if (kv_ensure(self) != 0) return false;
    redisReply *r = redisCommand(self->ctx, "PING");
    bool ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r != NULL) freeReplyObject(r);
    if (!ok) kv_drop(self);
    return ok;
}
