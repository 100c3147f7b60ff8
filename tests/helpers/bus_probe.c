/* bus-probe — a bus peer for the end-to-end tests (tests/e2e/test_12_bus_security.py)
 * and for measuring the bus: it speaks the broker's protocol (lib/bus/bus.h)
 * with no key, with a key the broker never listed, or with a kind's key from
 * PARLEY_BUS_KEYS_DIR, and prints what happened as one JSON line.
 *
 *   bus-probe [--key none|unknown|KIND] COMMAND ...        (default --key none)
 *   call SERVICE METHOD ID [--authority A] [--consortium C] [--client-id X]
 *        [--role R] [--request-id RID] [--timeout-ms N]
 *        METHOD is GetFamily, GetCase or ResolveContact (payload {id}); the principal is made
 *        up from the options (none without --authority and --client-id).
 *        -> {"result":"reply","code":"...","message":"...","payloadHex":"..."}
 *           or {"result":"timeout"}
 *   ready SERVICE [--timeout-ms N]   mmi.service -> {"result":"reply","ready":bool} / timeout
 *   worker SERVICE [--seconds N]     registers as a worker of SERVICE and stays N s
 *        (default 3), answering every request UNAVAILABLE, never with data
 *        -> {"registered":bool,"refused":bool,"requests":n}
 *   bench SERVICE COUNT              COUNT Ping round trips one after another
 *        -> {"count":n,"seconds":s,"perSecond":r,"p50Us":u,"p99Us":u}
 *   fake-broker ENDPOINT [--seconds N] [--plaintext]   a broker impostor: CURVE
 *        with a key of its own, accepting any client key (or, --plaintext,
 *        no CURVE at all); counts the messages that reach it -> {"messages":n}
 *
 * The broker endpoint is PARLEY_BROKER (or PARLEY_BROKER_PORT on loopback).
 * Exit status 0 whatever the broker answered; 2 on a usage error, 1 when the
 * probe itself could not run.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/auth.h"
#include "bus/bus.h"
#include "bus/socket.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "parley/ping/v1/ping.pb-c.h"

#define PROBE_MAX_LIST 8      /* authorities or roles on a made-up principal */
#define PROBE_MAX_COUNT 1000000

typedef struct {
    const char *authorities[PROBE_MAX_LIST], *roles[PROBE_MAX_LIST];
    size_t n_authorities, n_roles;
    const char *consortium, *client_id, *request_id;
    int timeout_ms, seconds;
    bool plaintext;
} probe_opts_t;

static int usage(void) {
    fprintf(stderr, "usage: bus-probe [--key none|unknown|KIND] call SERVICE METHOD ID [options]\n"
                    "       bus-probe [--key ...] ready SERVICE | worker SERVICE [--seconds N]\n"
                    "       bus-probe [--key ...] bench SERVICE COUNT\n"
                    "       bus-probe fake-broker ENDPOINT [--seconds N]\n");
    return 2;
}

