#include "services/notify/render.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *p;
    size_t len, cap;
    bool over;
} buf_t;

static void put(buf_t *b, const char *s, size_t n) {
    if (b->over) return;
    if (b->len + n > RENDER_MAX_OUT) {
        b->over = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->over = true;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_html(buf_t *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': put(b, "&amp;", 5); break;
        case '<': put(b, "&lt;", 4); break;
        case '>': put(b, "&gt;", 4); break;
        case '"': put(b, "&quot;", 6); break;
        case '\'': put(b, "&#39;", 5); break;
        default: put(b, s, 1);
        }
    }
}

bool render_has_control(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return true;
    return false;
}

/* The placeholder's name at s (just after "(("), trimmed, when s holds one
 * closed by "))" within RENDER_MAX_NAME characters: its length in *n, its
 * start in *start, and the text after "))" returned. NULL when it is not one. */
static const char *placeholder(const char *s, const char **start, size_t *n) {
    size_t i = 0;
    while (i <= RENDER_MAX_NAME + 2 && s[i] != '\0' && !(s[i] == ')' && s[i + 1] == ')')) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.' && c != ' ') return NULL;
        i++;
    }
    if (s[i] != ')') return NULL;
    size_t b = 0, e = i;
    while (b < e && s[b] == ' ') b++;
    while (e > b && s[e - 1] == ' ') e--;
    if (e == b || e - b > RENDER_MAX_NAME) return NULL;
    *start = s + b;
    *n = e - b;
    return s + i + 2;
}

static const render_var_t *lookup(const render_var_t *vars, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (vars[i].name && strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0) return &vars[i];
    return NULL;
}

int render_fill(arena_t *a, const char *tmpl, const render_var_t *vars, size_t n, render_mode_t mode, char **out,
                const char **name) {
    buf_t b = {0};
    int rc = RENDER_OK;
    put(&b, "", 0);
    for (const char *s = tmpl ? tmpl : ""; *s != '\0' && rc == RENDER_OK;) {
        const char *open = strstr(s, "((");
        if (open == NULL) {
            put(&b, s, strlen(s));
            break;
        }
        put(&b, s, (size_t)(open - s));
        const char *start;
        size_t len;
        const char *after = placeholder(open + 2, &start, &len);
        if (after == NULL) {
            /* Not a placeholder: one '(' is text, and the scan goes on from the next. */
            put(&b, open, 1);
            s = open + 1;
            continue;
        }
        const render_var_t *v = lookup(vars, n, start, len);
        if (v == NULL || v->value == NULL) {
            *name = arena_strndup(a, start, len);
            rc = RENDER_MISSING;
        } else if (mode == RENDER_SUBJECT && render_has_control(v->value)) {
            *name = arena_strndup(a, start, len);
            rc = RENDER_LINE_BREAK;
        } else if (mode == RENDER_HTML) {
            put_html(&b, v->value);
        } else {
            put(&b, v->value, strlen(v->value));
        }
        s = after;
    }
    if (rc == RENDER_OK && b.over) rc = RENDER_TOO_LONG;
    if (rc == RENDER_OK && (*out = arena_strdup(a, b.p ? b.p : "")) == NULL) rc = RENDER_NO_MEMORY;
    free(b.p);
    return rc;
}

/* Whether tag a and b name the same language: equal, ignoring case. */
static bool same_tag(const char *a, const char *b) { return a && b && strcasecmp(a, b) == 0; }

/* Whether a and b share their primary language subtag ("pl" of "pl-PL"). */
static bool same_primary(const char *a, const char *b) {
    if (a == NULL || b == NULL) return false;
    size_t na = strcspn(a, "-"), nb = strcspn(b, "-");
    return na == nb && strncasecmp(a, b, na) == 0;
}

/* The best of items for language (exact tag first, then primary) in format. */
static int find(const render_choice_t *items, size_t n, const char *language, int format) {
    for (size_t i = 0; i < n; i++)
        if (items[i].format == format && same_tag(items[i].language, language)) return (int)i;
    for (size_t i = 0; i < n; i++)
        if (items[i].format == format && same_primary(items[i].language, language)) return (int)i;
    return -1;
}

int render_choose(const render_choice_t *items, size_t n, const char *language, int format, int standard,
                  bool *language_fallback, bool *format_fallback) {
    const char *langs[] = {language && *language ? language : "en", "en"};
    for (size_t l = 0; l < 2; l++) {
        int i = find(items, n, langs[l], format);
        bool other_format = false;
        if (i < 0 && format != standard) {
            i = find(items, n, langs[l], standard);
            other_format = true;
        }
        if (i >= 0) {
            *language_fallback = !same_primary(items[i].language, langs[0]);
            *format_fallback = other_format;
            return i;
        }
    }
    return -1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(buf_t *b, const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        put(b, q, 4);
    }
}

/* Bytes in one encoded-word: 45 encode to 60 base64 characters, and with
 * "=?UTF-8?B?" and "?=" to 72, under RFC 2047's 75. */
#define WORD_BYTES 45

char *render_header_text(arena_t *a, const char *text) {
    bool plain = true;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p > 0x7e) plain = false;
    if (plain) return arena_strdup(a, text);
    buf_t b = {0};
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        size_t take = n - i < WORD_BYTES ? n - i : WORD_BYTES;
        /* Back off to a character's first byte, so no word splits one. */
        while (i + take < n && take > 0 && (s[i + take] & 0xC0) == 0x80) take--;
        if (take == 0) take = n - i < WORD_BYTES ? n - i : WORD_BYTES;
        if (i > 0) put(&b, "\r\n ", 3);
        put(&b, "=?UTF-8?B?", 10);
        put_base64(&b, s + i, take);
        put(&b, "?=", 2);
        i += take;
    }
    char *out = b.over ? NULL : arena_strdup(a, b.p ? b.p : "");
    free(b.p);
    return out;
}
