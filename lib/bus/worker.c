/* The serving side of the bus: a DEALER that registers with the broker,
 * heartbeats, answers requests one at a time, and starts over with a fresh
 * socket whenever the broker goes quiet or tells it to (which is how a
 * worker outlives a broker restart). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus/socket.h"
#include "core/clock.h"
#include "core/log.h"
#include "parley/ping/v1/ping.pb-c.h"

#define WORKER_SILENCE_MS (BUS_HEARTBEAT_MS * BUS_HEARTBEAT_LIVENESS)
#define WORKER_GOODBYE_MS 200 /* at most this long on exit to deliver DISCONNECT */

/* broker -> worker REQUEST frames after the empty delimiter */
enum { REQ_FRAMES = 7, REQ_CLIENT = 3, REQ_CORR = 4, REQ_HEADER = 5, REQ_PAYLOAD = 6 };

struct bus_worker {
    char *endpoint, *service;
    const bus_method_t *methods;
    size_t n_methods;
    void *ctx;
    char instance[320]; /* host:pid, for Ping */
    bus_socket_t *sock;
    arena_t *arena;         /* per request, reset after each reply */
    int64_t heard_at;       /* monotonic ms of the broker's last sign of life */
    int64_t beat_at;        /* when our next heartbeat is due */
    int64_t connected_at;
};

static int ping_handle(void *ctx, const bus_request_t *req, bus_response_t *res) {
    bus_worker_t *self = ctx;
    (void)req;
    Parley__Ping__V1__PingReply *reply = arena_alloc(res->arena, sizeof *reply);
    if (reply == NULL) return -ENOMEM;
    parley__ping__v1__ping_reply__init(reply);
    reply->service = self->service;
    reply->instance = self->instance;
    res->reply = &reply->base;
    return 0;
}

static const bus_method_t ping_method = {"Ping", &parley__ping__v1__ping_request__descriptor,
                                         ping_handle};

bus_worker_t *bus_worker_new(const char *endpoint, const char *service, const bus_method_t *methods,
                             size_t n_methods, void *ctx) {
    bus_worker_t *self = calloc(1, sizeof *self);
    if (self == NULL) goto fail;
    self->endpoint = strdup(endpoint);
    self->service = strdup(service);
    self->arena = arena_new();
    if (self->endpoint == NULL || self->service == NULL || self->arena == NULL) goto fail;
    self->methods = methods;
    self->n_methods = n_methods;
    self->ctx = ctx;
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(self->instance, sizeof self->instance, "%s:%d", host, (int)getpid());
    return self;

fail:
    log_error(NULL, "bus: out of memory for a %s worker", service);
    bus_worker_destroy(&self);
    return NULL;
}

void bus_worker_destroy(bus_worker_t **self) {
    if (self == NULL || *self == NULL) return;
    bus_socket_destroy(&(*self)->sock);
    arena_destroy(&(*self)->arena);
    free((*self)->endpoint);
    free((*self)->service);
    free(*self);
    *self = NULL;
}

static int worker_send_command(bus_worker_t *self, uint8_t command) {
    bus_part_t parts[] = {{NULL, 0}, BUS_PART_STR(BUS_WORKER_PROTO), {&command, 1}};
    return bus_socket_send(self->sock, parts, 3);
}

/* A fresh socket (a fresh identity the broker has never seen) and READY.
 * 0, or -1 when no socket can be made at all: a bad endpoint, not a broker
 * that is down (connecting to one of those succeeds and waits). */
static int worker_connect(bus_worker_t *self) {
    bus_socket_destroy(&self->sock);
    self->sock = bus_socket_dealer_connect(self->endpoint, false);
    if (self->sock == NULL) return -1;
    uint8_t ready = BUS_READY;
    bus_part_t parts[] = {{NULL, 0},
                          BUS_PART_STR(BUS_WORKER_PROTO),
                          {&ready, 1},
                          {self->service, strlen(self->service)}};
    /* Queued until the connection is made: not immediate, so this waits for
     * a broker that is still starting. */
    if (bus_socket_send(self->sock, parts, 4) != 0) return -1;
    int64_t now = clock_mono_ms();
    self->heard_at = self->connected_at = now;
    self->beat_at = now + BUS_HEARTBEAT_MS;
    log_info(NULL, "bus: %s worker registering with %s", self->service, self->endpoint);
    return 0;
}

