#include "gateway/cors.h"

#include <stdio.h>
#include <string.h>

#define CORS_MAX 32

static char origins[CORS_MAX][256];
static int n_origins;

void cors_init(const char *list) {
    n_origins = 0;
    if (list == NULL) return;
    const char *p = list;
    while (*p != '\0' && n_origins < CORS_MAX) {
        while (*p == ' ' || *p == ',') p++;
        size_t len = strcspn(p, ", ");
        if (len > 0 && len < sizeof origins[0]) {
            memcpy(origins[n_origins], p, len);
            origins[n_origins][len] = '\0';
            n_origins++;
        }
        p += len;
    }
}

bool cors_allowed(const char *origin) {
    if (origin == NULL) return false;
    for (int i = 0; i < n_origins; i++)
        if (strcmp(origins[i], origin) == 0) return true;
    return false;
}

const char *cors_headers(arena_t *a, const char *origin) {
    if (!cors_allowed(origin)) return "";
    return arena_printf(a,
                        "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
                        "Access-Control-Expose-Headers: ETag, Location, X-Request-Id, Retry-After, "
                        "Idempotent-Replayed, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy\r\n",
                        origin);
}

const char *cors_preflight_headers(arena_t *a, const char *origin) {
    return arena_printf(a,
                        "%sAccess-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE\r\n"
                        "Access-Control-Allow-Headers: Authorization, Content-Type, Idempotency-Key, If-Match, "
                        "X-Request-Id\r\nAccess-Control-Max-Age: 600\r\n",
                        cors_headers(a, origin));
}
