/* The broker's CURVE keys, allow-list and ZAP handler (contract in curve.h). */
#include "curve.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "bus/auth.h"
#include "bus/zap.h"
#include "core/config.h"
#include "core/log.h"
#include "policy.h"

/* Refusals logged one by one per report period; the rest are counted. A
 * refused peer reconnects every few hundred milliseconds, and a log must
 * not become the cost of being probed. */
#define CURVE_REFUSALS_LOGGED 5

struct broker_curve {
    bus_key_t secret;
    allow_t *allow;
    bus_socket_t *zap;
    size_t refused, refused_logged;
};

/* The ZAP decision: a CURVE client whose key is on the list, as its kind. */
static const char *curve_decide(void *ctx, const bus_zap_request_t *req) {
    broker_curve_t *self = ctx;
    bool curve = strcmp(req->mechanism, "CURVE") == 0 && req->has_key;
    const char *kind = curve ? allow_kind(self->allow, req->key) : NULL;
    if (kind != NULL) {
        log_debug(NULL, "broker: %s connected from %s", kind, req->address);
        return kind;
    }
    self->refused++;
    if (self->refused_logged < CURVE_REFUSALS_LOGGED) {
        self->refused_logged++;
        log_warn(NULL, "broker: refused a bus connection from %s: %s", req->address,
                 curve ? "its CURVE key is not on the allow-list" : "not a CURVE handshake");
    }
    return NULL;
}

static int curve_load(broker_curve_t *self, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.key", dir, BUS_BROKER_NAME);
    int rc = bus_key_read(path, true, &self->secret);
    if (rc != 0) {
        log_error(NULL, "broker: cannot use its secret key %s: %s", path,
                  rc == -EPERM ? "others may read it (chmod 600)"
                  : rc == -EINVAL ? "not one 40-character Z85 key"
                                  : strerror(-rc));
        return -1;
    }
    int n = allow_load_dir(self->allow, dir);
    if (n < 0) return -1;
    if (n == 0) {
        log_error(NULL, "broker: no client keys (<kind>.pub) in %s: nothing could connect", dir);
        return -1;
    }
    return 0;
}

int broker_curve_open(const char *endpoint, broker_curve_t **out) {
    *out = NULL;
    const char *dir = config_str(BUS_KEYS_DIR_ENV, NULL);
    if (dir == NULL) {
        if (policy_endpoint_is_local(endpoint)) {
            log_warn(NULL, "broker: %s unset: plaintext on %s, reachable from this machine only",
                     BUS_KEYS_DIR_ENV, endpoint);
            return 0;
        }
        log_error(NULL, "broker: refusing to listen on %s without CURVE: anyone who reaches it"
                  " could call any service; set %s to a key directory"
                  " (parley-broker keygen DIR makes one)", endpoint, BUS_KEYS_DIR_ENV);
        return -1;
    }
    if (!bus_keys_supported()) {
        log_error(NULL, "broker: %s is set but this libzmq has no CURVE support", BUS_KEYS_DIR_ENV);
        return -1;
    }
    broker_curve_t *self = calloc(1, sizeof *self);
    if (self == NULL || (self->allow = allow_new()) == NULL) goto fail;
    if (curve_load(self, dir) != 0) goto fail;
    /* Bound before the ROUTER: a handshake that finds no handler is let in. */
    if ((self->zap = bus_socket_zap_bind()) == NULL) goto fail;
    log_info(NULL, "broker: CURVE on, %zu client keys allowed (from %s)", allow_count(self->allow),
             dir);
    *out = self;
    return 0;

fail:
    if (self == NULL) log_error(NULL, "broker: out of memory");
    broker_curve_destroy(&self);
    return -1;
}

void broker_curve_destroy(broker_curve_t **self) {
    if (self == NULL || *self == NULL) return;
    bus_socket_destroy(&(*self)->zap);
    allow_destroy(&(*self)->allow);
    memset(&(*self)->secret, 0, sizeof (*self)->secret);
    free(*self);
    *self = NULL;
}

const bus_key_t *broker_curve_secret(const broker_curve_t *self) { return &self->secret; }

bus_socket_t *broker_curve_zap(const broker_curve_t *self) { return self->zap; }

int broker_curve_serve(broker_curve_t *self) {
    if (bus_zap_serve(self->zap, curve_decide, self) >= 0) return 0;
    log_error(NULL, "broker: the ZAP handler's socket failed");
    return -1;
}

void broker_curve_report(broker_curve_t *self) {
    if (self->refused > self->refused_logged)
        log_warn(NULL, "broker: refused %zu bus connections in all since the last report",
                 self->refused);
    self->refused = self->refused_logged = 0;
}
