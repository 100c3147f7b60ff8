/* zap — the handler's side of ZAP (ZeroMQ RFC 27), which decides whether a
 * peer that completed a CURVE handshake with this process may stay
 * connected, and with which User-Id its messages then arrive. One request
 * in, one answer out; what to accept is the caller's decision.
 */
#ifndef PARLEY_BUS_ZAP_H
#define PARLEY_BUS_ZAP_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/frames.h"
#include "bus/keys.h"
#include "bus/socket.h"

typedef struct {
    char mechanism[16];             /* "NULL", "PLAIN", "CURVE" */
    char address[64];               /* the peer's IP address, as text */
    bool has_key;                   /* CURVE: its public key follows */
    uint8_t key[BUS_KEY_BIN_LEN];
} bus_zap_request_t;

/* The kind to accept the peer as (its User-Id: non-empty, at most
 * BUS_KIND_MAX characters, borrowed until the call returns), or NULL to
 * refuse it. */
typedef const char *(*bus_zap_decide_fn)(void *ctx, const bus_zap_request_t *req);

/* Parses a request as the REP socket delivers it: version "1.0", request
 * id, domain, address, routing id, mechanism, credentials. 0, or -EINVAL
 * for anything else (a CURVE request whose key is not 32 bytes included). */
int bus_zap_parse(const bus_frames_t *msg, bus_zap_request_t *out);

/* Answers every request waiting on zap (bus_socket_zap_bind) without
 * blocking: "200" with the kind decide gives, else "400"; a malformed
 * request is refused too. Returns how many were answered, or -EIO. */
int bus_zap_serve(bus_socket_t *zap, bus_zap_decide_fn decide, void *ctx);

#endif
