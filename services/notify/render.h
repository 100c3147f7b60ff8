/* render — a template's text with its ((placeholders)) filled, safely, and
 * the choice of translation for a recipient. Pure functions (no I/O),
 * unit-tested in tests/unit/test_notify_render.c.
 *
 * A placeholder is "((" name "))", the name 1 to RENDER_MAX_NAME letters,
 * digits, '_', '-', '.' or spaces (trimmed), as GOV.UK Notify writes them;
 * anything else between "((" and "))" is text. Each is replaced in one pass
 * by its value (a value's own "((x))" stays as written). In RENDER_HTML
 * values are HTML-escaped; in RENDER_SUBJECT a value with a line break (CR
 * or LF) or another control character is refused, so nothing a caller
 * sends can add a mail header. Output is at most RENDER_MAX_OUT bytes. */
#ifndef PARLEY_NOTIFY_RENDER_H
#define PARLEY_NOTIFY_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

#define RENDER_MAX_NAME 64
#define RENDER_MAX_OUT (256 * 1024)

typedef enum { RENDER_PLAIN, RENDER_HTML, RENDER_SUBJECT } render_mode_t;

typedef struct {
    const char *name;
    const char *value;
} render_var_t;

/* Results of render_fill. */
#define RENDER_OK 0
#define RENDER_MISSING (-1)    /* *name: a placeholder with no value */
#define RENDER_LINE_BREAK (-2) /* *name: a value with a line break, in a subject */
#define RENDER_TOO_LONG (-3)
#define RENDER_NO_MEMORY (-4)

/* Fills tmpl's placeholders from vars (n of them) into *out (in a). On
 * RENDER_MISSING or RENDER_LINE_BREAK, *name (in a) is the placeholder's. */
int render_fill(arena_t *a, const char *tmpl, const render_var_t *vars, size_t n, render_mode_t mode, char **out,
                const char **name);

/* Whether s holds a CR, LF or another control character (tab excepted):
 * what a subject, a header's text, may not. */
bool render_has_control(const char *s);

/* One translation as the chooser sees it. */
typedef struct {
    const char *language; /* BCP 47 */
    int format;           /* a MessageFormat value */
} render_choice_t;

/* The translation of items (n) for a recipient of language and format:
 * the language's own (its tag, else the same primary language: "pl-PL"
 * takes "pl") in the format, else in standard; else English's likewise.
 * standard is the MessageFormat value of the standard format. Returns the
 * index, or -1 when there is neither; *language_fallback says English was
 * taken for another language, *format_fallback that standard was taken for
 * another format. */
int render_choose(const render_choice_t *items, size_t n, const char *language, int format, int standard,
                  bool *language_fallback, bool *format_fallback);

/* A header's text for SMTP: as it is when it is printable ASCII, else
 * RFC 2047 encoded-words (=?UTF-8?B?...?=) of at most 75 characters each,
 * never splitting a character, folded onto continuation lines. In a; NULL
 * when out of memory. */
char *render_header_text(arena_t *a, const char *text);

#endif
