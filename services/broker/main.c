/* parley-broker — routes requests from clients to the workers of each service
 * (Majordomo-style; the wire format is in lib/bus/bus.h). This file owns the
 * socket, the clock, signals and logs; every decision about which worker gets
 * what, and what has waited too long, is in registry.c, and about what an
 * authenticated peer may do in policy.c (CURVE keys and ZAP: curve.c).
 *
 * With CURVE on, every message arrives with its sender's kind (the User-Id
 * the ZAP handler gave its connection): a READY is taken only as policy
 * allows, a request with a principal only from the gateway or a service
 * acting for its caller, and a reply only from the worker that was given
 * the request, for that request.
 *
 * Configuration: PARLEY_BROKER_BIND (default tcp://127.0.0.1:$PARLEY_BROKER_PORT,
 * port 55555), PARLEY_BUS_KEYS_DIR (curve.h).
 *
 *   parley-broker                 runs the broker
 *   parley-broker keygen ...      writes a key directory (keygen.h)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "bus/signals.h"
#include "bus/socket.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "curve.h"
#include "keygen.h"
#include "policy.h"
#include "liveness.h"
#include "registry.h"
#include "status.h"

#define BROKER_REPORT_MS 10000        /* queue depths are logged this often */
#define BROKER_MAX_WAIT_MS 300000     /* no request waits longer, whatever it asks */
#define BROKER_MAX_DEPTH 10000        /* waiting requests per service */
#define BROKER_BATCH 256              /* messages handled between timer checks */
#define BROKER_GOODBYE_MS 200         /* at exit, time to deliver DISCONNECTs */
#define BROKER_NAME_MAX 128           /* longest service name */

/* Frames as the ROUTER receives them: the sender's address first. */
enum { F_ADDR = 0, F_PROTO = 2, F_SERVICE = 3, F_CMD = 3 };
enum { C_FRAMES = 8, C_CORR = 4, C_DEADLINE = 5, C_HEADER = 6, C_PAYLOAD = 7 };
enum { W_READY_FRAMES = 5, W_REPLY_FRAMES = 8, W_CLIENT = 4, W_CORR = 5, W_STATUS = 6,
       W_PAYLOAD = 7 };

typedef struct {
    bus_socket_t *sock;
    registry_t *reg;
    broker_curve_t *curve; /* NULL: plaintext, no policy */
    int64_t beat_at, report_at;
    bool stopping; /* what is still waiting is answered, not served */
} broker_t;

/* A client request waiting for a worker (what the registry holds). */
typedef struct {
    bus_frames_t *msg;
    uint8_t *principal; /* with CURVE: its principal packed (policy.h), for delegation */
    size_t principal_len;
} pending_t;

static volatile sig_atomic_t stop;

static void pending_free(void *request) {
    pending_t *p = request;
    if (p == NULL) return;
    bus_frames_destroy(&p->msg);
    free(p->principal);
    free(p);
}

/* ---- sending ---- */

static void broker_send_client(broker_t *b, bus_part_t client, bus_part_t service, bus_part_t corr,
                               const uint8_t *status, size_t status_len, bus_part_t payload) {
    bus_part_t parts[] = {client, {NULL, 0}, BUS_PART_STR(BUS_CLIENT_PROTO), service, corr,
                          {status, status_len}, payload};
    int rc = bus_socket_send(b->sock, parts, sizeof parts / sizeof parts[0]);
    /* The client gave up and left, or is not reading: its loss. */
    if (rc != 0) log_debug(NULL, "broker: reply to a client not delivered (%d)", rc);
}

/* Answers a client request (as received) with a status of the broker's own. */
static void broker_answer(broker_t *b, const bus_frames_t *req, bus_code_t code,
                          const char *message, int32_t retry_after_s) {
    size_t len;
    uint8_t *status = broker_status_pack(code, message, retry_after_s, &len);
    if (status == NULL) return;
    broker_send_client(b, bus_frames_part(req, F_ADDR), bus_frames_part(req, F_SERVICE),
                       bus_frames_part(req, C_CORR), status, len, (bus_part_t){NULL, 0});
    free(status);
}

