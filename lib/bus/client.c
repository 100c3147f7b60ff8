/* The calling side of the bus: one DEALER per client, request/reply with
 * correlation ids, deadlines, and one retry for idempotent calls (Lazy
 * Pirate, without reopening the socket: the correlation id already keeps a
 * stale reply from reaching the wrong call). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "bus/socket.h"
#include "core/clock.h"
#include "core/log.h"

/* How long past a deadline a client still listens. The broker answers a
 * request still queued at its deadline with UNAVAILABLE at that very moment;
 * this is the time for that answer to travel back, so the caller gets a
 * status rather than a bare timeout. */
#define CLIENT_GRACE_MS 50

/* client -> broker and broker -> client frames after the empty delimiter */
enum { REPLY_FRAMES = 6, REPLY_CORR = 3, REPLY_STATUS = 4, REPLY_PAYLOAD = 5 };

struct bus_client {
    bus_socket_t *sock;
    uint64_t next_corr; /* per socket: replies can only come back to this one */
};

bus_client_t *bus_client_new(const char *endpoint) {
    bus_client_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        log_error(NULL, "bus: out of memory for a client");
        return NULL;
    }
    self->sock = bus_socket_dealer_connect(endpoint, true);
    if (self->sock == NULL) {
        free(self);
        return NULL;
    }
    return self;
}

void bus_client_destroy(bus_client_t **self) {
    if (self == NULL || *self == NULL) return;
    bus_socket_destroy(&(*self)->sock);
    free(*self);
    *self = NULL;
}

/* Sends one request, waiting until until_mono for the socket to accept it
 * (it will not while the broker is unreachable). 0, -ETIMEDOUT, -EIO. */
static int client_send(bus_client_t *self, const char *service, uint64_t corr, int64_t deadline,
                       const uint8_t *header, size_t header_len, const uint8_t *payload,
                       size_t payload_len, int64_t until_mono) {
    char deadline_str[24];
    snprintf(deadline_str, sizeof deadline_str, "%" PRId64, deadline);
    bus_part_t parts[] = {
        {NULL, 0},
        BUS_PART_STR(BUS_CLIENT_PROTO),
        {service, strlen(service)},
        {&corr, sizeof corr},
        {deadline_str, strlen(deadline_str)},
        {header, header_len},
        {payload, payload_len},
    };
    for (;;) {
        int rc = bus_socket_send(self->sock, parts, sizeof parts / sizeof parts[0]);
        if (rc != -EAGAIN) return rc == 0 ? 0 : -EIO;
        int64_t left = until_mono - clock_mono_ms();
        if (left <= 0) return -ETIMEDOUT;
        rc = bus_socket_wait(self->sock, BUS_POLL_OUT, (int)left);
        if (rc < 0 && rc != -EINTR) return -EIO;
    }
}

/* Whether an earlier attempt's reply says it was never served (the broker or
 * worker found its deadline gone): the retry in flight will say more. */
static bool client_reply_unserved(const bus_frames_t *msg) {
    Parley__Common__V1__Status *status = (Parley__Common__V1__Status *)bus_frames_unpack(
        msg, REPLY_STATUS, &parley__common__v1__status__descriptor, NULL);
    if (status == NULL) return true;
    bool unserved = status->code == PARLEY__COMMON__V1__CODE__CODE_DEADLINE_EXCEEDED ||
                    status->code == PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE;
    parley__common__v1__status__free_unpacked(status, NULL);
    return unserved;
}

/* Whether msg is a well-formed reply to one of the n correlation ids sent
 * (the last is the current attempt's) worth returning. */
static bool client_is_reply(const bus_frames_t *msg, const uint64_t *sent, int n) {
    if (bus_frames_count(msg) != REPLY_FRAMES || !bus_frames_is(msg, 0, "") ||
        !bus_frames_is(msg, 1, BUS_CLIENT_PROTO))
        return false;
    size_t len;
    const uint8_t *corr = bus_frames_data(msg, REPLY_CORR, &len);
    if (len != sizeof(uint64_t)) return false;
    if (memcmp(corr, &sent[n - 1], sizeof sent[n - 1]) == 0) return true;
    for (int i = 0; i < n - 1; i++)
        if (memcmp(corr, &sent[i], sizeof sent[i]) == 0) return !client_reply_unserved(msg);
    return false;
}

/* Waits until until_mono for a reply to any of the n ids sent, discarding
 * anything else. 0 with *out (the caller's), -ETIMEDOUT, -EIO. */
