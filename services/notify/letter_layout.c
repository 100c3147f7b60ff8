/* The letter's geometry and address checks (contract in letter_layout.h). */
#include "services/notify/letter_layout.h"

#include <ctype.h>
#include <string.h>

int letter_body_pt(bool large_print) { return large_print ? 16 : 12; }

int letter_heading_pt(bool large_print) { return large_print ? 20 : 14; }

double letter_address_line_top_mm(int i) {
    return LETTER_WINDOW_TOP_MM + LETTER_ADDRESS_INSET_MM + i * LETTER_ADDRESS_PITCH_MM;
}

double letter_address_bottom_mm(int n, double line_height_em) {
    if (n <= 0) return letter_address_line_top_mm(0);
    return letter_address_line_top_mm(n - 1) + LETTER_ADDRESS_PT * line_height_em / LETTER_PT_PER_MM;
}

double letter_body_top_mm(int page) { return page == 0 ? LETTER_BODY_TOP_FIRST_MM : LETTER_BODY_TOP_MM; }

int letter_paginate(const double *height, size_t n, double first_offset_mm, int max_pages, int *page_of,
                    double *top) {
    int page = 0;
    double y = letter_body_top_mm(0) + first_offset_mm;
    for (size_t i = 0; i < n; i++) {
        /* A line that does not fit moves to the next page, unless it
         * starts one (a line taller than a frame still has to go somewhere). */
        bool page_start = y <= letter_body_top_mm(page) + 1e-9;
        if (y + height[i] > LETTER_BODY_BOTTOM_MM + 1e-9 && !page_start) {
            page++;
            y = letter_body_top_mm(page);
        }
        if (page >= max_pages) return -1;
        page_of[i] = page;
        top[i] = y;
        y += height[i];
    }
    return page + 1;
}

/* Which letters each position of a postcode may hold (Royal Mail's rules). */
#define FIRST "ABCDEFGHIJKLMNOPRSTUWYZ"  /* not Q V X */
#define SECOND "ABCDEFGHKLMNOPQRSTUVWXY" /* not I J Z */
#define THIRD "ABCDEFGHJKPSTUW"          /* A9A */
#define FOURTH "ABEHMNPRVWXY"            /* AA9A */
#define INWARD "ABDEFGHJLNPQRSTUWXYZ"    /* not C I K M O V */

static bool in(char c, const char *set) { return c != '\0' && strchr(set, c) != NULL; }

/* Whether the outward code o (n characters, upper-case) is one. */
static bool outward_ok(const char *o, size_t n) {
    if (n < 2 || n > 4 || !in(o[0], FIRST)) return false;
    bool d1 = isdigit((unsigned char)o[1]);
    if (d1) {
        /* A9, A99, A9A */
        if (n == 2) return true;
        if (n == 3) return isdigit((unsigned char)o[2]) || in(o[2], THIRD);
        return false;
    }
    /* AA9, AA99, AA9A */
    if (!in(o[1], SECOND) || n < 3 || !isdigit((unsigned char)o[2])) return false;
    if (n == 3) return true;
    return isdigit((unsigned char)o[3]) || in(o[3], FOURTH);
}

int letter_postcode_normalise(const char *in_text, char *out) {
    char c[9];
    size_t n = 0;
    int spaces = 0;
    if (in_text == NULL) return -1;
    for (const char *p = in_text; *p; p++) {
        if (*p == ' ') {
            /* One space, and only between the codes. */
            if (++spaces > 1 || n == 0) return -1;
            continue;
        }
        if (!isalnum((unsigned char)*p) || n == 7) return -1;
        c[n++] = (char)toupper((unsigned char)*p);
    }
    c[n] = '\0';
    if (n < 5) return -1;
    /* The inward code is the last three: a digit, then two letters. */
    const char *w = c + n - 3;
    if (strcmp(c, "GIR0AA") != 0) {
        if (!isdigit((unsigned char)w[0]) || !in(w[1], INWARD) || !in(w[2], INWARD)) return -1;
        if (!outward_ok(c, n - 3)) return -1;
    }
    /* A space given must be where the codes meet. */
    if (spaces == 1) {
        const char *sp = strchr(in_text, ' ');
        size_t before = 0;
        for (const char *p = in_text; p < sp; p++) before++;
        if (before != n - 3) return -1;
    }
    memcpy(out, c, n - 3);
    out[n - 3] = ' ';
    memcpy(out + n - 2, w, 4);
    return 0;
}

bool letter_line_ok(const char *s) {
    if (s == NULL) return false;
    size_t chars = 0;
    bool visible = false;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || (len == 2 && *p < 0xC2)) return false;
        for (size_t k = 1; k < len; k++)
            if ((p[k] & 0xC0) != 0x80) return false;
        if (len == 1 && (*p < 0x20 || *p == 0x7f)) return false;
        /* C1 controls (U+0080..U+009F) and the line and paragraph separators. */
        if (len == 2 && p[0] == 0xC2 && p[1] < 0xA0) return false;
        if (len == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) return false;
        if (!(len == 1 && *p == ' ')) visible = true;
        p += len;
        if (++chars > LETTER_MAX_LINE_CHARS) return false;
    }
    return visible;
}
