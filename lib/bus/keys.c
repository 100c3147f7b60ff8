/* CurveZMQ key text and key files (contract in keys.h). */
#include "bus/keys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEY_FILE_MAX 256 /* a key and a little whitespace; anything longer is not a key file */

bool bus_keys_supported(void) { return zmq_has("curve") == 1; }

int bus_keys_generate(bus_key_t *public_key, bus_key_t *secret_key) {
    if (!bus_keys_supported()) return -ENOTSUP;
    if (zmq_curve_keypair(public_key->z85, secret_key->z85) != 0) return -EIO;
    return 0;
}

int bus_keys_public(const bus_key_t *secret_key, bus_key_t *public_key) {
    if (!bus_keys_supported()) return -ENOTSUP;
    uint8_t raw[BUS_KEY_BIN_LEN];
    if (bus_key_decode(secret_key, raw) != 0) return -EINVAL;
    if (zmq_curve_public(public_key->z85, secret_key->z85) != 0) return -EINVAL;
    return 0;
}

int bus_key_parse(const char *text, size_t len, bus_key_t *out) {
    while (len > 0 && isspace((unsigned char)text[0])) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
    if (len != BUS_KEY_Z85_LEN) return -EINVAL;
    bus_key_t k;
    memcpy(k.z85, text, len);
    k.z85[len] = '\0';
    uint8_t raw[BUS_KEY_BIN_LEN];
    if (bus_key_decode(&k, raw) != 0) return -EINVAL;
    *out = k;
    return 0;
}

int bus_key_decode(const bus_key_t *key, uint8_t out[BUS_KEY_BIN_LEN]) {
    if (strnlen(key->z85, sizeof key->z85) != BUS_KEY_Z85_LEN) return -EINVAL;
    /* zmq_z85_decode does not check its alphabet: a character outside it
     * would index past its table. Z85 is the 85 printable characters below
     * minus space, quote, comma, semicolon, backslash, underscore, backquote,
     * pipe and tilde. */
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";
    for (size_t i = 0; i < BUS_KEY_Z85_LEN; i++)
        if (strchr(alphabet, key->z85[i]) == NULL) return -EINVAL;
    return zmq_z85_decode(out, key->z85) != NULL ? 0 : -EINVAL;
}

int bus_key_read(const char *path, bool secret, bus_key_t *out) {
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto cleanup;
    }
    if (secret && (st.st_mode & S_IRWXO) != 0) {
        rc = -EPERM;
        goto cleanup;
    }
    char buf[KEY_FILE_MAX + 1];
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            rc = -errno;
            goto cleanup;
        }
        if (got == 0) break;
        n += (size_t)got;
        if (n == sizeof buf) { /* longer than any key file */
            rc = -EINVAL;
            goto cleanup;
        }
    }
    rc = bus_key_parse(buf, n, out);
    memset(buf, 0, sizeof buf); /* a secret does not linger on the stack */

cleanup:
    close(fd);
    return rc;
}

int bus_key_write(const char *path, const bus_key_t *key, bool secret) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -ENAMETOOLONG;
    unlink(tmp); /* a leftover of an interrupted run */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0) return -errno;
    char line[BUS_KEY_Z85_LEN + 2];
    int len = snprintf(line, sizeof line, "%s\n", key->z85);
    int rc = 0;
    /* The mode asked for above is masked by umask; make it exact. */
    if (fchmod(fd, secret ? 0600 : 0644) != 0 || write(fd, line, (size_t)len) != len ||
        fsync(fd) != 0)
        rc = errno ? -errno : -EIO;
    if (close(fd) != 0 && rc == 0) rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
    if (rc != 0) unlink(tmp);
    return rc;
}

bool bus_kind_is_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > BUS_KIND_MAX || name[0] < 'a' || name[0] > 'z') return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return strcmp(name, BUS_BROKER_NAME) != 0;
}