static void print_json(json_t *j) {
    if (j == NULL) return;
    json_dumpf(j, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(j);
}

static char *hex(const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 1);
    if (s == NULL) return NULL;
    for (size_t i = 0; i < n; i++) snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

/* --key: the process's bus identity. 0 or -1. */
static int probe_key(const char *mode) {
    if (strcmp(mode, "none") == 0) return 0;
    if (strcmp(mode, "unknown") != 0) return bus_auth_init(mode) == 0 && bus_auth_curve() ? 0 : -1;
    /* A fresh key pair the broker has never seen, aimed at the real broker. */
    const char *dir = config_str(BUS_KEYS_DIR_ENV, NULL);
    char path[4096];
    bus_key_t pub, sec, broker;
    if (dir == NULL) return -1;
    snprintf(path, sizeof path, "%s/%s.pub", dir, BUS_BROKER_NAME);
    if (bus_key_read(path, false, &broker) != 0 || bus_keys_generate(&pub, &sec) != 0) return -1;
    return bus_auth_use("unknown", &sec, &broker);
}

static int probe_options(int argc, char **argv, int i, probe_opts_t *o) {
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--plaintext") == 0) {
            o->plaintext = true;
            continue;
        }
        if (v == NULL) return -1;
        if (strcmp(a, "--authority") == 0 && o->n_authorities < PROBE_MAX_LIST)
            o->authorities[o->n_authorities++] = v;
        else if (strcmp(a, "--role") == 0 && o->n_roles < PROBE_MAX_LIST) o->roles[o->n_roles++] = v;
        else if (strcmp(a, "--consortium") == 0) o->consortium = v;
        else if (strcmp(a, "--client-id") == 0) o->client_id = v;
        else if (strcmp(a, "--request-id") == 0) o->request_id = v;
        else if (strcmp(a, "--timeout-ms") == 0) o->timeout_ms = atoi(v);
        else if (strcmp(a, "--seconds") == 0) o->seconds = atoi(v);
        else return -1;
        i++;
    }
    return o->timeout_ms > 0 && o->seconds > 0 ? 0 : -1;
}

static json_t *probe_reply_json(const bus_reply_t *r) {
    char *payload = hex(r->payload, r->payload_len);
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s}", "result", "reply", "code",
                          bus_code_name(r->status->code), "message",
                          r->status->message ? r->status->message : "", "payloadBytes",
                          (json_int_t)r->payload_len, "payloadHex", payload ? payload : "");
    free(payload);
    return j;
}

static int probe_call(const char *endpoint, const char *service, const char *method,
                      const char *id, const probe_opts_t *o) {
    ProtobufCMessage *in;
    Parley__Intake__V1__GetFamilyRequest gf = PARLEY__INTAKE__V1__GET_FAMILY_REQUEST__INIT;
    Parley__Intake__V1__GetCaseRequest gc = PARLEY__INTAKE__V1__GET_CASE_REQUEST__INIT;
    Parley__Intake__V1__ResolveContactRequest rc_in = PARLEY__INTAKE__V1__RESOLVE_CONTACT_REQUEST__INIT;
    if (strcmp(method, "GetFamily") == 0) {
        gf.id = (char *)id;
        in = &gf.base;
    } else if (strcmp(method, "GetCase") == 0) {
        gc.id = (char *)id;
        in = &gc.base;
    } else if (strcmp(method, "ResolveContact") == 0) {
        /* contacts: intake's and matching's requests are alike (person_id, field 1). */
        rc_in.person_id = (char *)id;
        in = &rc_in.base;
    } else {
        return usage();
    }
    Parley__Common__V1__Principal p = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    p.client_id = (char *)(o->client_id ? o->client_id : "");
    p.consortium_id = (char *)(o->consortium ? o->consortium : "");
    p.authority_ids = (char **)o->authorities;
    p.n_authority_ids = o->n_authorities;
    p.roles = (char **)o->roles;
    p.n_roles = o->n_roles;
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.method = (char *)method;
    h.request_id = (char *)(o->request_id ? o->request_id : "");
    if (o->n_authorities > 0 || o->client_id != NULL) h.principal = &p;

    int rc = 1;
    uint8_t buf[512];
    size_t len = protobuf_c_message_get_packed_size(in);
    arena_t *arena = arena_new();
    bus_client_t *c = bus_client_new(endpoint);
    if (arena == NULL || c == NULL || len > sizeof buf) goto cleanup;
    protobuf_c_message_pack(in, buf);
    bus_reply_t reply;
    int got = bus_client_call(c, arena, service, &h, buf, len, o->timeout_ms, false, &reply);
    if (got == 0) print_json(probe_reply_json(&reply));
    else print_json(json_pack("{s:s}", "result", got == -ETIMEDOUT ? "timeout" : "error"));
    rc = 0;

cleanup:
    bus_client_destroy(&c);
    arena_destroy(&arena);
    return rc;
}

