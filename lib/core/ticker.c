/* A thread that ticks every interval (contract in ticker.h). */
#include "core/ticker.h"

#include "core/clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct ticker {
    ticker_config_t cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping, woken, failed;
};

static bool ticker_is_stopping(ticker_t *self) {
    pthread_mutex_lock(&self->lock);
    bool stop = self->stopping;
    pthread_mutex_unlock(&self->lock);
    return stop;
}

/* Waits interval_ms, or until woken or told to stop. */
static void ticker_wait(ticker_t *self) {
    struct timespec until = clock_timespec_in(CLOCK_REALTIME, self->cfg.interval_ms);
    pthread_mutex_lock(&self->lock);
    if (!self->stopping && !self->woken) pthread_cond_timedwait(&self->wake, &self->lock, &until);
    self->woken = false;
    pthread_mutex_unlock(&self->lock);
}

static void *ticker_main(void *arg) {
    ticker_t *self = arg;
    const ticker_config_t *cfg = &self->cfg;
    if (cfg->setup && cfg->setup(cfg->ctx) != 0) {
        pthread_mutex_lock(&self->lock);
        self->failed = true;
        pthread_mutex_unlock(&self->lock);
    } else {
        while (!ticker_is_stopping(self))
            if (cfg->tick(cfg->ctx) <= 0) ticker_wait(self);
    }
    if (cfg->teardown) cfg->teardown(cfg->ctx);
    return NULL;
}

ticker_t *ticker_new(const ticker_config_t *cfg) {
    ticker_t *self = calloc(1, sizeof *self);
    if (self == NULL) return NULL;
    self->cfg = *cfg;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    if (pthread_create(&self->thread, NULL, ticker_main, self) != 0) {
        pthread_mutex_destroy(&self->lock);
        pthread_cond_destroy(&self->wake);
        free(self);
        return NULL;
    }
    return self;
}

void ticker_wake(ticker_t *self) {
    pthread_mutex_lock(&self->lock);
    self->woken = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

bool ticker_has_failed(ticker_t *self) {
    pthread_mutex_lock(&self->lock);
    bool failed = self->failed;
    pthread_mutex_unlock(&self->lock);
    return failed;
}

void ticker_destroy(ticker_t **self) {
    if (self == NULL || *self == NULL) return;
    ticker_t *t = *self;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    free(t);
    *self = NULL;
}
