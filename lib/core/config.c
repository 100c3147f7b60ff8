#include "core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"

const char *config_str(const char *name, const char *def) {
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : def;
}

long config_long(const char *name, long def, long min, long max) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        log_warn(NULL, "%s=%s is not a number in [%ld, %ld]; using %ld", name, v, min, max, def);
        return def;
    }
    return n;
}

const char *config_broker_endpoint(char *buf, unsigned long cap) {
    const char *ep = getenv("PARLEY_BROKER");
    if (ep != NULL && *ep != '\0') {
        snprintf(buf, cap, "%s", ep);
    } else {
        snprintf(buf, cap, "tcp://127.0.0.1:%ld", config_long("PARLEY_BROKER_PORT", 55555, 1, 65535));
    }
    return buf;
}
