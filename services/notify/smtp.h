/* smtp — one email sent over SMTP with libcurl: MIME multipart (plain text,
 * and HTML when there is some, as multipart/alternative) built with curl's
 * MIME API, UTF-8 header text encoded per RFC 2047, a List-Unsubscribe
 * header on mail that is not critical. An invitation carries its iCalendar
 * as Google's and Microsoft's own invitations do (RFC 6047): multipart/mixed
 * of a multipart/alternative (text, HTML, then "text/calendar;
 * method=REQUEST; charset=UTF-8", the part calendar clients act on) and the
 * same text as an invite.ics attachment (application/ics), for clients that
 * only offer attachments. One smtp_t per thread (a curl easy
 * handle, which keeps its connection between messages). */
#ifndef PARLEY_NOTIFY_SMTP_H
#define PARLEY_NOTIFY_SMTP_H

#include <stdbool.h>

#include "core/arena.h"

typedef struct {
    const char *url;         /* PARLEY_SMTP_URL: smtp://host:port (or smtps://) */
    const char *from;        /* PARLEY_NOTIFY_FROM: the sender's address */
    const char *from_name;   /* PARLEY_NOTIFY_FROM_NAME: its display name (UTF-8) */
    const char *unsubscribe; /* PARLEY_NOTIFY_UNSUBSCRIBE: the mailto address of List-Unsubscribe */
    long timeout_ms;         /* one message's deadline */
    bool starttls;           /* STARTTLS required (smtp_tls_for) */
    double rate;             /* PARLEY_SMTP_RATE: messages a second each process sends at most (0: no limit) */
} smtp_config_t;

typedef struct {
    const char *id; /* the notification's: its Message-ID */
    const char *to;
    const char *subject;
    const char *text;
    const char *html; /* NULL: plain text only */
    const char *category;
    bool critical;
    const char *language; /* the translation's (BCP 47): Content-Language */
    /* An invitation (events_scheduling.c): the iCalendar text and its iTIP
     * method ("REQUEST", "CANCEL"); NULL for an ordinary mail. */
    const char *calendar;
    const char *calendar_method;
} smtp_mail_t;

/* Whether mail to url must go over STARTTLS, by setting (PARLEY_SMTP_TLS):
 * "required" always, "off" never, "" (unset): required unless the URL's
 * host is loopback (127.0.0.0/8, ::1, localhost), where a local relay or a
 * test server need not speak TLS. smtps:// is TLS from the start, so never
 * STARTTLS. 0 with *starttls set, or -1 for another setting or a URL that
 * is not smtp:// or smtps://. */
int smtp_tls_for(const char *url, const char *setting, bool *starttls);

typedef enum { SMTP_SENT, SMTP_TEMPORARY, SMTP_PERMANENT } smtp_outcome_t;

typedef struct smtp smtp_t;

/* A sender for cfg (borrowed; outlives it). NULL when curl cannot start. */
smtp_t *smtp_new(const smtp_config_t *cfg);
void smtp_destroy(smtp_t **self);

/* Sends m. SMTP_SENT; SMTP_PERMANENT for a 5xx answer (or a mail that
 * cannot be made); SMTP_TEMPORARY otherwise (a 4xx answer, no connection,
 * a timeout). *error (in a) says why when not sent. */
smtp_outcome_t smtp_send(smtp_t *self, arena_t *a, const smtp_mail_t *m, const char **error);

#endif