/* Whether *stop is set. Another thread may set it (lib/svc/runtime.c stops
 * its handler threads so), so it is read atomically: a plain read of a flag
 * another thread writes is a data race, whatever volatile says. */
static bool worker_stopped(volatile sig_atomic_t *stop) { return __atomic_load_n(stop, __ATOMIC_ACQUIRE) != 0; }

/* Sleeps until at least a heartbeat has passed since the last connect, so a
 * broker that keeps refusing us is not hammered. Returns early on stop. */
static void worker_backoff(bus_worker_t *self, volatile sig_atomic_t *stop) {
    while (!worker_stopped(stop) && clock_mono_ms() - self->connected_at < BUS_HEARTBEAT_MS) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static const bus_method_t *worker_method(const bus_worker_t *self, const char *name) {
    for (size_t i = 0; i < self->n_methods; i++)
        if (strcmp(self->methods[i].name, name) == 0) return &self->methods[i];
    return strcmp(name, ping_method.name) == 0 ? &ping_method : NULL;
}

/* Runs the handler for one request, or sets the error that stops it. */
static void worker_dispatch(bus_worker_t *self, const bus_frames_t *msg, const bus_header_t *header,
                            bus_response_t *res) {
    bus_request_t req = {header, NULL};
    const bus_method_t *method = worker_method(self, header->method);
    if (method == NULL) {
        bus_response_error(res, PARLEY__COMMON__V1__CODE__CODE_UNIMPLEMENTED,
                           "%s has no method %s", self->service, header->method);
        return;
    }
    /* The caller has given up: do not spend work (or a write) on it. */
    if (header->deadline_unix_ms > 0 && clock_now_ms() >= header->deadline_unix_ms) {
        bus_response_problem(res, BUS_PROBLEM_DEADLINE_EXCEEDED, NULL);
        return;
    }
    req.input = bus_frames_unpack(msg, REQ_PAYLOAD, method->input, arena_pb_allocator(res->arena));
    if (req.input == NULL) {
        bus_response_error(res, PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT,
                           "request is not a valid %s", method->input->name);
        return;
    }
    void *ctx = method == &ping_method ? (void *)self : self->ctx;
    int rc = method->handler(ctx, &req, res);
    if (rc < 0 && res->status.code == PARLEY__COMMON__V1__CODE__CODE_OK)
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
}

/* Packs m into the arena; NULL m (or an error) gives an empty payload. */
static uint8_t *worker_pack(arena_t *arena, const ProtobufCMessage *m, size_t *len) {
    *len = m ? protobuf_c_message_get_packed_size(m) : 0;
    uint8_t *buf = arena_alloc(arena, *len);
    if (buf != NULL && m != NULL) protobuf_c_message_pack(m, buf);
    return buf;
}

/* Answers one REQUEST message and logs it. The arena is the caller's to reset. */
static void worker_serve(bus_worker_t *self, const bus_frames_t *msg) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bus_response_t res = {self->arena, PARLEY__COMMON__V1__STATUS__INIT, NULL};
    static const bus_header_t no_header = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    const bus_header_t *header = (const bus_header_t *)bus_frames_unpack(
        msg, REQ_HEADER, &parley__common__v1__request_header__descriptor,
        arena_pb_allocator(self->arena));
    if (header == NULL) {
        header = &no_header;
        bus_response_error(&res, PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT,
                           "request header does not parse");
    } else {
        worker_dispatch(self, msg, header, &res);
    }

    bool ok = res.status.code == PARLEY__COMMON__V1__CODE__CODE_OK;
    size_t status_len, reply_len;
    uint8_t *status = worker_pack(self->arena, &res.status.base, &status_len);
    uint8_t *reply = worker_pack(self->arena, ok ? res.reply : NULL, &reply_len);
    uint8_t command = BUS_REPLY;
    bus_part_t parts[] = {{NULL, 0},
                          BUS_PART_STR(BUS_WORKER_PROTO),
                          {&command, 1},
                          bus_frames_part(msg, REQ_CLIENT),
                          bus_frames_part(msg, REQ_CORR),
                          {status, status_len},
                          {reply, reply_len}};
    const char *rid = *header->request_id ? header->request_id : NULL;
    if (status == NULL || reply == NULL) log_error(rid, "bus: out of memory packing a reply");
    else if (bus_socket_send(self->sock, parts, 7) != 0)
        log_warn(rid, "bus: could not send the reply to the broker");

    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    log_info(rid, "request method=%s code=%s durationMs=%.3f", header->method,
             bus_code_name(res.status.code), ms);
}