static int probe_ready(const char *endpoint, const char *service, const probe_opts_t *o) {
    bus_client_t *c = bus_client_new(endpoint);
    if (c == NULL) return 1;
    int got = bus_client_service_ready(c, service, o->timeout_ms);
    if (got >= 0) print_json(json_pack("{s:s, s:b}", "result", "reply", "ready", got == 1));
    else print_json(json_pack("{s:s}", "result", got == -ETIMEDOUT ? "timeout" : "error"));
    bus_client_destroy(&c);
    return 0;
}

/* Answers a REQUEST with UNAVAILABLE and no payload: a probe that got in
 * must not hand a caller anything that looks like data. */
static void probe_refuse_request(bus_socket_t *s, const bus_frames_t *msg) {
    Parley__Common__V1__Status st = PARLEY__COMMON__V1__STATUS__INIT;
    st.code = PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE;
    st.message = "bus-probe";
    uint8_t status[64];
    size_t n = parley__common__v1__status__pack(&st, status);
    uint8_t cmd = BUS_REPLY;
    bus_part_t parts[] = {{NULL, 0},          BUS_PART_STR(BUS_WORKER_PROTO), {&cmd, 1},
                          bus_frames_part(msg, 3), bus_frames_part(msg, 4), {status, n},
                          {NULL, 0}};
    bus_socket_send(s, parts, 7);
}

static int probe_worker(const char *endpoint, const char *service, const probe_opts_t *o) {
    bus_socket_t *s = bus_socket_dealer_connect(endpoint, false);
    if (s == NULL) return 1;
    uint8_t ready = BUS_READY, beat = BUS_HEARTBEAT;
    bus_part_t hello[] = {{NULL, 0}, BUS_PART_STR(BUS_WORKER_PROTO), {&ready, 1},
                          {service, strlen(service)}};
    bus_part_t heartbeat[] = {{NULL, 0}, BUS_PART_STR(BUS_WORKER_PROTO), {&beat, 1}};
    bool registered = false, refused = false;
    long requests = 0;
    bus_socket_send(s, hello, 4);
    int64_t end = clock_mono_ms() + (int64_t)o->seconds * 1000, beat_at = clock_mono_ms() + 1000;
    while (!refused && clock_mono_ms() < end) {
        int64_t left = end - clock_mono_ms();
        bus_socket_wait(s, BUS_POLL_IN, left < 200 ? (int)left : 200);
        bus_frames_t *msg = NULL;
        while (bus_socket_recv(s, &msg) == 0) {
            if (bus_frames_is_byte(msg, 2, BUS_HEARTBEAT)) registered = true;
            if (bus_frames_is_byte(msg, 2, BUS_DISCONNECT)) refused = true;
            if (bus_frames_is_byte(msg, 2, BUS_REQUEST)) {
                requests++;
                probe_refuse_request(s, msg);
            }
            bus_frames_destroy(&msg);
        }
        if (clock_mono_ms() >= beat_at) {
            bus_socket_send(s, heartbeat, 3);
            beat_at = clock_mono_ms() + 1000;
        }
    }
    if (refused) registered = false;
    print_json(json_pack("{s:b, s:b, s:I}", "registered", registered, "refused", refused,
                         "requests", (json_int_t)requests));
    bus_socket_destroy(&s);
    return 0;
}

