#include "services/notify/sms.h"

#include <stdint.h>
#include <string.h>

/* The GSM 03.38 default alphabet beyond printable ASCII's shared part, as
 * code points. ASCII characters that are NOT in it: ` ^ { } \ [ ~ ] | and
 * '$' '@' '_' are (at other positions, but they are there). */
static const uint32_t gsm_extra[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8, 0x00C5, 0x00E5,
    0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E, 0x00C6, 0x00E6,
    0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6,
    0x00F1, 0x00FC, 0x00E0,
};

/* The extension table: an escape septet and the character, so 2 each. */
static const uint32_t gsm_ext[] = {'^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC, 0x0C};

static bool listed(const uint32_t *set, size_t n, uint32_t c) {
    for (size_t i = 0; i < n; i++)
        if (set[i] == c) return true;
    return false;
}

/* Septets c takes in GSM-7: 1, 2 (extension), or 0 when it has none. */
static int gsm_width(uint32_t c) {
    if (listed(gsm_ext, sizeof gsm_ext / sizeof gsm_ext[0], c)) return 2;
    if (c == '\n' || c == '\r') return 1;
    if (c >= 0x20 && c < 0x7f) return c == '`' ? 0 : 1;
    return listed(gsm_extra, sizeof gsm_extra / sizeof gsm_extra[0], c) ? 1 : 0;
}

/* The next code point of s (n bytes left) into *c; bytes used, or 0 when
 * the sequence is not valid UTF-8. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *c) {
    if (n == 0) return 0;
    if (s[0] < 0x80) {
        *c = s[0];
        return 1;
    }
    size_t len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    uint32_t v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < least[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *c = v;
    return len;
}

/* Parts of at most `part` units, filled in order, no character split. */
typedef struct {
    int count, used;
} parts_t;

static void parts_add(parts_t *p, int width, int part) {
    if (p->count == 0) p->count = 1;
    if (p->used + width > part) {
        p->count++;
        p->used = 0;
    }
    p->used += width;
}

int sms_count(const char *text, size_t max_bytes, sms_length_t *out) {
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strnlen(text, max_bytes);
    bool gsm7 = true;
    int septets = 0, units = 0;
    parts_t gsm = {0, 0}, ucs = {0, 0};
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t used = utf8_next(s + i, n - i, &c);
        if (used == 0) return -1;
        i += used;
        int w = gsm_width(c), u = c > 0xFFFF ? 2 : 1;
        if (w == 0) gsm7 = false;
        septets += w;
        units += u;
        parts_add(&gsm, w, 153);
        parts_add(&ucs, u, 67);
    }
    out->gsm7 = gsm7;
    out->characters = gsm7 ? septets : units;
    if (out->characters == 0) out->segments = 0;
    else if (gsm7) out->segments = septets <= 160 ? 1 : gsm.count;
    else out->segments = units <= 70 ? 1 : ucs.count;
    return 0;
}
