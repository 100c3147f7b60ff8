/* case_text — the values notify puts into the templates of the case events
 * it tells families about (events.c): the signposted agencies as lines, a
 * window's last day, an API word as words. Pure functions (no I/O),
 * unit-tested in tests/unit/test_notify_case_text.c. Everything returned
 * is in the caller's arena. */
#ifndef PARLEY_NOTIFY_CASE_TEXT_H
#define PARLEY_NOTIFY_CASE_TEXT_H

#include <jansson.h>

#include "core/arena.h"

/* At most this many agencies are listed (the rest are logged by the caller). */
#define CASE_TEXT_MAX_AGENCIES 30
/* Each agency's name, kind and contact detail is cut to this many bytes
 * (never inside a character), so one line stays readable and bounded. */
#define CASE_TEXT_MAX_FIELD 300

/* The date days after ymd ("YYYY-MM-DD", a calendar date: a London date
 * stays one, as days are counted on the calendar, not in hours) into out.
 * 0, or -1 when ymd is not a real date (2026-02-30) or the result leaves
 * years 1-9999. */
int case_text_add_days(const char *ymd, int days, char out[11]);

/* The signposts of a case.signposted event (its "signposts" array) as plain
 * lines, one an agency: "✓ Name (kind): email, phone, website, address"
 * for an agency that works in a parent's language (servesLanguage), those
 * first, then "– Name (kind): …" for the others, each in the event's order.
 * Control characters in a value become spaces. NULL when there is no
 * agency to list (or no memory); *n the number listed. */
char *case_text_agencies(arena_t *a, const json_t *signposts, size_t *n);

/* An API word as words: "draft_plan_response" -> "draft plan response". */
char *case_text_words(arena_t *a, const char *word);

#endif