static int client_await(bus_client_t *self, const uint64_t *sent, int n, int64_t until_mono,
                        bus_frames_t **out) {
    for (;;) {
        bus_frames_t *msg = NULL;
        int rc = bus_socket_recv(self->sock, &msg);
        if (rc == 0) {
            if (client_is_reply(msg, sent, n)) {
                *out = msg;
                return 0;
            }
            log_debug(NULL, "bus: discarded a stale or malformed reply");
            bus_frames_destroy(&msg);
            continue;
        }
        if (rc != -EAGAIN && rc != -EINTR && rc != -EBADMSG) return -EIO;
        int64_t left = until_mono - clock_mono_ms();
        if (left <= 0) return -ETIMEDOUT;
        rc = bus_socket_wait(self->sock, BUS_POLL_IN, (int)left);
        if (rc < 0 && rc != -EINTR) return -EIO;
    }
}

/* One attempt: a fresh correlation id and deadline, then the wait. The ids of
 * earlier attempts stay acceptable, so a late first reply still counts. */
static int client_attempt(bus_client_t *self, arena_t *arena, const char *service,
                          bus_header_t *header, const uint8_t *payload, size_t payload_len,
                          int timeout_ms, uint64_t *sent, int *n_sent, bus_frames_t **out) {
    int64_t start = clock_mono_ms();
    header->deadline_unix_ms = clock_now_ms() + timeout_ms;
    size_t header_len = parley__common__v1__request_header__get_packed_size(header);
    uint8_t *packed = arena_alloc(arena, header_len);
    if (packed == NULL) return -EIO;
    parley__common__v1__request_header__pack(header, packed);

    uint64_t corr = ++self->next_corr;
    sent[(*n_sent)++] = corr;
    int rc = client_send(self, service, corr, header->deadline_unix_ms, packed, header_len, payload,
                         payload_len, start + timeout_ms);
    if (rc != 0) return rc;
    return client_await(self, sent, *n_sent, start + timeout_ms + CLIENT_GRACE_MS, out);
}

/* Fills reply from a reply message, copying into arena. 0 or -EIO. */
static int client_decode(const bus_frames_t *msg, arena_t *arena, bus_reply_t *reply) {
    ProtobufCMessage *status = bus_frames_unpack(msg, REPLY_STATUS,
                                                 &parley__common__v1__status__descriptor,
                                                 arena_pb_allocator(arena));
    size_t len;
    const uint8_t *payload = bus_frames_data(msg, REPLY_PAYLOAD, &len);
    uint8_t *copy = arena_memdup(arena, payload, len);
    if (status == NULL || copy == NULL) return -EIO;
    reply->status = (bus_status_t *)status;
    reply->payload = copy;
    reply->payload_len = len;
    return 0;
}

int bus_client_call(bus_client_t *self, arena_t *arena, const char *service, bus_header_t *header,
                    const uint8_t *payload, size_t payload_len, int timeout_ms, bool idempotent,
                    bus_reply_t *reply) {
    uint64_t sent[2];
    int n_sent = 0, attempts = idempotent ? 2 : 1, rc = -ETIMEDOUT;
    const char *rid = header->request_id && *header->request_id ? header->request_id : NULL;
    bus_frames_t *msg = NULL;
    memset(reply, 0, sizeof *reply);
    if (timeout_ms <= 0) return -ETIMEDOUT;

    for (int attempt = 1; attempt <= attempts; attempt++) {
        rc = client_attempt(self, arena, service, header, payload, payload_len, timeout_ms, sent,
                            &n_sent, &msg);
        if (rc != -ETIMEDOUT) break;
        log_warn(rid, "bus: no reply from %s.%s in %d ms (attempt %d of %d)", service,
                 header->method ? header->method : "", timeout_ms, attempt, attempts);
    }
    if (rc == 0) rc = client_decode(msg, arena, reply);
    bus_frames_destroy(&msg);
    return rc;
}

int bus_client_service_ready(bus_client_t *self, const char *service, int timeout_ms) {
    bus_header_t header = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    uint64_t sent[1];
    int n_sent = 0, rc;
    bus_frames_t *msg = NULL;
    Parley__Common__V1__Status *status = NULL;
    arena_t *arena = arena_new();
    if (arena == NULL) return -EIO;
    if (timeout_ms <= 0) {
        rc = -ETIMEDOUT;
        goto cleanup;
    }

    header.method = "mmi.service";
    rc = client_attempt(self, arena, "mmi.service", &header, (const uint8_t *)service,
                        strlen(service), timeout_ms, sent, &n_sent, &msg);
    if (rc != 0) goto cleanup;
    status = (Parley__Common__V1__Status *)bus_frames_unpack(
        msg, REPLY_STATUS, &parley__common__v1__status__descriptor, arena_pb_allocator(arena));
    if (status == NULL) rc = -EIO;
    else rc = status->code == PARLEY__COMMON__V1__CODE__CODE_OK ? 1 : 0;

cleanup:
    bus_frames_destroy(&msg);
    arena_destroy(&arena);
    return rc;
}
