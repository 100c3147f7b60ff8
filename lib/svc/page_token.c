#include "svc/page_token.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"

#define PREFIX "c1|"

char *page_token_encode(arena_t *a, const page_cursor_t *cur) {
    char raw[96];
    int n = snprintf(raw, sizeof raw, PREFIX "%lld|%s", (long long)cur->micros, cur->id);
    if (n < 0 || (size_t)n >= sizeof raw) return NULL;
    char *out = arena_alloc(a, 4 * ((size_t)n + 2) / 3 + 4);
    if (out == NULL) return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, n);
    /* base64 -> base64url, unpadded */
    for (int i = 0; i < len; i++) {
        if (out[i] == '+') out[i] = '-';
        else if (out[i] == '/') out[i] = '_';
        else if (out[i] == '=') out[i] = '\0';
    }
    return out;
}

int page_token_decode(const char *token, page_cursor_t *cur) {
    size_t len = strlen(token);
    if (len == 0 || len > 120) return -1;
    char b64[128];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        char c = token[i];
        if (c == '-') c = '+';
        else if (c == '_') c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return -1;
        b64[k++] = c;
    }
    while (k % 4 != 0) b64[k++] = '=';
    b64[k] = '\0';
    unsigned char raw[100];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)k);
    if (n < 0) return -1;
    while (n > 0 && raw[n - 1] == '\0') n--; /* EVP_DecodeBlock counts padding as zero bytes */
    raw[n] = '\0';
    long long micros;
    char id[40];
    int used = 0;
    if (strncmp((char *)raw, PREFIX, 3) != 0 || sscanf((char *)raw + 3, "%lld|%36s%n", &micros, id, &used) != 2 ||
        (size_t)used != strlen((char *)raw + 3) || !ids_is_uuid(id))
        return -1;
    cur->valid = true;
    cur->micros = micros;
    memcpy(cur->id, id, 37);
    return 0;
}

bool page_args(bus_response_t *res, int32_t page_size, const char *page_token, int *size, page_cursor_t *cur) {
    bool ok = true;
    *size = page_size == 0 ? 50 : page_size;
    if (*size < 1 || *size > 200) {
        bus_response_violation(res, "pageSize", "must be between 1 and 200");
        ok = false;
    }
    memset(cur, 0, sizeof *cur);
    if (page_token && *page_token && page_token_decode(page_token, cur) != 0) {
        bus_response_violation(res, "pageToken", "is not a page token this API issued");
        ok = false;
    }
    return ok;
}

const char *page_cursor_micros(arena_t *a, const page_cursor_t *cur) {
    return cur->valid ? arena_printf(a, "%lld", (long long)cur->micros) : NULL;
}

const char *page_cursor_id(const page_cursor_t *cur) { return cur->valid ? cur->id : NULL; }

char *page_token_after(arena_t *a, const Google__Protobuf__Timestamp *at, const char *id) {
    page_cursor_t next = {.valid = true, .micros = (int64_t)at->seconds * 1000000 + at->nanos / 1000};
    snprintf(next.id, sizeof next.id, "%s", id);
    return page_token_encode(a, &next);
}
