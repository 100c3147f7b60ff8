#include "registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct service service_t;
typedef struct request request_t;

struct registry_worker {
    uint8_t *id;
    size_t id_len;
    service_t *service;
    bool busy;
    int64_t seen_until; /* alive until then on heartbeats alone */
    int64_t busy_until; /* and, while busy, until then for its request */
    int64_t deadline;   /* while busy: its request's */
    uint8_t *job;       /* while busy, if assigned: tag then principal (one allocation) */
    size_t tag_len, principal_len;
    registry_worker_t *prev, *next;           /* every worker */
    registry_worker_t *idle_prev, *idle_next; /* service's idle list, LRU first */
};

struct request {
    void *request;
    int64_t deadline;
    request_t *prev, *next;
};

struct service {
    char *name;
    size_t workers, idle, depth, peak;
    registry_worker_t *idle_head, *idle_tail; /* head: idle longest */
    request_t *wait_head, *wait_tail;         /* head: waiting longest */
    service_t *next;
};

struct registry {
    int64_t liveness_ms;
    int64_t quiet_ms; /* 0: off; else an idle worker silent this long is offered work last */
    registry_free_fn free_request;
    registry_worker_t *workers;
    service_t *services;
    int64_t next_deadline; /* a lower bound on every waiting deadline */
};

registry_t *registry_new(int64_t liveness_ms, registry_free_fn free_request) {
    registry_t *self = calloc(1, sizeof *self);
    if (self == NULL) return NULL;
    self->liveness_ms = liveness_ms;
    self->free_request = free_request;
    self->next_deadline = INT64_MAX;
    return self;
}

/* ---- services ---- */

static service_t *service_find(const registry_t *self, const char *name) {
    for (service_t *s = self->services; s != NULL; s = s->next)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

static service_t *service_require(registry_t *self, const char *name) {
    service_t *s = service_find(self, name);
    if (s != NULL) return s;
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->name = strdup(name)) == NULL) {
        free(s);
        return NULL;
    }
    s->next = self->services;
    self->services = s;
    return s;
}

/* Frees a service nothing refers to any more, so names clients merely asked
 * for do not accumulate. */
static void service_release(registry_t *self, service_t *s) {
    if (s->workers > 0 || s->wait_head != NULL) return;
    for (service_t **link = &self->services; *link != NULL; link = &(*link)->next) {
        if (*link == s) {
            *link = s->next;
            break;
        }
    }
    free(s->name);
    free(s);
}

/* ---- idle lists ---- */

static void idle_push_tail(service_t *s, registry_worker_t *w) {
    w->idle_next = NULL;
    w->idle_prev = s->idle_tail;
    if (s->idle_tail != NULL) s->idle_tail->idle_next = w;
    else s->idle_head = w;
    s->idle_tail = w;
    s->idle++;
}

static void idle_unlink(service_t *s, registry_worker_t *w) {
    if (w->idle_prev != NULL) w->idle_prev->idle_next = w->idle_next;
    else s->idle_head = w->idle_next;
    if (w->idle_next != NULL) w->idle_next->idle_prev = w->idle_prev;
    else s->idle_tail = w->idle_prev;
    w->idle_prev = w->idle_next = NULL;
    s->idle--;
}

static bool worker_alive(const registry_worker_t *w, int64_t now) {
    return now < w->seen_until || (w->busy && now < w->busy_until);
}

/* Whether an idle worker has been silent longer than a live one ever is
 * (it heartbeats every interval): a stopped process's workers go quiet long
 * before they are dead. */
static bool worker_quiet(const registry_t *self, const registry_worker_t *w, int64_t now) {
    return self->quiet_ms > 0 && now - (w->seen_until - self->liveness_ms) > self->quiet_ms;
}

void registry_set_quiet_ms(registry_t *self, int64_t quiet_ms) { self->quiet_ms = quiet_ms > 0 ? quiet_ms : 0; }

/* ---- workers ---- */

int registry_worker_add(registry_t *self, const void *id, size_t id_len, const char *service,
                        int64_t now, registry_worker_t **out) {
    if (id_len == 0 || service == NULL || *service == '\0') return -EINVAL;
    if (registry_worker_find(self, id, id_len) != NULL) return -EEXIST;
    registry_worker_t *w = calloc(1, sizeof *w);
    if (w == NULL || (w->id = malloc(id_len)) == NULL) goto nomem;
    if ((w->service = service_require(self, service)) == NULL) goto nomem;
    memcpy(w->id, id, id_len);
    w->id_len = id_len;
    w->seen_until = now + self->liveness_ms;
    w->next = self->workers;
    if (self->workers != NULL) self->workers->prev = w;
    self->workers = w;
    w->service->workers++;
    idle_push_tail(w->service, w);
    if (out != NULL) *out = w;
    return 0;

nomem:
    if (w != NULL) free(w->id);
    free(w);
    return -ENOMEM;
}

