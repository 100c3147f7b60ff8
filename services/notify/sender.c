/* The sender thread (contract in sender.h). */
#include "services/notify/sender.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/ticker.h"
#include "db/db.h"
#include "services/notify/contacts.h"
#include "services/notify/invite.h"

/* SMTP's limit in this process (PARLEY_SMTP_RATE), shared by every
 * sender thread, as the API's is in notify_api.c. */
static notify_api_limit_t smtp_limit = NOTIFY_API_LIMIT_INIT;

static const db_stmt_t stmts[] = {
    {"s_claim",
     "SELECT notification_id, authority_id, tries, provider_id, polls FROM send_queue WHERE next_attempt_at <= now()"
     " ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED"},
    /* The claim holds for $2 ms (longer than a send may take): no sender
     * takes it meanwhile, and one that dies leaves it to be tried again. A
     * send counts a try; a poll counts a poll. */
    {"s_lease",
     "UPDATE send_queue SET tries = tries + 1, next_attempt_at = now() + $2::bigint * interval '1 millisecond'"
     " WHERE notification_id = $1"},
    {"s_lease_poll",
     "UPDATE send_queue SET polls = polls + 1, next_attempt_at = now() + $2::bigint * interval '1 millisecond'"
     " WHERE notification_id = $1"},
    /* The claimed notification's authority, for its row-level security. */
    {"s_scope", "SELECT set_config('parley.authority_ids', '{' || $1::uuid || '}', true)"},
    {"s_load",
     "SELECT email, subject, body, html, category, critical, language, phone, sms_text, channel, channel_index,"
     " array_length(channels, 1), array_to_string(channels, ', '), person_id, person_kind FROM notifications"
     " WHERE id = $1 AND status = 'NOTIFICATION_STATUS_PENDING'"},
    /* An invitation's iCalendar and method (events: events_scheduling.c), as
     * stored when it was made, so every try sends the same one. */
    {"s_calendar", "SELECT ics, ics_method FROM notifications WHERE id = $1 AND ics IS NOT NULL"},
    /* Records an attempt ($2 its status, $3 its error, $4 the provider's
     * id) on the channel in use, replacing the last one when $5 (a
     * followed message's status settled); sets the status $6 (with $7 the
     * reason when failed) and moves $8 (0 or 1) channels on. */
    {"s_note",
     "UPDATE notifications SET updated_at = now(),"
     " attempts = (CASE WHEN $5::boolean THEN attempts - (-1) ELSE attempts END) || jsonb_build_array("
     "jsonb_build_object('channel', channel, 'status', $2::text, 'error', $3::text, 'provider_id', $4::text,"
     " 'at', " DB_MICROS("clock_timestamp()") ")),"
     " status = $6::text,"
     " failure_reason = CASE WHEN $6::text = 'NOTIFICATION_STATUS_FAILED' THEN left($7::text, 500) END,"
     " delivered_at = CASE WHEN $6::text = 'NOTIFICATION_STATUS_DELIVERED' THEN now() END,"
     " channel_index = channel_index + $8::integer,"
     " channel = CASE WHEN $8::integer = 1 THEN channels[channel_index + 2] ELSE channel END"
     " WHERE id = $1"},
    {"s_done", "DELETE FROM send_queue WHERE notification_id = $1"},
    /* After the tries-th attempt: $2 the base and $3 the longest back-off,
     * in milliseconds, with jitter (0.75 to 1.25 times). */
    {"s_later",
     "UPDATE send_queue SET provider_id = NULL, polls = 0, next_attempt_at = now() + least($3::bigint,"
     " $2::bigint * power(2, least(tries - 1, 30))) * (0.75 + random() / 2) * interval '1 millisecond'"
     " WHERE notification_id = $1"},
    /* The provider took it: its status is polled after $3 ms. */
    {"s_follow",
     "UPDATE send_queue SET provider_id = $2, polls = 0,"
     " next_attempt_at = now() + $3::bigint * interval '1 millisecond' WHERE notification_id = $1"},
    {"s_poll_later",
     "UPDATE send_queue SET next_attempt_at = now() + least($3::bigint,"
     " $2::bigint * power(2, least(polls - 1, 30))) * interval '1 millisecond' WHERE notification_id = $1"},
    /* The next channel, at once, its tries counted afresh. */
    {"s_next_channel",
     "UPDATE send_queue SET tries = 0, polls = 0, provider_id = NULL, next_attempt_at = now()"
     " WHERE notification_id = $1"},
    /* letters: the PDF to post, as base64 on one line; dropped once the
     * notification has ended (the provider has it, or it failed). */
    {"s_letter_pdf", "SELECT translate(encode(letter_pdf, 'base64'), E'\\n', '') FROM notifications WHERE id = $1"},
    {"s_letter_drop", "UPDATE notifications SET letter_pdf = NULL WHERE id = $1 AND letter_pdf IS NOT NULL"},
};

