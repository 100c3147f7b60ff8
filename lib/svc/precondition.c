/* If-Match parsing (contract in precondition.h). */
#include "svc/precondition.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *svc_if_match(arena_t *a, const bus_request_t *req) {
    const char *h = req->header->if_match;
    if (h == NULL) return NULL;
    while (*h == ' ' || *h == '\t') h++;
    if (*h == '\0') return NULL;
    size_t cap = strlen(h) + 3;
    char *out = arena_alloc(a, cap);
    if (out == NULL) return "{}";
    size_t k = 0;
    out[k++] = '{';
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (*p == '\0') break;
        if (*p == '*') return NULL;
        const char *end = strchr(p, ',');
        if (end == NULL) end = p + strlen(p);
        /* A strong tag: a quoted run of 1-9 digits, then only blanks. */
        const char *q = p;
        if (*q == '"') {
            const char *d = ++q;
            while (q < end && isdigit((unsigned char)*q)) q++;
            size_t nd = (size_t)(q - d);
            const char *rest = q + 1;
            while (rest < end && (*rest == ' ' || *rest == '\t')) rest++;
            if (nd >= 1 && nd <= 9 && q < end && *q == '"' && rest == end) {
                if (k > 1) out[k++] = ',';
                memcpy(out + k, d, nd);
                k += nd;
            }
        }
        p = end;
    }
    out[k++] = '}';
    out[k] = '\0';
    return out;
}

bool svc_if_match_allows(arena_t *a, const bus_request_t *req, int version) {
    const char *list = svc_if_match(a, req);
    if (list == NULL) return true;
    /* "{3,4}": the digits between the braces and commas. */
    for (const char *p = list; *p != '\0';) {
        if (*p < '0' || *p > '9') {
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (v == version) return true;
        p = end;
    }
    return false;
}