static void broker_send_command(broker_t *b, const void *id, size_t id_len, uint8_t command) {
    bus_part_t parts[] = {{id, id_len}, {NULL, 0}, BUS_PART_STR(BUS_WORKER_PROTO), {&command, 1}};
    bus_socket_send(b->sock, parts, 4); /* a vanished worker needs no word */
}

static void broker_command_worker(void *ctx, const registry_worker_t *w) {
    size_t len;
    const void *id = registry_worker_id(w, &len);
    broker_send_command(ctx, id, len, BUS_HEARTBEAT);
}

/* ---- routing ---- */

/* Hands requests of service to its idle workers while both are there. A
 * worker that turns out to be gone is forgotten and its request goes back to
 * the head of the queue for the next one. */
/* What identifies a request's reply: the client's address and correlation
 * id, length-prefixed (malloc; NULL when out of memory). */
static uint8_t *broker_tag(const bus_frames_t *msg, size_t addr_i, size_t corr_i, size_t *len) {
    bus_part_t addr = bus_frames_part(msg, addr_i), corr = bus_frames_part(msg, corr_i);
    uint32_t addr_len = (uint32_t)addr.len;
    *len = sizeof addr_len + addr.len + corr.len;
    uint8_t *tag = malloc(*len);
    if (tag == NULL) return NULL;
    memcpy(tag, &addr_len, sizeof addr_len);
    if (addr.len) memcpy(tag + sizeof addr_len, addr.data, addr.len);
    if (corr.len) memcpy(tag + sizeof addr_len + addr.len, corr.data, corr.len);
    return tag;
}

/* With CURVE, remembers on the worker which request it serves and for whom. */
static int broker_assign(const broker_t *b, const registry_job_t *job) {
    if (b->curve == NULL) return 0;
    const pending_t *p = job->request;
    size_t len;
    uint8_t *tag = broker_tag(p->msg, F_ADDR, C_CORR, &len);
    int rc = tag ? registry_worker_assign(job->worker, tag, len, p->principal, p->principal_len)
                 : -ENOMEM;
    free(tag);
    return rc;
}

static void broker_dispatch(broker_t *b, const char *service) {
    registry_job_t job;
    while (registry_dispatch(b->reg, service, clock_mono_ms(), &job)) {
        pending_t *pending = job.request;
        bus_frames_t *req = pending->msg;
        if (broker_assign(b, &job) != 0) {
            broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE, "broker out of memory",
                          BROKER_RETRY_AFTER_S);
            pending_free(pending);
            registry_worker_idle(b->reg, job.worker, clock_mono_ms());
            continue;
        }
        size_t id_len;
        const void *id = registry_worker_id(job.worker, &id_len);
        uint8_t command = BUS_REQUEST;
        bus_part_t parts[] = {{id, id_len},
                              {NULL, 0},
                              BUS_PART_STR(BUS_WORKER_PROTO),
                              {&command, 1},
                              bus_frames_part(req, F_ADDR),
                              bus_frames_part(req, C_CORR),
                              bus_frames_part(req, C_HEADER),
                              bus_frames_part(req, C_PAYLOAD)};
        int rc = bus_socket_send(b->sock, parts, sizeof parts / sizeof parts[0]);
        if (rc == 0) {
            pending_free(pending);
            continue;
        }
        log_warn(NULL, "broker: %s worker unreachable (%d); dropped, request requeued", service,
                 rc);
        if (registry_request_return(b->reg, &job) != 0) {
            broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE, "broker out of memory",
                          BROKER_RETRY_AFTER_S);
            pending_free(pending);
        }
        registry_worker_remove(b->reg, &job.worker);
    }
}

static void broker_expired(void *ctx, void *request) {
    broker_t *b = ctx;
    pending_t *pending = request;
    const bus_frames_t *req = pending->msg;
    char service[BROKER_NAME_MAX + 1] = "";
    bus_frames_copy_str(req, F_SERVICE, service, sizeof service);
    size_t len;
    uint8_t *status = b->stopping ? broker_status_pack(PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE,
                                                       "broker restarting", BROKER_RETRY_AFTER_S,
                                                       &len)
                                  : broker_status_unavailable(service, &len);
    if (status != NULL) {
        broker_send_client(b, bus_frames_part(req, F_ADDR), bus_frames_part(req, F_SERVICE),
                           bus_frames_part(req, C_CORR), status, len, (bus_part_t){NULL, 0});
        free(status);
    }
    log_info(NULL, "broker: request for %s %s", service,
             b->stopping ? "answered at shutdown" : "expired waiting for a worker");
    pending_free(pending);
}

