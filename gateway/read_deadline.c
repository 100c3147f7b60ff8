#include "gateway/read_deadline.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;
static read_deadline_t *armed; /* unordered: one a thread at most, few at once */
static pthread_t watchdog;
static bool running, stopping;

/* Sleeps until the earliest deadline (or a change), then fires every one
 * that has passed, all under the lock so that a disarm never races a shutdown. */
static void *watch(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        int64_t now = clock_mono_ms(), next = now + 1000;
        for (read_deadline_t *d = armed; d != NULL; d = d->next) {
            if (d->fired) continue;
            if (d->at_ms <= now) {
                shutdown(d->fd, SHUT_RD);
                d->fired = true;
            } else if (d->at_ms < next) {
                next = d->at_ms;
            }
        }
        struct timespec until = clock_timespec_in(CLOCK_MONOTONIC, next - now);
        pthread_cond_timedwait(&changed, &lock, &until);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int read_deadline_start(void) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&changed, &attr);
    pthread_condattr_destroy(&attr);
    stopping = false;
    if (pthread_create(&watchdog, NULL, watch, NULL) != 0) {
        log_error(NULL, "cannot start the read deadline watchdog");
        return -1;
    }
    running = true;
    return 0;
}

void read_deadline_stop(void) {
    if (!running) return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
    pthread_join(watchdog, NULL);
    pthread_cond_destroy(&changed);
    running = false;
}

void read_deadline_arm(read_deadline_t *d, int fd, int64_t at_ms) {
    d->fd = fd;
    d->at_ms = at_ms;
    d->fired = false;
    d->prev = NULL;
    pthread_mutex_lock(&lock);
    d->next = armed;
    if (armed != NULL) armed->prev = d;
    armed = d;
    pthread_cond_signal(&changed); /* it may be the earliest now */
    pthread_mutex_unlock(&lock);
}

bool read_deadline_disarm(read_deadline_t *d) {
    pthread_mutex_lock(&lock);
    if (d->prev != NULL) d->prev->next = d->next;
    else armed = d->next;
    if (d->next != NULL) d->next->prev = d->prev;
    bool fired = d->fired;
    pthread_mutex_unlock(&lock);
    return fired;
}