struct sender {
    sender_config_t cfg;
    ticker_t *ticker;
    /* The thread's own (made in setup, freed in teardown). */
    db_t *db;
    smtp_t *smtp;
    notify_api_t *api;
    bus_client_t *bus; /* contacts: a recipient named by personId is resolved over it */
    arena_t *arena;
};

/* One claimed notification, in the arena. */
typedef struct {
    smtp_mail_t mail;
    char *authority;
    char *provider_id; /* the followed message's, or NULL: to send */
    const char *phone, *sms_text, *channel, *channels;
    const char *person_id, *person_kind; /* contacts: a person named by id, or NULL */
    bool gone;                           /* contacts: their owner no longer knows them */
    const char *letter_pdf;              /* letters: the PDF as base64, when a letter is to be posted */
    int tries, polls, index, count;
} job_t;

/* What one step came to. */
typedef enum {
    STEP_DELIVERED, /* SMTP took it; Notify said delivered */
    STEP_SENDING,   /* Notify took it: follow it */
    STEP_WAITING,   /* no final status yet: poll again */
    STEP_TEMPORARY,
    STEP_PERMANENT,
} step_t;

static int setup(void *arg) {
    sender_t *s = arg;
    s->db = db_new(s->cfg.conninfo);
    s->smtp = smtp_new(&s->cfg.smtp);
    s->api = notify_api_new(&s->cfg.api);
    s->arena = arena_new();
    /* Without a broker a person's contact cannot be read: their notifications wait (temporary failures). */
    if (s->cfg.bus_endpoint && *s->cfg.bus_endpoint) s->bus = bus_client_new(s->cfg.bus_endpoint);
    if (s->db == NULL || s->smtp == NULL || s->api == NULL || s->arena == NULL) {
        log_error(NULL, "sender: cannot start (no memory, or curl cannot start)");
        return -1;
    }
    db_register(s->db, stmts, sizeof stmts / sizeof stmts[0]);
    size_t n;
    const db_stmt_t *contact_stmts = contacts_send_statements(&n);
    db_register(s->db, contact_stmts, n);
    return 0;
}

static long lease_ms(const sender_config_t *cfg) {
    return (cfg->smtp.timeout_ms > cfg->api.timeout_ms ? cfg->smtp.timeout_ms : cfg->api.timeout_ms) + 60000;
}

/* letters: the claimed letter's PDF into j (in the claim's transaction). */
static int letter_pdf(sender_t *s, const char *id, job_t *j) {
    db_result_t *r = NULL;
    const char *one[] = {id};
    int rc = db_exec(s->db, "s_letter_pdf", 1, one, &r);
    if (rc == 0 && db_rows(r) == 1) j->letter_pdf = db_str(s->arena, r, 0, 0);
    db_result_free(&r);
    return rc;
}

/* The notification's invitation, if it carries one, onto m. 0 or a DB_ERR_*. */
static int load_calendar(db_t *db, arena_t *a, const char *id, smtp_mail_t *m) {
    db_result_t *r = NULL;
    const char *one[] = {id};
    int rc = db_exec(db, "s_calendar", 1, one, &r);
    if (rc == 0 && db_rows(r) == 1) {
        m->calendar = db_str(a, r, 0, 0);
        m->calendar_method = db_str(a, r, 0, 1);
    }
    db_result_free(&r);
    return rc;
}