/* mmi.service: whether the service named in the payload has a worker. */
static void broker_mmi(broker_t *b, const bus_frames_t *req, const char *service) {
    char name[BROKER_NAME_MAX + 1];
    if (strcmp(service, "mmi.service") != 0) {
        broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_UNIMPLEMENTED,
                      "unknown broker service", 0);
        return;
    }
    bool ready = bus_frames_copy_str(req, C_PAYLOAD, name, sizeof name) == 0 &&
                 registry_service_ready(b->reg, name, clock_mono_ms());
    broker_answer(b, req,
                  ready ? PARLEY__COMMON__V1__CODE__CODE_OK : PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND,
                  ready ? "" : "no worker", 0);
}

/* Parses a decimal deadline frame. 0 or -EINVAL. */
static int parse_deadline(const bus_frames_t *req, int64_t *out) {
    char text[24], *end;
    if (bus_frames_copy_str(req, C_DEADLINE, text, sizeof text) != 0 || text[0] == '\0')
        return -EINVAL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) return -EINVAL;
    *out = v;
    return 0;
}

/* With CURVE: whether the sender may send this request, parsed into pr
 * (for the delegation record). Answers it when it may not. */
static bool broker_permits(broker_t *b, const bus_frames_t *req, const char *service,
                           policy_request_t *pr) {
    if (b->curve == NULL) return true;
    size_t header_len, payload_len;
    const uint8_t *header = bus_frames_data(req, C_HEADER, &header_len);
    const uint8_t *payload = bus_frames_data(req, C_PAYLOAD, &payload_len);
    const char *kind = bus_frames_user(req);
    int rc = policy_request_parse(header, header_len, pr);
    if (rc != 0) {
        broker_answer(b, req,
                      rc == -EINVAL ? PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT
                                    : PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE,
                      rc == -EINVAL ? "request header does not parse" : "broker out of memory",
                      rc == -EINVAL ? 0 : BROKER_RETRY_AFTER_S);
        return false;
    }
    if (policy_may_send(b->reg, kind, service, pr, payload, payload_len, clock_mono_ms())) return true;
    /* Who and what, never the principal: it may name a caller. */
    log_warn(NULL, "broker: PERMISSION_DENIED kind=%s service=%s method=%.64s: a request with a"
             " principal from a key that is not the gateway's, acting for no caller it serves now",
             kind, service, pr->header->method);
    broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_PERMISSION_DENIED,
                  "this bus key may not send requests on a caller's behalf", 0);
    return false;
}

/* A client request: answered here (mmi, malformed, refused, late, queue
 * full) or queued for its service. Takes *msg when it queues it. */
static void broker_on_client(broker_t *b, bus_frames_t **msg) {
    bus_frames_t *req = *msg;
    char service[BROKER_NAME_MAX + 1];
    int64_t deadline;
    policy_request_t pr = {0};
    pending_t *pending = NULL;
    if (bus_frames_count(req) != C_FRAMES ||
        bus_frames_copy_str(req, F_SERVICE, service, sizeof service) != 0 || service[0] == '\0' ||
        parse_deadline(req, &deadline) != 0) {
        log_warn(NULL, "broker: malformed client request");
        if (bus_frames_count(req) > C_CORR)
            broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT,
                          "malformed bus request", 0);
        return;
    }
    if (!broker_permits(b, req, service, &pr)) goto cleanup;
    if (strncmp(service, "mmi.", 4) == 0) {
        broker_mmi(b, req, service);
        goto cleanup;
    }
    int64_t left = deadline - clock_now_ms();
    if (left <= 0) {
        broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_DEADLINE_EXCEEDED,
                      "deadline passed before the broker received the request", 0);
        goto cleanup;
    }
    if (registry_queue_depth(b->reg, service) >= BROKER_MAX_DEPTH) {
        log_warn(NULL, "broker: %s queue full", service);
        broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE, "service queue full",
                      BROKER_RETRY_AFTER_S);
        goto cleanup;
    }
    /* Wire deadlines are wall-clock; the registry runs on the monotonic one. */
    if (left > BROKER_MAX_WAIT_MS) left = BROKER_MAX_WAIT_MS;
    pending = calloc(1, sizeof *pending);
    if (pending == NULL ||
        registry_request_add(b->reg, service, pending, clock_mono_ms() + left) != 0) {
        broker_answer(b, req, PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE, "broker out of memory",
                      BROKER_RETRY_AFTER_S);
        free(pending);
        goto cleanup;
    }
    pending->msg = req;
    pending->principal = pr.principal; /* the pending request's now */
    pending->principal_len = pr.principal_len;
    pr.principal = NULL;
    *msg = NULL;
    broker_dispatch(b, service);

