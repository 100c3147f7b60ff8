#include "gateway/auth_throttle.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 8

typedef struct {
    char key[THROTTLE_KEY_MAX + 1]; /* "" = free */
    int64_t since_ms;               /* the window's start */
    int failures;
} entry_t;

struct throttle {
    pthread_mutex_t lock;
    entry_t *entries;
    size_t slots;
    int limit;
    int64_t window_ms;
};

throttle_t *throttle_new(size_t slots, int limit, int64_t window_ms) {
    if (slots == 0) slots = 1;
    throttle_t *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    t->entries = calloc(slots, sizeof *t->entries);
    if (t->entries == NULL) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->slots = slots;
    t->limit = limit;
    t->window_ms = window_ms;
    return t;
}

void throttle_destroy(throttle_t **self) {
    if (self == NULL || *self == NULL) return;
    pthread_mutex_destroy(&(*self)->lock);
    free((*self)->entries);
    free(*self);
    *self = NULL;
}

static size_t hash(const char *s) {
    size_t h = 1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The entry holding key, or NULL. Called with the lock held. */
static entry_t *find(throttle_t *t, const char *key) {
    size_t h = hash(key);
    for (size_t i = 0; i < PROBES && i < t->slots; i++) {
        entry_t *e = &t->entries[(h + i) % t->slots];
        if (strcmp(e->key, key) == 0) return e;
    }
    return NULL;
}

static bool expired(const throttle_t *t, const entry_t *e, int64_t now) {
    return e->key[0] == '\0' || now - e->since_ms >= t->window_ms;
}

/* Where key's new entry goes: free or expired first, else fewest failures. */
static entry_t *place(throttle_t *t, const char *key, int64_t now) {
    size_t h = hash(key);
    entry_t *best = NULL;
    for (size_t i = 0; i < PROBES && i < t->slots; i++) {
        entry_t *e = &t->entries[(h + i) % t->slots];
        if (expired(t, e, now)) return e;
        if (best == NULL || e->failures < best->failures) best = e;
    }
    return best;
}

int64_t throttle_blocked_ms(throttle_t *self, const char *key, int64_t now_ms) {
    if (self == NULL || self->limit <= 0 || key == NULL || *key == '\0') return 0;
    char k[THROTTLE_KEY_MAX + 1];
    strncpy(k, key, THROTTLE_KEY_MAX);
    k[THROTTLE_KEY_MAX] = '\0';
    int64_t wait = 0;
    pthread_mutex_lock(&self->lock);
    entry_t *e = find(self, k);
    if (e != NULL && !expired(self, e, now_ms) && e->failures >= self->limit)
        wait = self->window_ms - (now_ms - e->since_ms);
    pthread_mutex_unlock(&self->lock);
    return wait > 0 ? wait : 0;
}

void throttle_fail(throttle_t *self, const char *key, int64_t now_ms) {
    if (self == NULL || self->limit <= 0 || key == NULL || *key == '\0') return;
    char k[THROTTLE_KEY_MAX + 1];
    strncpy(k, key, THROTTLE_KEY_MAX);
    k[THROTTLE_KEY_MAX] = '\0';
    pthread_mutex_lock(&self->lock);
    entry_t *e = find(self, k);
    if (e != NULL && expired(self, e, now_ms)) e->key[0] = '\0';
    if (e == NULL || e->key[0] == '\0') {
        e = place(self, k, now_ms);
        memcpy(e->key, k, sizeof e->key);
        e->since_ms = now_ms;
        e->failures = 0;
    }
    if (e->failures < self->limit) e->failures++;
    pthread_mutex_unlock(&self->lock);
}
