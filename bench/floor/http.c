/* floor-http — the floor's HTTP server: CivetWeb with keep-alive and
 * tcp_nodelay, each server thread with its own ZeroMQ REQ socket to the
 * floor broker (made on its first request, closed when the thread ends),
 * and every response written with one mg_write.
 *   GET  /items/{id}  one round trip: the worker's SELECT by primary key;
 *                     200 with the row's body, 404 when there is none
 *   POST /items       one round trip: the worker's INSERT of the body;
 *                     201 {"id":"…"}
 * Anything else is 404; a body over 16 KiB 413; no reply within 5 s 503.
 * No Parley code: it is the yardstick (README, Performance).
 *
 * Usage: floor-http PORT BROKER_FRONTEND [THREADS (64)]
 */
#include <civetweb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define FLOOR_MAX 16384 /* the longest request or reply frame */
#define FLOOR_ID_LEN 36 /* a UUID's text */

static void *zctx;
static const char *broker;

/* A server thread's own: made on its first request, freed when it ends (on
 * the heap: CivetWeb's thread stacks are small, and static TLS lives there). */
typedef struct {
    void *sock;
    char req[FLOOR_MAX + 1], rep[FLOOR_MAX], out[FLOOR_MAX + 256];
} floor_thread_t;
static __thread floor_thread_t *self;

static int floor_reply(struct mg_connection *c, int status, const char *body, size_t len) {
    char *out = self->out;
    const char *reason = status == 200 ? "OK" : status == 201 ? "Created" : status == 404 ? "Not Found"
                       : status == 413 ? "Content Too Large" : "Service Unavailable";
    int head = snprintf(out, 256, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                        status, reason, len);
    memcpy(out + head, body, len);
    mg_write(c, out, (size_t)head + len);
    return status;
}

/* Sends the request frame and waits for the reply frame: its length, or -1. */
static int floor_call(size_t len) {
    void *sock = self->sock;
    if (sock == NULL) {
        int linger = 0, timeout = 5000, one = 1;
        sock = zmq_socket(zctx, ZMQ_REQ);
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        /* After a timeout the socket may send again, and a late reply is dropped. */
        zmq_setsockopt(sock, ZMQ_REQ_RELAXED, &one, sizeof one);
        zmq_setsockopt(sock, ZMQ_REQ_CORRELATE, &one, sizeof one);
        if (zmq_connect(sock, broker) != 0) {
            zmq_close(sock);
            return -1;
        }
        self->sock = sock;
    }
    if (zmq_send(sock, self->req, len, 0) < 0) return -1;
    int n = zmq_recv(sock, self->rep, FLOOR_MAX, 0);
    return n >= 1 && n <= FLOOR_MAX ? n : -1;
}

static int floor_is_id(const char *s) {
    if (strlen(s) != FLOOR_ID_LEN) return 0;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789abcdef-", *p)) return 0;
    return 1;
}

static int floor_handle(struct mg_connection *c) {
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (self == NULL && (self = calloc(1, sizeof *self)) == NULL) return 0; /* CivetWeb answers it */
    char *req = self->req, *rep = self->rep;
    size_t len = 1;
    int post = strcmp(ri->request_method, "POST") == 0;
    if (!post && strcmp(ri->request_method, "GET") == 0 && strncmp(ri->local_uri, "/items/", 7) == 0 &&
        floor_is_id(ri->local_uri + 7)) {
        req[0] = 'S';
        memcpy(req + 1, ri->local_uri + 7, FLOOR_ID_LEN);
        len += FLOOR_ID_LEN;
    } else if (post && strcmp(ri->local_uri, "/items") == 0) {
        if (ri->content_length < 1 || ri->content_length >= FLOOR_MAX) {
            mg_disable_connection_keep_alive(c);
            return floor_reply(c, 413, "{}", 2);
        }
        req[0] = 'I';
        while (len < (size_t)ri->content_length + 1) {
            int n = mg_read(c, req + len, (size_t)ri->content_length + 1 - len);
            if (n <= 0) return 400; /* the client went away; CivetWeb closes */
            len += (size_t)n;
        }
    } else {
        return floor_reply(c, 404, "{}", 2);
    }
    int n = floor_call(len);
    if (n < 1 || rep[0] == 'E') return floor_reply(c, 503, "{}", 2);
    if (rep[0] == 'N') return floor_reply(c, 404, "{}", 2);
    if (!post) return floor_reply(c, 200, rep + 1, (size_t)n - 1);
    char id[64];
    int il = snprintf(id, sizeof id, "{\"id\":\"%.*s\"}", n - 1 < FLOOR_ID_LEN ? n - 1 : FLOOR_ID_LEN, rep + 1);
    return floor_reply(c, 201, id, (size_t)il);
}

static void floor_thread_exit(const struct mg_context *ctx, int type, void *user) {
    (void)ctx, (void)type, (void)user;
    if (self == NULL) return;
    if (self->sock != NULL) zmq_close(self->sock);
    free(self);
    self = NULL;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: floor-http PORT BROKER_FRONTEND [THREADS]\n");
        return 2;
    }
    char ports[32];
    snprintf(ports, sizeof ports, "127.0.0.1:%s", argv[1]);
    broker = argv[2];
    zctx = zmq_ctx_new();
    const char *options[] = {"listening_ports", ports, "num_threads", argc > 3 ? argv[3] : "64",
                             "tcp_nodelay", "1", "enable_keep_alive", "yes", "keep_alive_timeout_ms", "5000",
                             "listen_backlog", "1024", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.begin_request = floor_handle;
    cb.exit_thread = floor_thread_exit;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* every thread inherits it; main waits for it */
    signal(SIGPIPE, SIG_IGN);
    mg_init_library(0);
    struct mg_context *ctx = mg_start(&cb, NULL, options);
    if (ctx == NULL) {
        fprintf(stderr, "floor-http: cannot listen on %s\n", ports);
        return 1;
    }
    int sig;
    sigwait(&stop, &sig);
    mg_stop(ctx);
    mg_exit_library();
    zmq_ctx_term(zctx);
    return 0;
}
