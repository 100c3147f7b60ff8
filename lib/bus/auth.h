/* auth — this process's identity on the bus: the kind it is (gateway,
 * intake, ...) and, when keys are configured for it, the CURVE keys every
 * client and worker socket it opens uses: its kind's key pair, and the
 * broker's public key, which the handshake checks, so a process never talks
 * to a broker that lacks the matching secret.
 *
 * Set once at start, before any bus socket or thread exists; read-only
 * afterwards, so the sockets of every thread may read it without a lock.
 * Without a call (or with PARLEY_BUS_KEYS_DIR unset) sockets are plaintext,
 * which only a broker on loopback or ipc accepts.
 */
#ifndef PARLEY_BUS_AUTH_H
#define PARLEY_BUS_AUTH_H

#include <stdbool.h>

#include "bus/keys.h"

#define BUS_KEYS_DIR_ENV "PARLEY_BUS_KEYS_DIR"

/* Reads $PARLEY_BUS_KEYS_DIR/<kind>.key and $PARLEY_BUS_KEYS_DIR/broker.pub
 * when the variable is set. 0 (CURVE on, or plaintext when it is unset), or
 * -1 when it is set and a key cannot be used (logged, naming the file):
 * a process whose keys are broken must not fall back to plaintext. */
int bus_auth_init(const char *kind);

/* The same with keys in hand (the test probe). 0 or -1 (logged). */
int bus_auth_use(const char *kind, const bus_key_t *secret_key, const bus_key_t *broker_public);

/* Whether CURVE is on; and the keys when it is (borrowed, static storage). */
bool bus_auth_curve(void);
const bus_key_t *bus_auth_public_key(void);
const bus_key_t *bus_auth_secret_key(void);
const bus_key_t *bus_auth_broker_key(void);

/* The kind given to bus_auth_init, or "" before. */
const char *bus_auth_kind(void);

#endif
