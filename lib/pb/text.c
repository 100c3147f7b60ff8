/* text — base64 for bytes fields and UTF-8 hygiene for strings going out. */
#include <stdlib.h>
#include <string.h>

#include "pb/internal.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c in either the standard or the URL-safe alphabet. */
static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

int pb__base64_decode(arena_t *arena, const char *s, size_t len, ProtobufCBinaryData *out) {
    size_t n = len;
    /* Padding is optional, but when present it must complete the last quad. */
    if (n > 0 && s[n - 1] == '=') {
        if (n % 4 != 0) return -1;
        n--;
        if (s[n - 1] == '=') n--;
    }
    if (n % 4 == 1) return -1;
    uint8_t *data = arena_alloc(arena, n / 4 * 3 + 3);
    if (data == NULL) return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            data[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, so each byte string has one spelling. */
    if (acc != 0) return -1;
    out->data = data;
    out->len = o;
    return 0;
}

json_t *pb__base64_json(const uint8_t *data, size_t len) {
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
    size_t n = (len + 2) / 3 * 4;
    char *buf = malloc(n + 1);
    if (buf == NULL) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len) v |= data[i + 2];
        buf[o++] = B64[(v >> 18) & 63];
        buf[o++] = B64[(v >> 12) & 63];
        buf[o++] = i + 1 < len ? B64[(v >> 6) & 63] : '=';
        buf[o++] = i + 2 < len ? B64[v & 63] : '=';
    }
    json_t *out = json_stringn_nocheck(buf, o);
    free(buf);
    return out;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the
 * bytes there are not one (overlong forms, surrogates, > U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int pb__utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq_len(p + i, len - i);
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

char *pb__utf8_clean(const char *s, size_t len, size_t *out_len) {
    if (len > (SIZE_MAX - 1) / 3) return NULL;
    char *out = malloc(len * 3 + 1);
    if (out == NULL) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t k = utf8_seq_len(p + i, len - i);
        if (k == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
    if (out_len != NULL) *out_len = o;
    return out;
}

json_t *pb__json_string(const char *s, size_t len) {
    json_t *v = json_stringn(s, len);
    if (v != NULL) return v;
    size_t n;
    char *clean = pb__utf8_clean(s, len, &n);
    if (clean == NULL) return NULL;
    v = json_stringn(clean, n);
    free(clean);
    return v;
}
