#include "services/notify/case_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
static long long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d) {
    z += 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)((long long)yoe + era * 400 + (*m <= 2));
}

int case_text_add_days(const char *ymd, int days, char out[11]) {
    int y, m, d, n = 0;
    if (ymd == NULL || strlen(ymd) != 10 || sscanf(ymd, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
        return -1;
    if (ymd[4] != '-' || ymd[7] != '-' || y < 1 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
    /* A day past the month's end (2026-02-30) would roll into the next. */
    int cy, cm, cd;
    long long day = days_from_civil(y, m, d);
    civil_from_days(day, &cy, &cm, &cd);
    if (cy != y || cm != m || cd != d) return -1;
    civil_from_days(day + days, &cy, &cm, &cd);
    if (cy < 1 || cy > 9999) return -1;
    snprintf(out, 11, "%04d-%02d-%02d", cy, cm, cd);
    return 0;
}

typedef struct {
    char *p;
    size_t len, cap;
    bool failed;
} text_t;

static void put(arena_t *a, text_t *t, const char *s, size_t n) {
    if (t->failed) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 512;
        while (cap < t->len + n + 1) cap *= 2;
        char *grown = arena_alloc(a, cap);
        if (grown == NULL) {
            t->failed = true;
            return;
        }
        if (t->len) memcpy(grown, t->p, t->len);
        t->p = grown;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

/* s, at most CASE_TEXT_MAX_FIELD bytes of it (cut before a character's
 * continuation byte), control characters as spaces. */
static void put_field(arena_t *a, text_t *t, const char *s) {
    size_t n = strlen(s);
    if (n > CASE_TEXT_MAX_FIELD) {
        n = CASE_TEXT_MAX_FIELD;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        put(a, t, (c < 0x20 || c == 0x7f) ? " " : &s[i], 1);
    }
}

static const char *member(const json_t *o, const char *name) {
    const char *v = json_string_value(json_object_get(o, name));
    return v && *v ? v : NULL;
}

static void put_agency(arena_t *a, text_t *t, const json_t *s, bool serves) {
    if (t->len) put(a, t, "\n", 1);
    put(a, t, serves ? "\xE2\x9C\x93 " : "\xE2\x80\x93 ", 4); /* ✓ or – */
    put_field(a, t, member(s, "agencyName") ? member(s, "agencyName") : "");
    const char *kind = member(s, "agencyKind");
    if (kind) {
        char *words = case_text_words(a, kind);
        put(a, t, " (", 2);
        put_field(a, t, words ? words : kind);
        put(a, t, ")", 1);
    }
    const json_t *contact = json_object_get(s, "contact");
    const char *ways[] = {"email", "phone", "website", "address"};
    bool first = true;
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        const char *v = member(contact, ways[i]);
        if (v == NULL) continue;
        put(a, t, first ? ": " : ", ", 2);
        put_field(a, t, v);
        first = false;
    }
}

char *case_text_agencies(arena_t *a, const json_t *signposts, size_t *n) {
    *n = 0;
    text_t t = {0};
    size_t count = json_is_array(signposts) ? json_array_size(signposts) : 0;
    /* Those that work in the family's language first: the help they can use without an interpreter. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < count && *n < CASE_TEXT_MAX_AGENCIES; i++) {
            const json_t *s = json_array_get(signposts, i);
            if (!json_is_object(s) || member(s, "agencyName") == NULL) continue;
            bool serves = json_is_true(json_object_get(s, "servesLanguage"));
            if (serves != (pass == 0)) continue;
            put_agency(a, &t, s, serves);
            (*n)++;
        }
    }
    if (t.failed || *n == 0) {
        *n = 0;
        return NULL;
    }
    return t.p;
}

char *case_text_words(arena_t *a, const char *word) {
    char *out = arena_strdup(a, word ? word : "");
    for (char *p = out; p && *p; p++)
        if (*p == '_') *p = ' ';
    return out;
}