static int compare_us(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

static int probe_bench(const char *endpoint, const char *service, long count) {
    int rc = 1;
    long *us = calloc((size_t)count, sizeof *us), done = 0;
    arena_t *arena = arena_new();
    bus_client_t *c = bus_client_new(endpoint);
    if (us == NULL || arena == NULL || c == NULL) goto cleanup;
    Parley__Ping__V1__PingRequest ping = PARLEY__PING__V1__PING_REQUEST__INIT;
    uint8_t buf[16];
    size_t len = parley__ping__v1__ping_request__pack(&ping, buf);
    /* One call first, so the handshake is not counted. */
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.method = "Ping";
    bus_reply_t reply;
    if (bus_client_call(c, arena, service, &h, buf, len, 5000, false, &reply) != 0) goto cleanup;
    long start = now_us();
    for (; done < count; done++) {
        long t0 = now_us();
        arena_reset(arena);
        if (bus_client_call(c, arena, service, &h, buf, len, 5000, false, &reply) != 0 ||
            reply.status->code != PARLEY__COMMON__V1__CODE__CODE_OK)
            break;
        us[done] = now_us() - t0;
    }
    double seconds = (double)(now_us() - start) / 1e6;
    qsort(us, (size_t)done, sizeof *us, compare_us);
    print_json(json_pack("{s:I, s:f, s:f, s:I, s:I}", "count", (json_int_t)done, "seconds", seconds,
                         "perSecond", seconds > 0 ? (double)done / seconds : 0.0, "p50Us",
                         (json_int_t)(done ? us[done / 2] : 0), "p99Us",
                         (json_int_t)(done ? us[done * 99 / 100] : 0)));
    rc = done == count ? 0 : 1;

cleanup:
    bus_client_destroy(&c);
    arena_destroy(&arena);
    free(us);
    return rc;
}

static int probe_fake_broker(const char *endpoint, const probe_opts_t *o) {
    bus_key_t pub, sec;
    if (bus_keys_generate(&pub, &sec) != 0) return 1;
    /* No ZAP handler in this process: libzmq lets every client key in. */
    bus_socket_t *s = bus_socket_router_bind(endpoint, o->plaintext ? NULL : &sec);
    if (s == NULL) return 1;
    long messages = 0;
    int64_t end = clock_mono_ms() + (int64_t)o->seconds * 1000;
    while (clock_mono_ms() < end) {
        int64_t left = end - clock_mono_ms();
        bus_socket_wait(s, BUS_POLL_IN, left < 200 ? (int)left : 200);
        bus_frames_t *msg = NULL;
        while (bus_socket_recv(s, &msg) == 0) {
            messages++;
            bus_frames_destroy(&msg);
        }
    }
    print_json(json_pack("{s:I}", "messages", (json_int_t)messages));
    bus_socket_destroy(&s);
    return 0;
}

int main(int argc, char **argv) {
    log_init("bus-probe");
    signal(SIGPIPE, SIG_IGN);
    int i = 1;
    const char *key = "none";
    if (i + 1 < argc && strcmp(argv[i], "--key") == 0) {
        key = argv[i + 1];
        i += 2;
    }
    if (i >= argc) return usage();
    const char *cmd = argv[i++];
    probe_opts_t o = {.timeout_ms = 1500, .seconds = 3};
    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);

    if (strcmp(cmd, "fake-broker") == 0) {
        if (i >= argc || probe_options(argc, argv, i + 1, &o) != 0) return usage();
        return probe_fake_broker(argv[i], &o);
    }
    if (probe_key(key) != 0) {
        fprintf(stderr, "bus-probe: cannot use --key %s\n", key);
        return 1;
    }
    if (strcmp(cmd, "call") == 0) {
        if (i + 3 > argc || probe_options(argc, argv, i + 3, &o) != 0) return usage();
        return probe_call(endpoint, argv[i], argv[i + 1], argv[i + 2], &o);
    }
    if (strcmp(cmd, "ready") == 0 || strcmp(cmd, "worker") == 0) {
        if (i + 1 > argc || probe_options(argc, argv, i + 1, &o) != 0) return usage();
        return cmd[0] == 'r' ? probe_ready(endpoint, argv[i], &o) : probe_worker(endpoint, argv[i], &o);
    }
    if (strcmp(cmd, "bench") == 0) {
        long count = i + 2 == argc ? strtol(argv[i + 1], NULL, 10) : 0;
        if (count < 1 || count > PROBE_MAX_COUNT) return usage();
        return probe_bench(endpoint, argv[i], count);
    }
    return usage();
}