/* Claims one due notification and leases it (its own committed
 * transaction), into *j (in the arena): 1; 2 when the recipient's
 * preferences hold it (suppressed, or an SMS deferred past quiet hours:
 * recorded, nothing to send); 0 when none is due (or it had ended: its
 * queue row is dropped); or a DB_ERR_*. */
static int claim(sender_t *s, job_t *j) {
    db_t *db = s->db;
    arena_t *a = s->arena;
    db_result_t *q = NULL, *n = NULL;
    int rc = db_tx_begin(db, NULL);
    if (rc == 0) rc = db_exec(db, "s_claim", 0, NULL, &q);
    if (rc != 0 || db_rows(q) == 0) {
        db_result_free(&q);
        db_tx_rollback(db);
        return rc;
    }
    *j = (job_t){0};
    char *id = db_str(a, q, 0, 0);
    j->authority = db_str(a, q, 0, 1);
    j->tries = (int)db_int(q, 0, 2);
    j->provider_id = db_str(a, q, 0, 3);
    j->polls = (int)db_int(q, 0, 4);
    db_result_free(&q);
    const char *scope[] = {j->authority}, *one[] = {id};
    const char *lease[] = {id, arena_printf(a, "%ld", lease_ms(&s->cfg))};
    rc = db_exec(db, "s_scope", 1, scope, NULL);
    if (rc == 0) rc = db_exec(db, "s_load", 1, one, &n);
    int found = rc == 0 && db_rows(n) == 1;
    if (found) {
        j->mail = (smtp_mail_t){id,
                                db_str(a, n, 0, 0),
                                db_str(a, n, 0, 1),
                                db_str(a, n, 0, 2),
                                db_str(a, n, 0, 3),
                                db_str(a, n, 0, 4),
                                db_bool(n, 0, 5),
                                db_str(a, n, 0, 6), NULL, NULL};
        j->phone = db_str(a, n, 0, 7);
        j->sms_text = db_str(a, n, 0, 8);
        j->channel = db_str(a, n, 0, 9);
        j->index = (int)db_int(n, 0, 10);
        j->count = (int)db_int(n, 0, 11);
        j->channels = db_str(a, n, 0, 12);
        j->person_id = db_str(a, n, 0, 13);
        j->person_kind = db_str(a, n, 0, 14);
        contacts_hold_t hold = CONTACTS_SEND;
        if (j->person_id && !j->provider_id)
            rc = contacts_send_check(db, a, id, j->authority, j->person_id, j->mail.category, j->mail.critical,
                                     strcmp(j->channel, "CHANNEL_SMS") == 0, &hold);
        if (rc == 0 && hold != CONTACTS_SEND) {
            db_result_free(&n);
            rc = db_tx_commit(db);
            if (rc == 0)
                log_debug(id, "notification %s %s by the recipient's preferences", id,
                          hold == CONTACTS_SUPPRESSED ? "suppressed" : "deferred");
            return rc != 0 ? rc : 2;
        }
        if (rc == 0) rc = load_calendar(db, a, id, &j->mail);
        if (rc == 0) rc = db_exec(db, j->provider_id ? "s_lease_poll" : "s_lease", 2, lease, NULL);
        if (rc == 0 && !j->provider_id && strcmp(j->channel, "CHANNEL_LETTER") == 0) rc = letter_pdf(s, id, j);
    } else if (rc == 0) {
        rc = db_exec(db, "s_done", 1, one, NULL); /* ended already: nothing to send */
    }
    db_result_free(&n);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc != 0 ? rc : found;
}

