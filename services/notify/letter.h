/* letter — the letter channel: a notification whose channels name letter
 * gets a postal address (checked, the postcode normalised) and, when it is
 * created, its letter rendered as a PDF (letter_pdf.h) in the language and
 * format of the recipient, so that an address too wide for the envelope's
 * window or a body of more than LETTER_MAX_PAGES pages is a 400 then,
 * never a failure later. The PDF is kept on the notification
 * (notifications.letter_pdf, personal data) only until the notification
 * ends: the sender posts it through the GOV.UK Notify-compatible API as a
 * precompiled letter (notify_api_send_letter) and, once it is delivered
 * or has failed, drops it (its pages and type size stay).
 *
 * Everything here runs in a handler thread with that thread's state; the
 * rendering itself is guarded (letter_pdf.h). */
#ifndef PARLEY_NOTIFY_LETTER_H
#define PARLEY_NOTIFY_LETTER_H

#include <stdbool.h>

#include "bus/bus.h"
#include "db/db.h"
#include "parley/notify/v1/notify.pb-c.h"

/* A notification's letter, rendered, as the insert stores it (in the arena). */
typedef struct {
    const char *lines;    /* the address lines as a text[] literal */
    const char *postcode; /* normalised */
    char *pdf_hex;        /* the PDF as bytea hex input ("\x..."), malloc'd: letter_clear */
    int pages, body_pt;
} letter_t;

/* Whether the request's channels name letter. */
bool letter_named(const Parley__Notify__V1__CreateNotificationRequest *in);

/* Checks the recipient's address (violations on recipient.address...),
 * required when letter is a channel; one given otherwise is checked too. */
void letter_check_address(bus_response_t *res, const Parley__Notify__V1__PostalAddress *address, bool required);

/* Renders the letter of in (channels naming letter, its address checked)
 * with the rendered subject and body in language, for the recipient's
 * format, into *out; the date is today's in London, read on db (the
 * request's open transaction). 0; 1 when the letter cannot be made as
 * asked (a violation on res: too many pages, an address line too wide);
 * or -1 (logged: no fonts, out of memory). */
int letter_prepare(db_t *db, bus_response_t *res, const Parley__Notify__V1__CreateNotificationRequest *in,
                   const char *language, const char *subject, const char *body, letter_t *out);
void letter_clear(letter_t *l);

/* The statements letter_prepare runs (registered with the handlers'). */
const db_stmt_t *letter_statements(size_t *n);

#endif
