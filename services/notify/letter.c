/* The letter channel (contract in letter.h). */
#include "services/notify/letter.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "services/notify/letter_layout.h"
#include "services/notify/letter_pdf.h"
#include "svc/svc.h"

typedef Parley__Notify__V1__CreateNotificationRequest create_t;

static const db_stmt_t stmts[] = {
    /* Today as a letter dates itself, in London: "1 December 2026" in
     * English, else 01/12/2026 (no month's name in another language). */
    {"l_date",
     "SELECT to_char(now() AT TIME ZONE 'Europe/London',"
     " CASE WHEN $1::boolean THEN 'FMDD FMMonth YYYY' ELSE 'DD/MM/YYYY' END)"},
};

const db_stmt_t *letter_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

bool letter_named(const create_t *in) {
    for (size_t i = 0; i < in->n_channels; i++)
        if (in->channels[i] == PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_LETTER) return true;
    return false;
}

void letter_check_address(bus_response_t *res, const Parley__Notify__V1__PostalAddress *ad, bool required) {
    arena_t *a = res->arena;
    if (ad == NULL) {
        if (required) bus_response_violation(res, "recipient.address", "is required: channels name letter");
        return;
    }
    if (ad->n_lines < LETTER_MIN_LINES || ad->n_lines > LETTER_MAX_LINES)
        bus_response_violation(res, "recipient.address.lines", "must be %d to %d lines (the postcode apart)",
                               LETTER_MIN_LINES, LETTER_MAX_LINES);
    for (size_t i = 0; i < ad->n_lines && i < LETTER_MAX_LINES; i++)
        if (!letter_line_ok(ad->lines[i]))
            bus_response_violation(res, arena_printf(a, "recipient.address.lines[%zu]", i),
                                   "must be one line of 1 to %d characters, no control characters",
                                   LETTER_MAX_LINE_CHARS);
    char postcode[9];
    if (ad->postcode == NULL || *ad->postcode == '\0')
        bus_response_violation(res, "recipient.address.postcode", "is required");
    else if (letter_postcode_normalise(ad->postcode, postcode) != 0)
        bus_response_violation(res, "recipient.address.postcode", "must be a UK postcode such as CF10 1AA");
}

/* The lines as a PostgreSQL text[] literal, each quoted ('"' and '\'
 * escaped). */
static const char *lines_literal(arena_t *a, char *const *lines, size_t n) {
    size_t cap = 3;
    for (size_t i = 0; i < n; i++) cap += 2 * strlen(lines[i]) + 3;
    char *out = arena_alloc(a, cap), *p = out;
    if (out == NULL) return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ',';
        *p++ = '"';
        for (const char *s = lines[i]; *s; s++) {
            if (*s == '"' || *s == '\\') *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

/* bytes as bytea hex input, "\x" and two digits a byte (malloc'd). */
static char *hex(const unsigned char *bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * n + 3);
    if (out == NULL) return NULL;
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = digits[bytes[i] >> 4];
        out[3 + 2 * i] = digits[bytes[i] & 15];
    }
    out[2 * n + 2] = '\0';
    return out;
}

int letter_prepare(db_t *db, bus_response_t *res, const create_t *in, const char *language, const char *subject,
                   const char *body, letter_t *out) {
    arena_t *a = res->arena;
    const Parley__Notify__V1__PostalAddress *ad = in->recipient->address;
    *out = (letter_t){0};
    /* A caller that skipped letter_check_address still gets a 400, not a crash. */
    if (ad == NULL || ad->n_lines < LETTER_MIN_LINES || ad->n_lines > LETTER_MAX_LINES) {
        letter_check_address(res, ad, true);
        if (svc_ok(res)) bus_response_violation(res, "recipient.address", "is not a postal address");
        return 1;
    }
    char *postcode = arena_alloc(a, 9);
    if (postcode == NULL) return -1;
    if (letter_postcode_normalise(ad->postcode, postcode) != 0) {
        bus_response_violation(res, "recipient.address.postcode", "must be a UK postcode such as CF10 1AA");
        return 1;
    }
    bool english = strncmp(language, "en", 2) == 0 && (language[2] == '\0' || language[2] == '-');
    const char *param[] = {english ? "true" : "false"};
    db_result_t *r = NULL;
    if (db_exec(db, "l_date", 1, param, &r) != 0 || db_rows(r) != 1) {
        db_result_free(&r);
        return -1;
    }
    const char *date = db_str(a, r, 0, 0);
    db_result_free(&r);
    bool large = in->recipient->format == PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_LARGE_PRINT;
    letter_input_t li = {(const char *const *)ad->lines, ad->n_lines, postcode, language, date, subject, body, large};
    letter_pdf_t pdf;
    size_t bad = 0;
    int rc = letter_pdf_render(&li, &pdf, &bad);
    switch (rc) {
    case LETTER_PDF_OK: break;
    case LETTER_PDF_TOO_LONG:
        bus_response_violation(res, "data", "makes the letter longer than %d pages at %d pt: shorten the text",
                               LETTER_MAX_PAGES, letter_body_pt(large));
        return 1;
    case LETTER_PDF_TOO_WIDE:
        bus_response_violation(res,
                               bad < ad->n_lines ? arena_printf(a, "recipient.address.lines[%zu]", bad)
                                                 : "recipient.address.postcode",
                               "is too wide for the envelope's window (%.0f mm at %.0f pt): split it over two lines",
                               LETTER_WINDOW_RIGHT_MM - LETTER_WINDOW_LEFT_MM, LETTER_ADDRESS_PT);
        return 1;
    case LETTER_PDF_TOO_LARGE:
        bus_response_violation(res, "data", "makes the letter's PDF larger than %d bytes", LETTER_MAX_PDF_BYTES);
        return 1;
    case LETTER_PDF_NO_FONT:
        log_error(NULL, "notify: no Noto Sans font for letters (install Debian's fonts-noto-core)");
        return -1;
    default: log_error(NULL, "notify: a letter could not be rendered (%d)", rc); return -1;
    }
    out->lines = lines_literal(a, ad->lines, ad->n_lines);
    out->postcode = postcode;
    out->pdf_hex = hex(pdf.data, pdf.len);
    out->pages = pdf.pages;
    out->body_pt = pdf.body_pt;
    letter_pdf_free(&pdf);
    if (out->lines == NULL || out->pdf_hex == NULL) {
        letter_clear(out);
        return -1;
    }
    return 0;
}

void letter_clear(letter_t *l) {
    if (l == NULL) return;
    free(l->pdf_hex);
    *l = (letter_t){0};
}