cleanup:
    policy_request_free(&pr);
}

/* ---- workers ---- */

static void broker_on_ready(broker_t *b, const bus_frames_t *msg, registry_worker_t *w) {
    size_t id_len;
    const uint8_t *id = bus_frames_data(msg, F_ADDR, &id_len);
    char service[BROKER_NAME_MAX + 1];
    if (w != NULL) { /* READY twice: confused; make it start over (as MDP does) */
        log_warn(NULL, "broker: %s worker sent READY again; disconnecting it",
                 registry_worker_service(w));
        registry_worker_remove(b->reg, &w);
        broker_send_command(b, id, id_len, BUS_DISCONNECT);
        return;
    }
    if (bus_frames_count(msg) != W_READY_FRAMES ||
        bus_frames_copy_str(msg, W_READY_FRAMES - 1, service, sizeof service) != 0 ||
        service[0] == '\0' || strncmp(service, "mmi.", 4) == 0) {
        log_warn(NULL, "broker: refused a malformed worker registration");
        broker_send_command(b, id, id_len, BUS_DISCONNECT);
        return;
    }
    if (b->curve != NULL && !policy_may_register(bus_frames_user(msg), service)) {
        log_warn(NULL, "broker: refused a worker registration kind=%s service=%s: a key serves"
                 " only the service of its own kind, and the gateway's none", bus_frames_user(msg),
                 service);
        broker_send_command(b, id, id_len, BUS_DISCONNECT);
        return;
    }
    if (registry_worker_add(b->reg, id, id_len, service, clock_mono_ms(), NULL) != 0) {
        log_warn(NULL, "broker: refused a worker registration");
        broker_send_command(b, id, id_len, BUS_DISCONNECT);
        return;
    }
    /* A heartbeat at once acknowledges READY: a worker whose READY waited in
     * its queue through a broker outage has little silence budget left. */
    broker_send_command(b, id, id_len, BUS_HEARTBEAT);
    log_info(NULL, "broker: %s worker registered", service);
    broker_dispatch(b, service);
}

/* With CURVE, whether a reply answers the request its worker was given:
 * any other could be a forged answer to someone else's call. */
static bool broker_reply_is_owed(const broker_t *b, const bus_frames_t *msg,
                                 const registry_worker_t *w) {
    if (b->curve == NULL) return true;
    size_t len;
    uint8_t *tag = broker_tag(msg, W_CLIENT, W_CORR, &len);
    bool owed = tag != NULL && w != NULL && registry_worker_serves(w, tag, len);
    free(tag);
    if (!owed && w != NULL)
        log_warn(NULL, "broker: dropped a reply from a %s worker (kind %s) to a request it was"
                 " not given", registry_worker_service(w), bus_frames_user(msg));
    return owed;
}

/* A reply goes to its client even from a worker we do not know (one that
 * outlived a broker restart, or was dropped while slow): the work is done.
 * With CURVE it does not: only the worker given a request may answer it. */
