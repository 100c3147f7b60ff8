/* notify_api — SMS and email through a GOV.UK Notify-compatible HTTP API
 * (PARLEY_NOTIFY_API_URL), authenticated with a fresh JWT per request
 * (jwt.h), and their delivery status read back by polling.
 *
 * Parley renders its own text, so it sends through one Notify template per
 * channel whose content is only placeholders: an SMS template of
 * "((body))" (PARLEY_NOTIFY_API_SMS_TEMPLATE) and an email template of
 * subject "((subject))" and body "((body))"
 * (PARLEY_NOTIFY_API_EMAIL_TEMPLATE). POST /v2/notifications/sms is
 * {phone_number, template_id, personalisation: {body}, reference} and
 * /v2/notifications/email {email_address, template_id, personalisation:
 * {subject, body}, reference}, the reference the notification's id, as
 * Notify's API documents them; its answer's id is polled with GET
 * /v2/notifications/{id}.
 *
 * One notify_api_t per thread (a curl easy handle). The rate limit
 * (PARLEY_NOTIFY_API_RATE requests a second) is one token bucket for the
 * process, shared by every notify_api_t, guarded by a mutex. */
#ifndef PARLEY_NOTIFY_API_H
#define PARLEY_NOTIFY_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "services/notify/jwt.h"

typedef struct {
    const char *url;            /* PARLEY_NOTIFY_API_URL, no trailing / (borrowed) */
    jwt_key_t key;              /* PARLEY_NOTIFY_API_KEY, parsed */
    const char *sms_template;   /* PARLEY_NOTIFY_API_SMS_TEMPLATE: a UUID */
    const char *email_template; /* PARLEY_NOTIFY_API_EMAIL_TEMPLATE: a UUID, or "" */
    long timeout_ms;            /* one request's deadline */
    double rate;                /* PARLEY_NOTIFY_API_RATE: requests a second (> 0) */
} notify_api_config_t;

/* Whether the API may be reached at url: https:// anywhere; plain http://
 * only to a loopback host (127.0.0.0/8, [::1], localhost), a stand-in on
 * this machine, since messages carry families' personal data. */
bool notify_api_url_allowed(const char *url);

/* What a request came to. */
typedef enum {
    NOTIFY_API_DELIVERED, /* status: delivered */
    NOTIFY_API_SENDING,   /* accepted (a POST's 201), or status created, sending, pending, sent */
    NOTIFY_API_TEMPORARY, /* try again: 429, 5xx, no answer; status temporary- or technical-failure */
    NOTIFY_API_PERMANENT, /* never again on this channel: another 4xx; status permanent-failure */
    NOTIFY_API_UNREAD,    /* a poll that read no status (no answer, 5xx): polled again, not resent */
} notify_api_outcome_t;

/* Notify's delivery status (GET /v2/notifications/{id}'s "status") as an
 * outcome; a status it does not know is NOTIFY_API_SENDING (polled again,
 * a bounded number of times). */
notify_api_outcome_t notify_api_status_outcome(const char *status);

/* An HTTP answer's code as an outcome: 2xx sending, 429 and 5xx (and 0,
 * no answer) temporary, other codes permanent. */
notify_api_outcome_t notify_api_http_outcome(long code);

typedef struct notify_api notify_api_t;

/* A client for cfg (borrowed; outlives it). The process's bucket is made
 * on the first call. NULL when curl cannot start. */
notify_api_t *notify_api_new(const notify_api_config_t *cfg);
void notify_api_destroy(notify_api_t **self);

/* POSTs an SMS of text to phone with reference: on NOTIFY_API_SENDING
 * *provider_id (in a) is Notify's id of it; otherwise *error (in a) says
 * why, as Notify did ("400 ValidationError: ..."). */
notify_api_outcome_t notify_api_send_sms(notify_api_t *self, arena_t *a, const char *phone, const char *text,
                                         const char *reference, char **provider_id, const char **error);

/* The same for an email of subject and body to address. */
notify_api_outcome_t notify_api_send_email(notify_api_t *self, arena_t *a, const char *address, const char *subject,
                                           const char *body, const char *reference, char **provider_id,
                                           const char **error);

/* letters: POSTs a precompiled letter, the PDF as base64 (pdf_base64), to
 * /v2/notifications/letter {reference, content}, as Notify documents it;
 * the outcome as for an SMS. Its status is polled the same way: Notify's
 * accepted and pending-virus-check are sending, received delivered, and
 * validation-failed, virus-scan-failed and cancelled permanent. */
notify_api_outcome_t notify_api_send_letter(notify_api_t *self, arena_t *a, const char *pdf_base64,
                                            const char *reference, char **provider_id, const char **error);

/* Reads provider_id's delivery status: its outcome, or NOTIFY_API_UNREAD
 * when it cannot be read (*error says why); *status (in a) Notify's word
 * when there was one. */
notify_api_outcome_t notify_api_poll(notify_api_t *self, arena_t *a, const char *provider_id, const char **status,
                                     const char **error);

/* The token bucket: ms to wait before the next request (0: take it now; a
 * token is then taken). Exposed for the unit tests; rate a second, burst
 * of at most one second's worth. */
typedef struct {
    double tokens, rate;
    int64_t at_ms;
} notify_api_bucket_t;
int64_t notify_api_bucket_take(notify_api_bucket_t *b, int64_t now_ms);

/* A provider's limit in one process: its bucket and the lock its sending
 * threads share it by (the API's in notify_api.c, SMTP's in sender.c). */
typedef struct {
    pthread_mutex_t lock;
    notify_api_bucket_t bucket;
} notify_api_limit_t;
#define NOTIFY_API_LIMIT_INIT {PTHREAD_MUTEX_INITIALIZER, {0, 0, 0}}

/* Waits for a token of l at rate a second (rate <= 0: no limit; at most a
 * few seconds at the lowest rate a setting allows). */
void notify_api_limit_wait(notify_api_limit_t *l, double rate);

#endif
