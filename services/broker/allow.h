/* allow — the broker's allow-list: the CURVE public keys that may connect,
 * each with the kind it is known by (the User-Id of its connection, which
 * the policy decides on). Read once at start from the key directory's
 * public key files: <kind>.pub, or <kind>.<label>.pub for a second key of a
 * kind while it is being rotated; broker.pub (the broker's own) and hidden
 * entries (a Kubernetes Secret volume's ..data) are skipped, and no other
 * file is opened, so secrets lying beside them are never read.
 *
 * Lookups are linear: a deployment has tens of keys.
 */
#ifndef PARLEY_BROKER_ALLOW_H
#define PARLEY_BROKER_ALLOW_H

#include <stddef.h>
#include <stdint.h>

#include "bus/keys.h"

#define ALLOW_MAX 256 /* keys on one allow-list */

typedef struct allow allow_t;

/* An empty allow-list; NULL when out of memory. */
allow_t *allow_new(void);

void allow_destroy(allow_t **self);

/* Lists key as kind's. 0; 0 too when it is listed for kind already;
 * -EEXIST when it is listed for another kind (one key, one kind);
 * -EINVAL for a kind bus_kind_is_valid refuses; -ENOSPC past ALLOW_MAX. */
int allow_add(allow_t *self, const char *kind, const uint8_t key[BUS_KEY_BIN_LEN]);

/* Adds every public key file of dir. Returns how many keys were added, or
 * -1 when a file cannot be read or named, or the list would be ambiguous
 * (logged, naming the file): a broken allow-list stops the broker rather
 * than leaving a service locked out unnoticed. */
int allow_load_dir(allow_t *self, const char *dir);

/* The kind key is listed for (borrowed), or NULL. */
const char *allow_kind(const allow_t *self, const uint8_t key[BUS_KEY_BIN_LEN]);

size_t allow_count(const allow_t *self);

#endif