static step_t from_api(notify_api_outcome_t out) {
    switch (out) {
    case NOTIFY_API_DELIVERED: return STEP_DELIVERED;
    case NOTIFY_API_SENDING: return STEP_SENDING;
    case NOTIFY_API_PERMANENT: return STEP_PERMANENT;
    case NOTIFY_API_UNREAD: return STEP_WAITING;
    case NOTIFY_API_TEMPORARY: break;
    }
    return STEP_TEMPORARY;
}

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x

/* contacts: the person's contact details as their owner holds them now,
 * into j, read with the notification's authority alone (the broker's grant
 * to notify: services/broker/policy.c). STEP_DELIVERED when read (go on);
 * STEP_PERMANENT with j->gone when the owner does not know them (erased,
 * or never one: the notification ends, every channel alike, not retried);
 * STEP_TEMPORARY when the owner cannot answer now. */
static step_t resolve_recipient(sender_t *s, job_t *j, const char **error) {
    char *authorities[] = {j->authority};
    Parley__Common__V1__Principal p = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    p.authority_ids = authorities;
    p.n_authority_ids = 1;
    contact_t c;
    bus_code_t code = contacts_resolve(s->bus, s->arena, j->mail.id, &p, j->person_id, j->person_kind, j->authority, &c);
    const char *owner = j->person_kind && strcmp(j->person_kind, "supporter") == 0 ? "matching" : "intake";
    if (code == CODE(NOT_FOUND)) {
        j->gone = true;
        *error = arena_printf(s->arena, "the recipient (%s %s) is not known to %s now: erased, or never recorded",
                              j->person_kind ? j->person_kind : "person", j->person_id, owner);
        return STEP_PERMANENT;
    }
    if (code != CODE(OK)) {
        *error = arena_printf(s->arena, "the recipient's contact details could not be read from %s now", owner);
        return STEP_TEMPORARY;
    }
    j->mail.to = c.email;
    j->phone = c.phone;
    if (j->mail.calendar != NULL && c.email != NULL) {
        /* An invitation: theirs, at the address just read (invite.h). */
        const char *name = c.given_name && c.family_name ? arena_printf(s->arena, "%s %s", c.given_name, c.family_name)
                                                         : c.given_name ? c.given_name : c.family_name;
        const char *mine = invite_addressed(s->arena, j->mail.calendar, j->person_id, c.email, name);
        if (mine != NULL) j->mail.calendar = mine;
    }
    return STEP_DELIVERED;
}

/* Sends j on its channel, or polls the message it follows, with no
 * transaction open: the step, *provider_id what the provider called it,
 * *error why it did not deliver. */
static step_t deliver(sender_t *s, job_t *j, char **provider_id, const char **error) {
    arena_t *a = s->arena;
    const sender_config_t *cfg = &s->cfg;
    bool api = *cfg->api.url != '\0';
    *provider_id = j->provider_id;
    *error = NULL;
    if (j->provider_id) {
        const char *status = NULL;
        step_t st = from_api(notify_api_poll(s->api, a, j->provider_id, &status, error));
        if (st == STEP_SENDING) st = STEP_WAITING;
        if (st == STEP_WAITING && j->polls + 1 >= SENDER_MAX_POLLS) {
            *error = arena_printf(a, "no final delivery status after %d polls (last: %s)", j->polls + 1,
                                  *error ? *error : status ? status : "none");
            st = STEP_TEMPORARY;
        }
        return st;
    }
    if (j->person_id) {
        step_t st = resolve_recipient(s, j, error);
        if (st != STEP_DELIVERED) return st;
    }
    if (strcmp(j->channel, "CHANNEL_SMS") == 0) {
        if (!api) {
            *error = "no SMS provider is configured (PARLEY_NOTIFY_API_URL)";
            return STEP_PERMANENT;
        }
        if (j->phone == NULL || j->sms_text == NULL) {
            *error = "the recipient has no phone number";
            return STEP_PERMANENT;
        }
        return from_api(notify_api_send_sms(s->api, a, j->phone, j->sms_text, j->mail.id, provider_id, error));
    }
    if (strcmp(j->channel, "CHANNEL_LETTER") == 0) {
        if (!api) *error = "no letter provider is configured (PARLEY_NOTIFY_API_URL)";
        else if (j->letter_pdf == NULL || *j->letter_pdf == '\0') *error = "the notification has no letter";
        else return from_api(notify_api_send_letter(s->api, a, j->letter_pdf, j->mail.id, provider_id, error));
        return STEP_PERMANENT;
    }
    if (j->mail.to == NULL) {
        *error = "the recipient has no email address";
        return STEP_PERMANENT;
    }
    if (*cfg->smtp.url != '\0') {
        notify_api_limit_wait(&smtp_limit, cfg->smtp.rate);
        smtp_outcome_t out = smtp_send(s->smtp, a, &j->mail, error);
        return out == SMTP_SENT ? STEP_DELIVERED : out == SMTP_PERMANENT ? STEP_PERMANENT : STEP_TEMPORARY;
    }
    if (api && cfg->api.email_template && *cfg->api.email_template) {
        return from_api(
            notify_api_send_email(s->api, a, j->mail.to, j->mail.subject, j->mail.text, j->mail.id, provider_id, error));
    }
    *error = "no email provider is configured (PARLEY_SMTP_URL, or PARLEY_NOTIFY_API_EMAIL_TEMPLATE)";
    return STEP_PERMANENT;
}