registry_worker_t *registry_worker_find(const registry_t *self, const void *id, size_t id_len) {
    for (registry_worker_t *w = self->workers; w != NULL; w = w->next)
        if (w->id_len == id_len && memcmp(w->id, id, id_len) == 0) return w;
    return NULL;
}

void registry_worker_seen(registry_t *self, registry_worker_t *w, int64_t now) {
    w->seen_until = now + self->liveness_ms;
}

static void worker_forget_job(registry_worker_t *w) {
    free(w->job);
    w->job = NULL;
    w->tag_len = w->principal_len = 0;
}

void registry_worker_idle(registry_t *self, registry_worker_t *w, int64_t now) {
    registry_worker_seen(self, w, now);
    if (!w->busy) return; /* a stray reply: it is idle already, keep its place */
    w->busy = false;
    worker_forget_job(w);
    idle_push_tail(w->service, w);
}

int registry_worker_assign(registry_worker_t *w, const void *tag, size_t tag_len,
                           const void *principal, size_t principal_len) {
    worker_forget_job(w);
    if (principal == NULL) principal_len = 0;
    uint8_t *job = malloc(tag_len + principal_len + 1);
    if (job == NULL) return -ENOMEM;
    if (tag_len > 0) memcpy(job, tag, tag_len);
    if (principal_len > 0) memcpy(job + tag_len, principal, principal_len);
    w->job = job;
    w->tag_len = tag_len;
    w->principal_len = principal_len;
    return 0;
}

bool registry_worker_serves(const registry_worker_t *w, const void *tag, size_t tag_len) {
    return w->busy && w->job != NULL && w->tag_len == tag_len &&
           memcmp(w->job, tag, tag_len) == 0;
}

bool registry_acts_for(const registry_t *self, const char *service, const void *principal,
                       size_t principal_len, int64_t now) {
    if (principal == NULL || principal_len == 0) return false;
    for (const registry_worker_t *w = self->workers; w != NULL; w = w->next) {
        if (!w->busy || w->job == NULL || now >= w->deadline) continue;
        if (w->principal_len != principal_len || strcmp(w->service->name, service) != 0) continue;
        if (memcmp(w->job + w->tag_len, principal, principal_len) == 0) return true;
    }
    return false;
}

void registry_worker_remove(registry_t *self, registry_worker_t **w) {
    registry_worker_t *x = *w;
    if (x == NULL) return;
    service_t *s = x->service;
    if (!x->busy) idle_unlink(s, x);
    if (x->prev != NULL) x->prev->next = x->next;
    else self->workers = x->next;
    if (x->next != NULL) x->next->prev = x->prev;
    s->workers--;
    free(x->job);
    free(x->id);
    free(x);
    *w = NULL;
    service_release(self, s);
}

const void *registry_worker_id(const registry_worker_t *w, size_t *len) {
    *len = w->id_len;
    return w->id;
}

const char *registry_worker_service(const registry_worker_t *w) { return w->service->name; }

bool registry_worker_is_busy(const registry_worker_t *w) { return w->busy; }

void registry_foreach_idle(const registry_t *self, int64_t now,
                           void (*fn)(void *ctx, const registry_worker_t *w), void *ctx) {
    for (registry_worker_t *w = self->workers; w != NULL; w = w->next)
        if (!w->busy && worker_alive(w, now)) fn(ctx, w);
}

size_t registry_purge(registry_t *self, int64_t now,
                      void (*fn)(void *ctx, const registry_worker_t *w), void *ctx) {
    size_t n = 0;
    registry_worker_t *next;
    for (registry_worker_t *w = self->workers; w != NULL; w = next) {
        next = w->next;
        if (worker_alive(w, now)) continue;
        if (fn != NULL) fn(ctx, w);
        registry_worker_remove(self, &w);
        n++;
    }
    return n;
}

void registry_foreach_worker(const registry_t *self,
                             void (*fn)(void *ctx, const registry_worker_t *w), void *ctx) {
    for (registry_worker_t *w = self->workers; w != NULL; w = w->next) fn(ctx, w);
}

/* ---- requests ---- */

static void wait_unlink(service_t *s, request_t *r) {
    if (r->prev != NULL) r->prev->next = r->next;
    else s->wait_head = r->next;
    if (r->next != NULL) r->next->prev = r->prev;
    else s->wait_tail = r->prev;
    s->depth--;
}

/* Counts a request just linked into s's queue. */
static void wait_count(service_t *s) {
    s->depth++;
    if (s->depth > s->peak) s->peak = s->depth;
}

