#include "gateway/conn_limit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

/* What a refused client reads, if it reads at all (built by conn_limit_init). */
static const char refusal_body[] =
    "{\"type\":\"/docs/problems#service-unavailable\",\"title\":\"Service Unavailable\",\"status\":503,"
    "\"detail\":\"too many connections from this address\"}";
static char refusal[512];
static size_t refusal_len;

/* The addresses with open connections, unordered. Open connections are
 * bounded by the worker threads plus CivetWeb's queue, so a linear scan is
 * short; past MAX_ADDRS distinct addresses (never expected) connections are
 * let through uncounted rather than refused. */
#define MAX_ADDRS 4096

typedef struct {
    unsigned char addr[16]; /* IPv6, or IPv4-mapped */
    int open;
} entry_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t entries[MAX_ADDRS];
static size_t n_entries;
static int cap;
static size_t open_now;
static _Atomic uint64_t refused;

void conn_limit_init(int per_addr) {
    cap = per_addr > 0 ? per_addr : 0;
    int n = snprintf(refusal, sizeof refusal,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
                     "Retry-After: 5\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     sizeof refusal_body - 1, refusal_body);
    refusal_len = n > 0 && (size_t)n < sizeof refusal ? (size_t)n : 0;
}

uint64_t conn_limit_refused(void) { return atomic_load_explicit(&refused, memory_order_relaxed); }

size_t conn_limit_open(void) {
    pthread_mutex_lock(&lock);
    size_t n = open_now;
    pthread_mutex_unlock(&lock);
    return n;
}

/* addr's entry, or NULL. Called with the lock held. */
static entry_t *find(const unsigned char *addr) {
    for (size_t i = 0; i < n_entries; i++)
        if (memcmp(entries[i].addr, addr, 16) == 0) return &entries[i];
    return NULL;
}

static bool key_of_sockaddr(const struct sockaddr_storage *ss, unsigned char out[16]) {
    if (ss->ss_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        return true;
    }
    if (ss->ss_family == AF_INET) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        return true;
    }
    return false; /* a Unix socket: not limited */
}

static bool key_of_text(const char *text, unsigned char out[16]) {
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

/* Counts a new connection from key. false when it is over the cap. */
static bool admit(const unsigned char *key) {
    pthread_mutex_lock(&lock);
    entry_t *e = find(key);
    if (e == NULL && n_entries < MAX_ADDRS) {
        e = &entries[n_entries++];
        memcpy(e->addr, key, 16);
        e->open = 0;
    }
    bool ok = e == NULL || e->open < cap;
    if (e != NULL && ok) {
        e->open++;
        open_now++;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

void conn_limit_closed(const char *remote_addr) {
    unsigned char key[16];
    if (cap == 0 || remote_addr == NULL || !key_of_text(remote_addr, key)) return;
    pthread_mutex_lock(&lock);
    entry_t *e = find(key);
    if (e != NULL && --e->open == 0) *e = entries[--n_entries]; /* the last one fills the gap */
    if (e != NULL) open_now--;
    pthread_mutex_unlock(&lock);
}

/* CivetWeb's accepting thread calls this instead of libc's accept. */
int accept(int fd, struct sockaddr *restrict addr, socklen_t *restrict len) {
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof ss;
    int s = accept4(fd, (struct sockaddr *)&ss, &ss_len, 0);
    if (s < 0) return s;
    if (addr != NULL && len != NULL) {
        socklen_t n = ss_len < *len ? ss_len : *len;
        memcpy(addr, &ss, n);
        *len = ss_len;
    }
    unsigned char key[16];
    if (cap == 0 || !key_of_sockaddr(&ss, key) || admit(key)) return s;
    /* Never blocks: the socket's buffer takes a few hundred bytes. */
    if (refusal_len > 0) (void)!send(s, refusal, refusal_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    close(s);
    if (atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed) % 1000 == 0)
        log_warn(NULL, "connections refused: more than %d open from one address", cap);
    errno = EAGAIN;
    return -1;
}