/* Records step on the notification and the queue, in one transaction:
 * the attempt (settling the followed one's), and what comes next. 0 or a
 * DB_ERR_*. */
static int record(sender_t *s, const job_t *j, step_t step, const char *provider_id, const char *error,
                  bool *ended) {
    db_t *db = s->db;
    arena_t *a = s->arena;
    const sender_config_t *cfg = &s->cfg;
    const char *id = j->mail.id;
    /* This channel's attempts so far, this one included (a poll's was counted when it was sent). */
    int attempt = j->provider_id ? j->tries : j->tries + 1;
    bool last_try = attempt >= cfg->max_attempts, last_channel = j->index + 1 >= j->count || j->gone;
    bool channel_failed = step == STEP_PERMANENT || (step == STEP_TEMPORARY && last_try);
    const char *status = step == STEP_DELIVERED   ? "ATTEMPT_STATUS_DELIVERED"
                         : step == STEP_SENDING   ? "ATTEMPT_STATUS_SENDING"
                         : step == STEP_PERMANENT ? "ATTEMPT_STATUS_PERMANENT_FAILURE"
                                                  : "ATTEMPT_STATUS_TEMPORARY_FAILURE";
    const char *note = step == STEP_DELIVERED                    ? "NOTIFICATION_STATUS_DELIVERED"
                       : channel_failed && last_channel          ? "NOTIFICATION_STATUS_FAILED"
                                                                 : "NOTIFICATION_STATUS_PENDING";
    const char *why = step == STEP_TEMPORARY && last_try
                          ? arena_printf(a, "gave up after %d attempts: %s", attempt, error ? error : "")
                          : error;
    const char *reason = j->count > 1 && !j->gone ? arena_printf(a, "every channel failed (%s); the last: %s", j->channels, why)
                                      : why;
    const char *later[] = {id, arena_printf(a, "%lld", (long long)cfg->retry_base_ms),
                           arena_printf(a, "%lld", (long long)cfg->retry_max_ms)};
    const char *poll[] = {id, arena_printf(a, "%lld", (long long)cfg->poll_ms),
                          arena_printf(a, "%lld", (long long)cfg->retry_max_ms)};
    const char *follow[] = {id, provider_id, poll[1]};
    const char *scope[] = {j->authority}, *one[] = {id};
    const char *params[] = {id,     status, why, provider_id, j->provider_id ? "true" : "false",
                            note,   reason, channel_failed && !last_channel ? "1" : "0"};
    int rc = db_tx_begin(db, NULL);
    if (rc == 0) rc = db_exec(db, "s_scope", 1, scope, NULL);
    /* Still waiting for a followed message's status: the attempt stands as it is. */
    if (rc == 0 && step != STEP_WAITING) rc = db_exec(db, "s_note", 8, params, NULL);
    if (rc == 0) {
        if (step == STEP_WAITING) rc = db_exec(db, "s_poll_later", 3, poll, NULL);
        else if (step == STEP_SENDING) rc = db_exec(db, "s_follow", 3, follow, NULL);
        else if (step == STEP_DELIVERED || (channel_failed && last_channel)) rc = db_exec(db, "s_done", 1, one, NULL);
        else if (channel_failed) rc = db_exec(db, "s_next_channel", 1, one, NULL);
        else rc = db_exec(db, "s_later", 3, later, NULL);
    }
    /* letters: an ended notification's PDF is kept no longer. */
    if (rc == 0 && (step == STEP_DELIVERED || (channel_failed && last_channel)) && j->channels &&
        strstr(j->channels, "CHANNEL_LETTER"))
        rc = db_exec(db, "s_letter_drop", 1, one, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    *ended = step == STEP_DELIVERED || (channel_failed && last_channel);
    return rc;
}

/* Sends (or follows) one due notification: 1 when one was claimed, 0
 * when none is due, or a DB_ERR_*. */
static int send_one(sender_t *s) {
    job_t j;
    int rc = claim(s, &j);
    if (rc <= 0 || rc == 2) return rc <= 0 ? rc : 1;
    char *provider_id = NULL;
    const char *error = NULL;
    step_t step = deliver(s, &j, &provider_id, &error);
    bool ended = false;
    if ((rc = record(s, &j, step, provider_id, error, &ended)) != 0) {
        /* Its lease runs out and it is tried again, counted as an attempt. */
        log_error(j.mail.id, "sender: the outcome of notification %s was not recorded (%s); it will be tried again",
                  j.mail.id, db_error(s->db));
        return rc;
    }
    const char *channel = strcmp(j.channel, "CHANNEL_SMS") == 0      ? "sms"
                          : strcmp(j.channel, "CHANNEL_LETTER") == 0 ? "letter"
                                                                     : "email";
    if (step == STEP_DELIVERED) log_debug(j.mail.id, "notification %s delivered by %s", j.mail.id, channel);
    else if (step == STEP_SENDING) log_debug(j.mail.id, "notification %s taken by the provider (%s)", j.mail.id,
                                             provider_id);
    else if (step != STEP_WAITING)
        log_warn(j.mail.id, "notification %s not delivered by %s (%s%s): %s", j.mail.id, channel,
                 step == STEP_PERMANENT ? "permanent" : "temporary",
                 ended ? ", failed" : step == STEP_PERMANENT ? ", next channel" : "", error ? error : "");
    return 1;
}

/* Up to batch notifications, for at most a second, so that a stop waits
 * for one send at most; asks for no pause when there may be more. */
static int tick(void *arg) {
    sender_t *s = arg;
    int64_t until = clock_mono_ms() + 1000;
    for (int sent = 0; sent < s->cfg.batch; sent++) {
        int rc = send_one(s);
        arena_reset(s->arena);
        if (rc <= 0) return 0;
        if (clock_mono_ms() >= until) return 1;
    }
    return 1;
}

static void teardown(void *arg) {
    sender_t *s = arg;
    arena_destroy(&s->arena);
    notify_api_destroy(&s->api);
    bus_client_destroy(&s->bus);
    smtp_destroy(&s->smtp);
    db_destroy(&s->db);
}

sender_t *sender_start(const sender_config_t *cfg) {
    sender_t *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->cfg = *cfg;
    /* smtp and api keep a pointer to their config: the sender's own copy. */
    ticker_config_t tc = {.interval_ms = cfg->interval_ms, .setup = setup, .tick = tick, .teardown = teardown, .ctx = s};
    if ((s->ticker = ticker_new(&tc)) == NULL) {
        log_error(NULL, "sender: cannot start its thread");
        free(s);
        return NULL;
    }
    return s;
}

void sender_stop(sender_t **self) {
    if (self == NULL || *self == NULL) return;
    ticker_destroy(&(*self)->ticker);
    free(*self);
    *self = NULL;
}
