/* The broker's allow-list (contract in allow.h). */
#include "allow.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define ALLOW_SCAN_MAX 4096 /* directory entries looked at */

typedef struct {
    char kind[BUS_KIND_MAX + 1];
    uint8_t key[BUS_KEY_BIN_LEN];
} entry_t;

struct allow {
    entry_t entries[ALLOW_MAX];
    size_t n;
};

allow_t *allow_new(void) { return calloc(1, sizeof(allow_t)); }

void allow_destroy(allow_t **self) {
    if (self == NULL || *self == NULL) return;
    free(*self);
    *self = NULL;
}

const char *allow_kind(const allow_t *self, const uint8_t key[BUS_KEY_BIN_LEN]) {
    for (size_t i = 0; i < self->n; i++)
        if (memcmp(self->entries[i].key, key, BUS_KEY_BIN_LEN) == 0) return self->entries[i].kind;
    return NULL;
}

int allow_add(allow_t *self, const char *kind, const uint8_t key[BUS_KEY_BIN_LEN]) {
    if (!bus_kind_is_valid(kind)) return -EINVAL;
    const char *listed = allow_kind(self, key);
    if (listed != NULL) return strcmp(listed, kind) == 0 ? 0 : -EEXIST;
    if (self->n == ALLOW_MAX) return -ENOSPC;
    entry_t *e = &self->entries[self->n++];
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    memcpy(e->key, key, BUS_KEY_BIN_LEN);
    return 0;
}

size_t allow_count(const allow_t *self) { return self->n; }

/* The kind a public key file's name gives ("intake.pub", "intake.2025.pub"
 * -> "intake"), in kind. 1 when name is such a file, 0 when it is another
 * file to skip, -1 when it names no valid kind. */
static int allow_file_kind(const char *name, char kind[BUS_KIND_MAX + 1]) {
    size_t n = strlen(name);
    if (name[0] == '.' || n < 5 || strcmp(name + n - 4, ".pub") != 0) return 0;
    size_t k = strcspn(name, ".");
    if (k > BUS_KIND_MAX) return -1;
    memcpy(kind, name, k);
    kind[k] = '\0';
    if (strcmp(kind, BUS_BROKER_NAME) == 0) return 0;
    return bus_kind_is_valid(kind) ? 1 : -1;
}

int allow_load_dir(allow_t *self, const char *dir) {
    int added = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        log_error(NULL, "broker: cannot read the key directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    for (int seen = 0; (e = readdir(d)) != NULL; seen++) {
        if (seen == ALLOW_SCAN_MAX) {
            log_error(NULL, "broker: %s has more than %d entries; not a key directory", dir,
                      ALLOW_SCAN_MAX);
            added = -1;
            break;
        }
        char kind[BUS_KIND_MAX + 1], path[4096];
        int is_pub = allow_file_kind(e->d_name, kind);
        if (is_pub == 0) continue;
        if (is_pub < 0) {
            log_error(NULL, "broker: %s/%s: a public key file is named <kind>.pub, the kind"
                      " of [a-z0-9_-] starting with a letter", dir, e->d_name);
            added = -1;
            break;
        }
        bus_key_t key;
        uint8_t raw[BUS_KEY_BIN_LEN];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int rc = bus_key_read(path, false, &key);
        if (rc == 0) rc = bus_key_decode(&key, raw);
        if (rc == 0) rc = allow_add(self, kind, raw);
        if (rc != 0) {
            log_error(NULL, "broker: cannot allow the key in %s: %s", path,
                      rc == -EEXIST ? "the same key is listed for another kind"
                      : rc == -ENOSPC ? "too many keys"
                      : rc == -EINVAL ? "not one 40-character Z85 key"
                                      : strerror(-rc));
            added = -1;
            break;
        }
        added++;
    }
    closedir(d);
    return added;
}
