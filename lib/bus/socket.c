#include "bus/socket.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus/auth.h"
#include "core/log.h"

#define SOCKET_MAX_FRAMES 32          /* more than any bus message has */
#define SOCKET_MAX_MSG (64L << 20)    /* a larger frame drops the connection */
#define SOCKET_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define SOCKET_ZAP_DOMAIN "parley"

struct bus_socket {
    void *zsock;
};

/* One context per process, counted by the sockets that use it, so that the
 * last close leaves no ZeroMQ threads or memory behind. */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static void *ctx;
static int ctx_refs;

static void *ctx_acquire(void) {
    pthread_mutex_lock(&ctx_lock);
    if (ctx == NULL) ctx = zmq_ctx_new();
    void *c = ctx;
    if (c != NULL) ctx_refs++;
    pthread_mutex_unlock(&ctx_lock);
    return c;
}

static void ctx_release(void) {
    pthread_mutex_lock(&ctx_lock);
    if (--ctx_refs == 0) {
        zmq_ctx_term(ctx); /* quick: every socket had linger 0 and is closed */
        ctx = NULL;
    }
    pthread_mutex_unlock(&ctx_lock);
}

/* The CURVE options of a socket: a server with server_secret, else a client
 * with the process's keys when it has them. 0 or -1 (errno set). */