int registry_request_add(registry_t *self, const char *service, void *request,
                         int64_t deadline) {
    if (service == NULL || *service == '\0') return -EINVAL;
    request_t *r = calloc(1, sizeof *r);
    service_t *s = r ? service_require(self, service) : NULL;
    if (s == NULL) {
        free(r);
        return -ENOMEM;
    }
    r->request = request;
    r->deadline = deadline;
    r->prev = s->wait_tail;
    if (s->wait_tail != NULL) s->wait_tail->next = r;
    else s->wait_head = r;
    s->wait_tail = r;
    wait_count(s);
    if (deadline < self->next_deadline) self->next_deadline = deadline;
    return 0;
}

int registry_request_return(registry_t *self, const registry_job_t *job) {
    service_t *s = job->worker->service;
    request_t *r = calloc(1, sizeof *r);
    if (r == NULL) return -ENOMEM;
    r->request = job->request;
    r->deadline = job->deadline;
    r->next = s->wait_head;
    if (s->wait_head != NULL) s->wait_head->prev = r;
    else s->wait_tail = r;
    s->wait_head = r;
    wait_count(s);
    if (job->deadline < self->next_deadline) self->next_deadline = job->deadline;
    return 0;
}

bool registry_dispatch(registry_t *self, const char *service, int64_t now, registry_job_t *job) {
    service_t *s = service_find(self, service);
    if (s == NULL) return false;
    request_t *r = s->wait_head;
    while (r != NULL && r->deadline <= now) r = r->next; /* left for registry_expire */
    /* The least recently used live idle worker that is not quiet; a quiet
     * one only when there is no other. Without this, a stopped process's
     * idle workers, never used again, stay at the head of the LRU list and
     * take request after request (a retry too) until they are dropped. */
    registry_worker_t *w = NULL, *quiet = NULL;
    for (registry_worker_t *c = s->idle_head; c != NULL && w == NULL; c = c->idle_next) {
        if (!worker_alive(c, now)) continue; /* left for registry_purge */
        if (!worker_quiet(self, c, now)) w = c;
        else if (quiet == NULL) quiet = c;
    }
    if (w == NULL) w = quiet;
    if (r == NULL || w == NULL) return false;

    wait_unlink(s, r);
    idle_unlink(s, w);
    w->busy = true;
    w->deadline = r->deadline;
    w->busy_until = r->deadline + self->liveness_ms;
    *job = (registry_job_t){w, r->request, r->deadline};
    free(r);
    return true;
}

size_t registry_expire(registry_t *self, int64_t now, void (*fn)(void *ctx, void *request),
                       void *ctx) {
    if (now < self->next_deadline) return 0;
    size_t n = 0;
    int64_t earliest = INT64_MAX;
    service_t *next_s;
    for (service_t *s = self->services; s != NULL; s = next_s) {
        next_s = s->next;
        request_t *next;
        for (request_t *r = s->wait_head; r != NULL; r = next) {
            next = r->next;
            if (r->deadline > now) {
                if (r->deadline < earliest) earliest = r->deadline;
                continue;
            }
            wait_unlink(s, r);
            fn(ctx, r->request);
            free(r);
            n++;
        }
        service_release(self, s);
    }
    self->next_deadline = earliest;
    return n;
}

int64_t registry_next_deadline(const registry_t *self) { return self->next_deadline; }

bool registry_service_ready(const registry_t *self, const char *service, int64_t now) {
    const service_t *s = service_find(self, service);
    if (s == NULL || s->workers == 0) return false;
    for (const registry_worker_t *w = self->workers; w != NULL; w = w->next)
        if (w->service == s && worker_alive(w, now)) return true;
    return false;
}

size_t registry_queue_depth(const registry_t *self, const char *service) {
    const service_t *s = service_find(self, service);
    return s != NULL ? s->depth : 0;
}

void registry_report(registry_t *self, void (*fn)(void *ctx, const registry_stats_t *s),
                     void *ctx) {
    for (service_t *s = self->services; s != NULL; s = s->next) {
        registry_stats_t stats = {s->name, s->depth, s->peak, s->workers, s->idle};
        fn(ctx, &stats);
        s->peak = s->depth;
    }
}

void registry_destroy(registry_t **self) {
    if (self == NULL || *self == NULL) return;
    registry_t *r = *self;
    while (r->workers != NULL) {
        registry_worker_t *w = r->workers;
        registry_worker_remove(r, &w);
    }
    while (r->services != NULL) {
        service_t *s = r->services;
        while (s->wait_head != NULL) {
            request_t *q = s->wait_head;
            wait_unlink(s, q);
            if (r->free_request != NULL) r->free_request(q->request);
            free(q);
        }
        service_release(r, s);
    }
    free(r);
    *self = NULL;
}