/* Handles one message from the broker. Returns 1 when the worker must
 * reconnect (the broker disowned it), else 0. */
static int worker_handle(bus_worker_t *self, bus_frames_t *msg) {
    size_t n = bus_frames_count(msg);
    if (n < 3 || !bus_frames_is(msg, 0, "") || !bus_frames_is(msg, 1, BUS_WORKER_PROTO)) {
        log_warn(NULL, "bus: %s worker ignored a malformed message", self->service);
        return 0;
    }
    if (bus_frames_is_byte(msg, 2, BUS_REQUEST) && n == REQ_FRAMES) {
        worker_serve(self, msg);
        arena_reset(self->arena);
        /* The broker does not heartbeat a busy worker; the reply we just sent
         * is the proof the connection is alive. */
        self->heard_at = clock_mono_ms();
        return 0;
    }
    if (bus_frames_is_byte(msg, 2, BUS_HEARTBEAT)) return 0;
    if (bus_frames_is_byte(msg, 2, BUS_DISCONNECT)) {
        log_warn(NULL, "bus: broker disconnected the %s worker; registering again", self->service);
        return 1;
    }
    log_warn(NULL, "bus: %s worker ignored an unknown command", self->service);
    return 0;
}

/* Waits for and handles what comes within one heartbeat. Returns 1 when the
 * worker must reconnect, 0 otherwise. */
static int worker_step(bus_worker_t *self) {
    int64_t now = clock_mono_ms();
    int64_t wake = self->beat_at < self->heard_at + WORKER_SILENCE_MS
                       ? self->beat_at
                       : self->heard_at + WORKER_SILENCE_MS;
    int rc = bus_socket_wait(self->sock, BUS_POLL_IN, wake > now ? (int)(wake - now) : 0);
    if (rc == -EIO) return 1;
    int reconnect = 0;
    for (;;) {
        bus_frames_t *msg = NULL;
        if (bus_socket_recv(self->sock, &msg) != 0) break;
        self->heard_at = clock_mono_ms();
        reconnect = worker_handle(self, msg);
        bus_frames_destroy(&msg);
        if (reconnect) return 1;
    }
    now = clock_mono_ms();
    if (now - self->heard_at >= WORKER_SILENCE_MS) {
        log_warn(NULL, "bus: broker silent for %d ms; %s worker reconnecting", WORKER_SILENCE_MS,
                 self->service);
        return 1;
    }
    if (now >= self->beat_at) {
        worker_send_command(self, BUS_HEARTBEAT); /* a full queue just means a dead broker */
        self->beat_at = now + BUS_HEARTBEAT_MS;
    }
    return 0;
}

int bus_worker_run(bus_worker_t *self, volatile sig_atomic_t *stop) {
    bool connected = false;
    self->connected_at = clock_mono_ms() - BUS_HEARTBEAT_MS; /* no wait the first time */
    while (!worker_stopped(stop)) {
        if (!connected) {
            worker_backoff(self, stop);
            if (worker_stopped(stop)) break;
            if (worker_connect(self) != 0) return -1;
            connected = true;
        }
        if (worker_step(self) != 0) connected = false;
    }
    /* Say goodbye so the broker stops routing to us now, not 3 beats later. */
    if (self->sock != NULL && connected && worker_send_command(self, BUS_DISCONNECT) == 0)
        bus_socket_linger(self->sock, WORKER_GOODBYE_MS);
    bus_socket_destroy(&self->sock);
    log_info(NULL, "bus: %s worker stopped", self->service);
    return 0;
}