static int socket_curve(void *zsock, int type, const bus_key_t *server_secret) {
    if (server_secret != NULL) {
        int one = 1;
        if (zmq_setsockopt(zsock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(zsock, ZMQ_CURVE_SECRETKEY, server_secret->z85, BUS_KEY_Z85_LEN + 1) != 0 ||
            zmq_setsockopt(zsock, ZMQ_ZAP_DOMAIN, SOCKET_ZAP_DOMAIN, strlen(SOCKET_ZAP_DOMAIN)) != 0)
            return -1;
        return 0;
    }
    if (type != ZMQ_DEALER || !bus_auth_curve()) return 0;
    if (zmq_setsockopt(zsock, ZMQ_CURVE_SERVERKEY, bus_auth_broker_key()->z85, BUS_KEY_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(zsock, ZMQ_CURVE_PUBLICKEY, bus_auth_public_key()->z85, BUS_KEY_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(zsock, ZMQ_CURVE_SECRETKEY, bus_auth_secret_key()->z85, BUS_KEY_Z85_LEN + 1) != 0)
        return -1;
    return 0;
}

static bus_socket_t *socket_open(int type, const char *endpoint, bool bind, bool immediate,
                                 const bus_key_t *server_secret) {
    bus_socket_t *self = calloc(1, sizeof *self);
    void *c = self ? ctx_acquire() : NULL;
    if (c == NULL) {
        log_error(NULL, "bus: cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        free(self);
        return NULL;
    }
    int zero = 0, one = 1;
    int64_t max_msg = SOCKET_MAX_MSG;
    self->zsock = zmq_socket(c, type);
    if (self->zsock == NULL) goto fail;
    if (zmq_setsockopt(self->zsock, ZMQ_LINGER, &zero, sizeof zero) != 0) goto fail;
    if (zmq_setsockopt(self->zsock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg) != 0) goto fail;
    if (type == ZMQ_ROUTER &&
        zmq_setsockopt(self->zsock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0)
        goto fail;
    if (immediate && zmq_setsockopt(self->zsock, ZMQ_IMMEDIATE, &one, sizeof one) != 0) goto fail;
    if (socket_curve(self->zsock, type, server_secret) != 0) goto fail;
    if ((bind ? zmq_bind(self->zsock, endpoint) : zmq_connect(self->zsock, endpoint)) != 0)
        goto fail;
    return self;

fail:
    log_error(NULL, "bus: cannot %s %s: %s", bind ? "bind" : "connect to", endpoint,
              zmq_strerror(errno));
    bus_socket_destroy(&self);
    return NULL;
}

bus_socket_t *bus_socket_router_bind(const char *endpoint, const bus_key_t *server_secret) {
    return socket_open(ZMQ_ROUTER, endpoint, true, false, server_secret);
}

bus_socket_t *bus_socket_zap_bind(void) {
    return socket_open(ZMQ_REP, SOCKET_ZAP_ENDPOINT, true, false, NULL);
}

bus_socket_t *bus_socket_dealer_connect(const char *endpoint, bool immediate) {
    return socket_open(ZMQ_DEALER, endpoint, false, immediate, NULL);
}

void bus_socket_destroy(bus_socket_t **self) {
    if (self == NULL || *self == NULL) return;
    if ((*self)->zsock != NULL) zmq_close((*self)->zsock);
    free(*self);
    *self = NULL;
    ctx_release();
}

void bus_socket_linger(bus_socket_t *self, int linger_ms) {
    zmq_setsockopt(self->zsock, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
}

int bus_socket_wait(bus_socket_t *self, int events, int timeout_ms) {
    zmq_pollitem_t item = {self->zsock, 0, 0, 0};
    if (events & BUS_POLL_IN) item.events |= ZMQ_POLLIN;
    if (events & BUS_POLL_OUT) item.events |= ZMQ_POLLOUT;
    int rc = zmq_poll(&item, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (rc < 0) return errno == EINTR ? -EINTR : -EIO;
    int ready = 0;
    if (item.revents & ZMQ_POLLIN) ready |= BUS_POLL_IN;
    if (item.revents & ZMQ_POLLOUT) ready |= BUS_POLL_OUT;
    return ready;
}

int bus_socket_wait_in(bus_socket_t *const *socks, int n, int timeout_ms, unsigned *ready) {
    zmq_pollitem_t items[8];
    if (n < 1 || n > 8) return -EINVAL;
    for (int i = 0; i < n; i++) items[i] = (zmq_pollitem_t){socks[i]->zsock, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(items, n, timeout_ms < 0 ? 0 : timeout_ms);
    if (rc < 0) return errno == EINTR ? -EINTR : -EIO;
    *ready = 0;
    for (int i = 0; i < n; i++)
        if (items[i].revents & ZMQ_POLLIN) *ready |= 1u << i;
    return rc;
}

/* Reads and drops the rest of a message whose first part was read. */
static void socket_drain(void *zsock) {
    int more = 1;
    size_t size = sizeof more;
    while (zmq_getsockopt(zsock, ZMQ_RCVMORE, &more, &size) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, zsock, 0);
        zmq_msg_close(&m);
        if (rc < 0) return;
    }
}

int bus_socket_recv(bus_socket_t *self, bus_frames_t **out) {
    int rc = 0;
    bus_frames_t *msg = bus_frames_new();
    if (msg == NULL) return -ENOMEM;
    for (bool more = true; more;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        /* The parts of a message arrive together: only the first can wait. */
        if (zmq_msg_recv(&part, self->zsock, bus_frames_count(msg) == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            rc = errno == EAGAIN ? -EAGAIN : errno == EINTR ? -EINTR : -EIO;
            zmq_msg_close(&part);
            goto cleanup;
        }
        more = zmq_msg_more(&part);
        /* Every part of a message comes from one connection, but a ROUTER's
         * address part lacks the connection's metadata when zmq_poll looked
         * at the socket first (libzmq 4.3): the first part that has it says. */
        const char *user = *bus_frames_user(msg) ? NULL : zmq_msg_gets(&part, "User-Id");
        if (user != NULL) bus_frames_set_user(msg, user);
        if (bus_frames_count(msg) == SOCKET_MAX_FRAMES) rc = -EBADMSG;
        else rc = bus_frames_push(msg, zmq_msg_data(&part), zmq_msg_size(&part));
        zmq_msg_close(&part);
        if (rc != 0) {
            if (more) socket_drain(self->zsock);
            goto cleanup;
        }
    }
    *out = msg;
    return 0;

cleanup:
    bus_frames_destroy(&msg);
    return rc;
}

int bus_socket_send(bus_socket_t *self, const bus_part_t *parts, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(self->zsock, parts[i].len ? parts[i].data : "", parts[i].len, flags) < 0) {
            if (i == 0 && (errno == EAGAIN || errno == EHOSTUNREACH)) return -errno;
            return -EIO;
        }
    }
    return 0;
}
