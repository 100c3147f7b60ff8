/* keys — CurveZMQ keys as Z85 text, their files, and the "kind" a key is
 * known by (gateway, intake, ...). No zmq.h here: the broker and the test
 * helpers use this header too.
 *
 * A key file holds one 40-character Z85 key and nothing else but trailing
 * whitespace. A key directory (PARLEY_BUS_KEYS_DIR) holds, flat:
 *
 *   broker.key  broker.pub          the broker's secret and public key
 *   <kind>.key  <kind>.pub          one pair per client kind
 *   <kind>.<label>.pub              more public keys of a kind (rotation)
 *
 * A process of kind K reads only K.key and broker.pub; the broker reads only
 * broker.key and the *.pub files (its allow-list). Secret files are written
 * 0600 and are refused when anyone other than owner and group may read them.
 */
#ifndef PARLEY_BUS_KEYS_H
#define PARLEY_BUS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUS_KEY_Z85_LEN 40 /* characters of a Z85 key */
#define BUS_KEY_BIN_LEN 32 /* bytes of a key */
#define BUS_KIND_MAX 32    /* longest kind name, without its NUL */
#define BUS_BROKER_NAME "broker"

typedef struct {
    char z85[BUS_KEY_Z85_LEN + 1]; /* NUL-terminated */
} bus_key_t;

/* Whether this libzmq was built with CURVE (libsodium or tweetnacl). */
bool bus_keys_supported(void);

/* A new random key pair. 0, or -ENOTSUP without CURVE, -EIO. */
int bus_keys_generate(bus_key_t *public_key, bus_key_t *secret_key);

/* The public key of secret_key. 0, or -EINVAL / -ENOTSUP. */
int bus_keys_public(const bus_key_t *secret_key, bus_key_t *public_key);

/* Parses len bytes of text (surrounding whitespace allowed) as a Z85 key.
 * 0, or -EINVAL when it is not exactly one valid 40-character key. */
int bus_key_parse(const char *text, size_t len, bus_key_t *out);

/* The key's 32 bytes. 0 or -EINVAL. */
int bus_key_decode(const bus_key_t *key, uint8_t out[BUS_KEY_BIN_LEN]);

/* Reads a key file (at most a few hundred bytes are read). A secret one must
 * be a regular file without access for "other". 0, or a negative errno:
 * -ENOENT, -EACCES, -EPERM (a secret readable by anyone), -EINVAL (not a
 * key). Logs nothing: the caller names the file in its own message. */
int bus_key_read(const char *path, bool secret, bus_key_t *out);

/* Writes key to path (a new file, mode 0600 when secret, else 0644) through
 * a temporary file and rename, so a reader never sees half a key. 0, or a
 * negative errno. */
int bus_key_write(const char *path, const bus_key_t *key, bool secret);

/* Whether name is a usable kind: 1 to BUS_KIND_MAX of [a-z0-9_-], starting
 * with a letter, and not "broker". */
bool bus_kind_is_valid(const char *name);

#endif
