/* This process's bus identity (contract in auth.h). */
#include "bus/auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"

static struct {
    bool curve;
    char kind[BUS_KIND_MAX + 1];
    bus_key_t public_key, secret_key, broker;
} auth;

/* Why a key file could not be used, for the log. */
static const char *auth_why(int rc) {
    switch (rc) {
    case -ENOENT: return "it does not exist";
    case -EPERM: return "others may read it (chmod 600)";
    case -EINVAL: return "it does not hold one 40-character Z85 key";
    default: return strerror(-rc);
    }
}

int bus_auth_use(const char *kind, const bus_key_t *secret_key, const bus_key_t *broker_public) {
    if (!bus_kind_is_valid(kind)) {
        log_error(NULL, "bus: '%s' is not a valid bus kind", kind);
        return -1;
    }
    if (!bus_keys_supported()) {
        log_error(NULL, "bus: keys are configured but this libzmq has no CURVE support");
        return -1;
    }
    bus_key_t pub;
    uint8_t raw[BUS_KEY_BIN_LEN];
    if (bus_keys_public(secret_key, &pub) != 0 || bus_key_decode(broker_public, raw) != 0) {
        log_error(NULL, "bus: the %s key or the broker's public key is not a CURVE key", kind);
        return -1;
    }
    snprintf(auth.kind, sizeof auth.kind, "%s", kind);
    auth.secret_key = *secret_key;
    auth.public_key = pub;
    auth.broker = *broker_public;
    auth.curve = true;
    return 0;
}

int bus_auth_init(const char *kind) {
    const char *dir = config_str(BUS_KEYS_DIR_ENV, NULL);
    if (dir == NULL) {
        if (bus_kind_is_valid(kind)) snprintf(auth.kind, sizeof auth.kind, "%s", kind);
        log_info(NULL, "bus: %s unset; connecting to the broker without CURVE (loopback only)",
                 BUS_KEYS_DIR_ENV);
        return 0;
    }
    if (!bus_kind_is_valid(kind)) {
        log_error(NULL, "bus: '%s' is not a valid bus kind", kind);
        return -1;
    }
    char path[4096];
    bus_key_t secret, broker;
    snprintf(path, sizeof path, "%s/%s.key", dir, kind);
    int rc = bus_key_read(path, true, &secret);
    if (rc != 0) {
        log_error(NULL, "bus: cannot use the secret key %s: %s", path, auth_why(rc));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s.pub", dir, BUS_BROKER_NAME);
    rc = bus_key_read(path, false, &broker);
    if (rc != 0) {
        memset(&secret, 0, sizeof secret);
        log_error(NULL, "bus: cannot use the broker's public key %s: %s", path, auth_why(rc));
        return -1;
    }
    rc = bus_auth_use(kind, &secret, &broker);
    memset(&secret, 0, sizeof secret);
    if (rc == 0) log_info(NULL, "bus: CURVE on, as %s (keys from %s)", kind, dir);
    return rc;
}

bool bus_auth_curve(void) { return auth.curve; }
const bus_key_t *bus_auth_public_key(void) { return &auth.public_key; }
const bus_key_t *bus_auth_secret_key(void) { return &auth.secret_key; }
const bus_key_t *bus_auth_broker_key(void) { return &auth.broker; }
const char *bus_auth_kind(void) { return auth.kind; }
