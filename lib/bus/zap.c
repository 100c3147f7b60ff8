/* The ZAP handler's protocol (contract in zap.h). */
#include "bus/zap.h"

#include <errno.h>
#include <string.h>

/* Request frames after REP has taken the envelope off. */
enum { Z_VERSION, Z_REQUEST_ID, Z_DOMAIN, Z_ADDRESS, Z_ROUTING_ID, Z_MECHANISM, Z_CREDENTIALS };
#define ZAP_SERVE_MAX 64 /* answered per call, so a flood cannot starve the broker's own loop */

int bus_zap_parse(const bus_frames_t *msg, bus_zap_request_t *out) {
    memset(out, 0, sizeof *out);
    size_t n = bus_frames_count(msg);
    if (n < Z_CREDENTIALS || !bus_frames_is(msg, Z_VERSION, "1.0")) return -EINVAL;
    if (bus_frames_copy_str(msg, Z_MECHANISM, out->mechanism, sizeof out->mechanism) != 0 ||
        bus_frames_copy_str(msg, Z_ADDRESS, out->address, sizeof out->address) != 0)
        return -EINVAL;
    if (strcmp(out->mechanism, "CURVE") != 0) return 0;
    size_t len;
    const uint8_t *key = bus_frames_data(msg, Z_CREDENTIALS, &len);
    if (n != Z_CREDENTIALS + 1 || len != BUS_KEY_BIN_LEN) return -EINVAL;
    memcpy(out->key, key, len);
    out->has_key = true;
    return 0;
}

/* Answers one request. A kind that is empty or too long is a refusal: an
 * empty User-Id would leave the connection without one. */
static int zap_answer(bus_socket_t *zap, bus_part_t request_id, const char *kind) {
    bool ok = kind != NULL && *kind != '\0' && strlen(kind) <= BUS_KIND_MAX;
    bus_part_t parts[] = {
        BUS_PART_STR("1.0"),
        request_id,
        ok ? BUS_PART_STR("200") : BUS_PART_STR("400"),
        ok ? BUS_PART_STR("OK") : BUS_PART_STR("not allowed"),
        {ok ? kind : NULL, ok ? strlen(kind) : 0},
        {NULL, 0}, /* no metadata */
    };
    return bus_socket_send(zap, parts, sizeof parts / sizeof parts[0]);
}

int bus_zap_serve(bus_socket_t *zap, bus_zap_decide_fn decide, void *ctx) {
    int answered = 0;
    while (answered < ZAP_SERVE_MAX) {
        bus_frames_t *msg = NULL;
        int rc = bus_socket_recv(zap, &msg);
        if (rc == -EAGAIN || rc == -EINTR) break;
        if (rc == -EBADMSG || rc == -ENOMEM) {
            /* Taken but not kept: REP still owes an answer, and a refusal
             * without the request id fails that handshake, as it should. */
            if (zap_answer(zap, (bus_part_t){NULL, 0}, NULL) != 0) return -EIO;
            answered++;
            continue;
        }
        if (rc != 0) return -EIO;
        bus_zap_request_t req;
        const char *kind = bus_zap_parse(msg, &req) == 0 ? decide(ctx, &req) : NULL;
        rc = zap_answer(zap, bus_frames_part(msg, Z_REQUEST_ID), kind);
        bus_frames_destroy(&msg);
        if (rc != 0) return -EIO;
        answered++;
    }
    return answered;
}
