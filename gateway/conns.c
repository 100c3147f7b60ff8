#include "gateway/conns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

/* More than CivetWeb's most threads (4096, PARLEY_HTTP_THREADS) plus its
 * queue: CivetWeb stops accepting while its queue is full, so this is
 * never reached; if it were, the connection is refused like one over cap. */
#define MAX_CONNS 8192

typedef struct {
    unsigned char addr[16]; /* IPv6, or IPv4-mapped */
    int port;
    int fd;
} conn_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static conn_t conns[MAX_CONNS];
static size_t n_conns;
static int cap;
static _Atomic uint64_t refused;

/* What a refused client reads, if it reads at all (built by conns_init). */
static const char refusal_body[] =
    "{\"type\":\"/docs/problems#service-unavailable\",\"title\":\"Service Unavailable\",\"status\":503,"
    "\"code\":\"too_many_connections\",\"detail\":\"too many connections from this address\"}";
static char refusal[512];
static size_t refusal_len;

void conns_init(int per_addr) {
    cap = per_addr > 0 ? per_addr : 0;
    int n = snprintf(refusal, sizeof refusal,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
                     "Retry-After: 5\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     sizeof refusal_body - 1, refusal_body);
    refusal_len = n > 0 && (size_t)n < sizeof refusal ? (size_t)n : 0;
}

uint64_t conns_refused(void) { return atomic_load_explicit(&refused, memory_order_relaxed); }

size_t conns_open(void) {
    pthread_mutex_lock(&lock);
    size_t n = n_conns;
    pthread_mutex_unlock(&lock);
    return n;
}

static void ipv4_mapped(const void *v4, unsigned char out[16]) {
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

/* The peer's address and port. false for a socket that is neither IPv4 nor IPv6. */
static bool peer_of(const struct sockaddr_storage *ss, unsigned char addr[16], int *port) {
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        memcpy(addr, &s6->sin6_addr, 16);
        *port = ntohs(s6->sin6_port);
        return true;
    }
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        ipv4_mapped(&s4->sin_addr, addr);
        *port = ntohs(s4->sin_port);
        return true;
    }
    return false;
}

static bool addr_of_text(const char *text, unsigned char out[16]) {
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        ipv4_mapped(&v4, out);
        return true;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

/* The index of the connection addr:port, or -1. Called with the lock held. */
static long find(const unsigned char *addr, int port) {
    for (size_t i = 0; i < n_conns; i++)
        if (conns[i].port == port && memcmp(conns[i].addr, addr, 16) == 0) return (long)i;
    return -1;
}

/* Records a new connection. false when its address is at its cap (or the
 * record is full). */
static bool admit(const unsigned char *addr, int port, int fd) {
    pthread_mutex_lock(&lock);
    int from_addr = 0;
    if (cap > 0)
        for (size_t i = 0; i < n_conns; i++) from_addr += memcmp(conns[i].addr, addr, 16) == 0;
    bool ok = n_conns < MAX_CONNS && (cap == 0 || from_addr < cap);
    if (ok) {
        conn_t *c = &conns[n_conns++];
        memcpy(c->addr, addr, 16);
        c->port = port;
        c->fd = fd;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

void conns_closed(const char *remote_addr, int remote_port) {
    unsigned char addr[16];
    if (remote_addr == NULL || !addr_of_text(remote_addr, addr)) return;
    pthread_mutex_lock(&lock);
    long i = find(addr, remote_port);
    if (i >= 0) conns[i] = conns[--n_conns]; /* the last one fills the gap */
    pthread_mutex_unlock(&lock);
}

int conns_fd(const char *remote_addr, int remote_port) {
    unsigned char addr[16];
    if (remote_addr == NULL || !addr_of_text(remote_addr, addr)) return -1;
    pthread_mutex_lock(&lock);
    long i = find(addr, remote_port);
    int fd = i >= 0 ? conns[i].fd : -1;
    pthread_mutex_unlock(&lock);
    return fd;
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
    unsigned char peer[16];
    int port;
    if (!peer_of(&ss, peer, &port) || admit(peer, port, s)) return s;
    /* Never blocks: the socket's buffer takes a few hundred bytes. */
    if (refusal_len > 0) (void)!send(s, refusal, refusal_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    close(s);
    if (atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed) % 1000 == 0)
        log_warn(NULL, "connections refused: more than %d open from one address", cap);
    errno = EAGAIN;
    return -1;
}