static void broker_on_reply(broker_t *b, const bus_frames_t *msg, registry_worker_t *w) {
    if (bus_frames_count(msg) != W_REPLY_FRAMES) {
        log_warn(NULL, "broker: malformed worker reply");
        return;
    }
    if (!broker_reply_is_owed(b, msg, w)) {
        if (w == NULL) {
            size_t id_len;
            const uint8_t *id = bus_frames_data(msg, F_ADDR, &id_len);
            log_info(NULL, "broker: dropped a reply from an unregistered worker");
            broker_send_command(b, id, id_len, BUS_DISCONNECT);
        }
        return;
    }
    const char *service = w != NULL ? registry_worker_service(w) : "";
    size_t status_len;
    const uint8_t *status = bus_frames_data(msg, W_STATUS, &status_len);
    broker_send_client(b, bus_frames_part(msg, W_CLIENT), (bus_part_t){service, strlen(service)},
                       bus_frames_part(msg, W_CORR), status, status_len,
                       bus_frames_part(msg, W_PAYLOAD));
    if (w == NULL) {
        size_t id_len;
        const uint8_t *id = bus_frames_data(msg, F_ADDR, &id_len);
        broker_send_command(b, id, id_len, BUS_DISCONNECT);
        return;
    }
    registry_worker_idle(b->reg, w, clock_mono_ms());
    char name[BROKER_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", service); /* dispatch may drop w, and its name */
    broker_dispatch(b, name);
}

static void broker_on_worker(broker_t *b, const bus_frames_t *msg) {
    size_t id_len;
    const uint8_t *id = bus_frames_data(msg, F_ADDR, &id_len);
    registry_worker_t *w = registry_worker_find(b->reg, id, id_len);
    if (bus_frames_is_byte(msg, F_CMD, BUS_READY)) {
        broker_on_ready(b, msg, w);
    } else if (bus_frames_is_byte(msg, F_CMD, BUS_REPLY)) {
        broker_on_reply(b, msg, w);
    } else if (bus_frames_is_byte(msg, F_CMD, BUS_HEARTBEAT)) {
        if (w != NULL) registry_worker_seen(b->reg, w, clock_mono_ms());
        else broker_send_command(b, id, id_len, BUS_DISCONNECT); /* register again, please */
    } else if (bus_frames_is_byte(msg, F_CMD, BUS_DISCONNECT)) {
        if (w != NULL) log_info(NULL, "broker: %s worker left", registry_worker_service(w));
        registry_worker_remove(b->reg, &w);
    } else {
        log_warn(NULL, "broker: unknown worker command");
    }
}

static void broker_on_message(broker_t *b, bus_frames_t **msg) {
    /* The ZAP handler names every connection it lets in; a message without a
     * name did not come through it (and a plaintext peer may claim one in
     * its handshake metadata, which is why it counts only with CURVE). */
    if (b->curve != NULL && *bus_frames_user(*msg) == '\0') {
        log_warn(NULL, "broker: dropped a message without a User-Id");
    } else if (bus_frames_count(*msg) < 4 || !bus_frames_is(*msg, 1, "")) {
        log_warn(NULL, "broker: message without an envelope");
    } else if (bus_frames_is(*msg, F_PROTO, BUS_CLIENT_PROTO)) {
        broker_on_client(b, msg);
    } else if (bus_frames_is(*msg, F_PROTO, BUS_WORKER_PROTO)) {
        broker_on_worker(b, *msg);
    } else {
        log_warn(NULL, "broker: unknown protocol");
    }
    bus_frames_destroy(msg);
}

/* ---- timers ---- */

static void broker_dropped(void *ctx, const registry_worker_t *w) {
    (void)ctx;
    log_warn(NULL, "broker: %s worker silent for %d ms; dropped", registry_worker_service(w),
             BROKER_LIVENESS_MS);
}

static void broker_report_one(void *ctx, const registry_stats_t *s) {
    (void)ctx;
    if (s->depth == 0 && s->peak == 0) return;
    log_info(NULL, "broker: queue service=%s depth=%zu peak=%zu workers=%zu idle=%zu", s->name,
             s->depth, s->peak, s->workers, s->idle);
}

static void broker_tick(broker_t *b) {
    int64_t now = clock_mono_ms();
    registry_expire(b->reg, now, broker_expired, b);
    if (now >= b->beat_at) {
        registry_purge(b->reg, now, broker_dropped, NULL);
        registry_foreach_idle(b->reg, now, broker_command_worker, b);
        b->beat_at = now + BUS_HEARTBEAT_MS;
    }
    if (now >= b->report_at) {
        registry_report(b->reg, broker_report_one, NULL);
        if (b->curve != NULL) broker_curve_report(b->curve);
        b->report_at = now + BROKER_REPORT_MS;
    }
}

/* Until the next timer, whichever comes first. */
static int broker_timeout(const broker_t *b) {
    int64_t wake = b->beat_at < b->report_at ? b->beat_at : b->report_at;
    int64_t deadline = registry_next_deadline(b->reg);
    if (deadline < wake) wake = deadline;
    int64_t left = wake - clock_mono_ms();
    return left < 0 ? 0 : left > BUS_HEARTBEAT_MS ? BUS_HEARTBEAT_MS : (int)left;
}

static void broker_say_goodbye(void *ctx, const registry_worker_t *w) {
    size_t len;
    const void *id = registry_worker_id(w, &len);
    broker_send_command(ctx, id, len, BUS_DISCONNECT);
}

static int broker_run(broker_t *b) {
    bus_socket_t *socks[] = {b->sock, b->curve ? broker_curve_zap(b->curve) : NULL};
    while (!stop) {
        unsigned ready = 0;
        int rc = bus_socket_wait_in(socks, b->curve ? 2 : 1, broker_timeout(b), &ready);
        if (rc == -EIO) {
            log_error(NULL, "broker: socket failed");
            return -1;
        }
        /* Handshakes first: a peer's first message waits on its ZAP answer. */
        if ((ready & 2u) && broker_curve_serve(b->curve) != 0) return -1;
        for (int i = 0; i < BROKER_BATCH && !stop; i++) {
            bus_frames_t *msg = NULL;
            if (bus_socket_recv(b->sock, &msg) != 0) break;
            broker_on_message(b, &msg);
        }
        broker_tick(b);
    }
    /* Nothing waiting is dropped unanswered, and workers re-register at once
     * with whichever broker comes next instead of waiting out their liveness. */
    b->stopping = true;
    registry_expire(b->reg, INT64_MAX, broker_expired, b);
    registry_foreach_worker(b->reg, broker_say_goodbye, b);
    bus_socket_linger(b->sock, BROKER_GOODBYE_MS);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "keygen") == 0) return keygen_run(argc - 1, argv + 1);
    if (argc > 1) {
        fprintf(stderr, "usage: parley-broker                 (runs the broker)\n"
                        "       parley-broker keygen DIR ...  (writes a bus key directory)\n");
        return 2;
    }
    log_init("broker");
    int rc = 1;
    char endpoint[256];
    broker_t b = {0};
    if (bus_signals_stop_on_term(&stop) != 0) goto cleanup;
    const char *bind = config_str("PARLEY_BROKER_BIND", NULL);
    if (bind != NULL) snprintf(endpoint, sizeof endpoint, "%s", bind);
    else snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%ld",
                  config_long("PARLEY_BROKER_PORT", 55555, 1, 65535));

    if (broker_curve_open(endpoint, &b.curve) != 0) goto cleanup;
    b.reg = registry_new(BROKER_LIVENESS_MS, pending_free);
    if (b.reg != NULL) registry_set_quiet_ms(b.reg, BROKER_QUIET_MS);
    b.sock = b.reg ? bus_socket_router_bind(endpoint, b.curve ? broker_curve_secret(b.curve) : NULL)
                   : NULL;
    if (b.sock == NULL) goto cleanup;
    b.beat_at = clock_mono_ms() + BUS_HEARTBEAT_MS;
    b.report_at = clock_mono_ms() + BROKER_REPORT_MS;
    log_info(NULL, "broker: listening on %s", endpoint);
    if (broker_run(&b) == 0) rc = 0;
    log_info(NULL, "broker: stopped");

cleanup:
    registry_destroy(&b.reg);
    bus_socket_destroy(&b.sock);
    broker_curve_destroy(&b.curve);
    return rc;
}
