/* parley-broker keygen (contract in keygen.h). Talks to a person: messages
 * go to stdout/stderr, not to the JSON log. */
#include "keygen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/keys.h"

#define KEYGEN_PATH_MAX 4096

static int keygen_usage(void) {
    fprintf(stderr, "usage: parley-broker keygen DIR [KIND...]\n"
                    "       parley-broker keygen --rotate DIR NAME...\n");
    return 2;
}

static void keygen_path(char *buf, const char *dir, const char *name, const char *ext) {
    snprintf(buf, KEYGEN_PATH_MAX, "%s/%s%s", dir, name, ext);
}

/* DIR exists (made 0700 when it did not) and is closed to others. */
static int keygen_dir(const char *dir) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "keygen: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "keygen: %s is not a directory\n", dir);
        return -1;
    }
    if ((st.st_mode & S_IRWXO) != 0) {
        fprintf(stderr, "keygen: %s is open to others; chmod 700 it first\n", dir);
        return -1;
    }
    return 0;
}

/* A new pair for name: the secret first, so a public key never exists
 * without its secret. */
static int keygen_write_pair(const char *dir, const char *name) {
    char path[KEYGEN_PATH_MAX];
    bus_key_t pub, sec;
    keygen_path(path, dir, name, ".key");
    int rc = bus_keys_generate(&pub, &sec);
    if (rc == 0) rc = bus_key_write(path, &sec, true);
    if (rc == 0) {
        keygen_path(path, dir, name, ".pub");
        rc = bus_key_write(path, &pub, false);
    }
    memset(&sec, 0, sizeof sec);
    if (rc != 0) fprintf(stderr, "keygen: cannot write %s: %s\n", path, strerror(-rc));
    return rc;
}

/* name's pair exists and agrees, or is made. */
static int keygen_ensure(const char *dir, const char *name) {
    char key_path[KEYGEN_PATH_MAX], pub_path[KEYGEN_PATH_MAX];
    keygen_path(key_path, dir, name, ".key");
    keygen_path(pub_path, dir, name, ".pub");
    bus_key_t sec, pub, listed;
    int rc = bus_key_read(key_path, true, &sec);
    if (rc == -ENOENT) {
        if (access(pub_path, F_OK) == 0) {
            fprintf(stderr, "keygen: %s exists without %s; remove it or restore the secret\n",
                    pub_path, key_path);
            return -1;
        }
        if (keygen_write_pair(dir, name) != 0) return -1;
        printf("created %s\n", name);
        return 0;
    }
    if (rc == 0) rc = bus_keys_public(&sec, &pub);
    memset(&sec, 0, sizeof sec);
    if (rc != 0) {
        fprintf(stderr, "keygen: %s is not a usable secret key (%s)\n", key_path,
                rc == -EPERM ? "others may read it" : strerror(-rc));
        return -1;
    }
    rc = bus_key_read(pub_path, false, &listed);
    if (rc == -ENOENT) {
        if ((rc = bus_key_write(pub_path, &pub, false)) != 0) {
            fprintf(stderr, "keygen: cannot write %s: %s\n", pub_path, strerror(-rc));
            return -1;
        }
        printf("kept %s (wrote its public key again)\n", name);
        return 0;
    }
    if (rc != 0 || strcmp(listed.z85, pub.z85) != 0) {
        fprintf(stderr, "keygen: %s is not the public key of %s\n", pub_path, key_path);
        return -1;
    }
    printf("kept %s\n", name);
    return 0;
}

/* name's pair replaced; its old public key kept as name.old.pub. */
static int keygen_rotate(const char *dir, const char *name) {
    char pub_path[KEYGEN_PATH_MAX], old_path[KEYGEN_PATH_MAX], key_path[KEYGEN_PATH_MAX];
    keygen_path(key_path, dir, name, ".key");
    keygen_path(pub_path, dir, name, ".pub");
    keygen_path(old_path, dir, name, ".old.pub");
    if (access(key_path, F_OK) != 0 || access(pub_path, F_OK) != 0) {
        fprintf(stderr, "keygen: %s has no key pair in %s to rotate\n", name, dir);
        return -1;
    }
    if (access(old_path, F_OK) == 0) {
        fprintf(stderr, "keygen: %s exists: finish the last rotation (delete it once every %s"
                        " process runs on the new key) first\n", old_path, name);
        return -1;
    }
    if (rename(pub_path, old_path) != 0) {
        fprintf(stderr, "keygen: cannot rename %s: %s\n", pub_path, strerror(errno));
        return -1;
    }
    if (keygen_write_pair(dir, name) != 0) return -1;
    printf("rotated %s (the old public key stays allowed as %s.old.pub until you delete it)\n",
           name, name);
    return 0;
}

int keygen_run(int argc, char **argv) {
    static const char *const kinds[] = {KEYGEN_KINDS};
    bool rotate = argc > 1 && strcmp(argv[1], "--rotate") == 0;
    int first = rotate ? 2 : 1;
    if (argc <= first || (rotate && argc <= first + 1) || argv[first][0] == '-') return keygen_usage();
    const char *dir = argv[first];
    for (int i = first + 1; i < argc; i++) {
        if (!bus_kind_is_valid(argv[i]) && !(rotate && strcmp(argv[i], BUS_BROKER_NAME) == 0)) {
            fprintf(stderr, "keygen: '%s' is not a kind ([a-z][a-z0-9_-]*, not broker)\n", argv[i]);
            return 2;
        }
    }
    if (!bus_keys_supported()) {
        fprintf(stderr, "keygen: this libzmq has no CURVE support\n");
        return 1;
    }
    if (keygen_dir(dir) != 0) return 1;
    if (rotate) {
        for (int i = first + 1; i < argc; i++)
            if (keygen_rotate(dir, argv[i]) != 0) return 1;
        return 0;
    }
    if (keygen_ensure(dir, BUS_BROKER_NAME) != 0) return 1;
    if (argc > first + 1) {
        for (int i = first + 1; i < argc; i++)
            if (keygen_ensure(dir, argv[i]) != 0) return 1;
    } else {
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (keygen_ensure(dir, kinds[i]) != 0) return 1;
    }
    return 0;
}
