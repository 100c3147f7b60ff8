/* The sender thread (contract in sender.h). */
#include "services/notify/sender.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/ticker.h"
#include "db/db.h"

#define ATTEMPT_JSON(status)                                                                              \
    "jsonb_build_array(jsonb_build_object('channel', 'CHANNEL_EMAIL', 'status', '" status "',"           \
    " 'error', $2::text, 'at', " DB_MICROS("clock_timestamp()") "))"

static const db_stmt_t stmts[] = {
    {"s_claim",
     "SELECT notification_id, authority_id, tries FROM send_queue WHERE next_attempt_at <= now()"
     " ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED"},
    /* The claim holds for $2 ms (longer than a send may take): no sender
     * takes it meanwhile, and one that dies leaves it to be tried again. */
    {"s_lease",
     "UPDATE send_queue SET tries = tries + 1, next_attempt_at = now() + $2::bigint * interval '1 millisecond'"
     " WHERE notification_id = $1"},
    /* The claimed notification's authority, for its row-level security. */
    {"s_scope", "SELECT set_config('parley.authority_ids', '{' || $1::uuid || '}', true)"},
    {"s_load",
     "SELECT email, subject, body, html, category, critical, language FROM notifications"
     " WHERE id = $1 AND status = 'NOTIFICATION_STATUS_PENDING'"},
    {"s_delivered",
     "UPDATE notifications SET status = 'NOTIFICATION_STATUS_DELIVERED', delivered_at = now(), updated_at = now(),"
     " attempts = attempts || " ATTEMPT_JSON("ATTEMPT_STATUS_DELIVERED") " WHERE id = $1"},
    {"s_retry",
     "UPDATE notifications SET updated_at = now(),"
     " attempts = attempts || " ATTEMPT_JSON("ATTEMPT_STATUS_TEMPORARY_FAILURE") " WHERE id = $1"},
    {"s_failed_temporary",
     "UPDATE notifications SET status = 'NOTIFICATION_STATUS_FAILED', failure_reason = left($3, 500),"
     " updated_at = now(), attempts = attempts || " ATTEMPT_JSON("ATTEMPT_STATUS_TEMPORARY_FAILURE") " WHERE id = $1"},
    {"s_failed_permanent",
     "UPDATE notifications SET status = 'NOTIFICATION_STATUS_FAILED', failure_reason = left($3, 500),"
     " updated_at = now(), attempts = attempts || " ATTEMPT_JSON("ATTEMPT_STATUS_PERMANENT_FAILURE") " WHERE id = $1"},
    {"s_done", "DELETE FROM send_queue WHERE notification_id = $1"},
    /* After the tries-th attempt: $2 the base and $3 the longest back-off,
     * in milliseconds, with jitter (0.75 to 1.25 times). */
    {"s_later",
     "UPDATE send_queue SET next_attempt_at = now() + least($3::bigint,"
     " $2::bigint * power(2, least(tries - 1, 30))) * (0.75 + random() / 2) * interval '1 millisecond'"
     " WHERE notification_id = $1"},
};

struct sender {
    sender_config_t cfg;
    ticker_t *ticker;
    /* The thread's own (made in setup, freed in teardown). */
    db_t *db;
    smtp_t *smtp;
    arena_t *arena;
};

static int setup(void *arg) {
    sender_t *s = arg;
    s->db = db_new(s->cfg.conninfo);
    s->smtp = smtp_new(&s->cfg.smtp);
    s->arena = arena_new();
    if (s->db == NULL || s->smtp == NULL || s->arena == NULL) {
        log_error(NULL, "sender: cannot start (no memory, or curl cannot start)");
        return -1;
    }
    db_register(s->db, stmts, sizeof stmts / sizeof stmts[0]);
    return 0;
}

/* Claims one due notification and leases it (its own committed
 * transaction), into *m (in the arena): 1, 0 when none is due (or it had
 * ended: its queue row is dropped), or a DB_ERR_*. */
static int claim(sender_t *s, smtp_mail_t *m, char **authority, int *tries) {
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
    char *id = db_str(a, q, 0, 0);
    *authority = db_str(a, q, 0, 1);
    *tries = (int)db_int(q, 0, 2);
    db_result_free(&q);
    const char *scope[] = {*authority}, *one[] = {id};
    const char *lease[] = {id, arena_printf(a, "%ld", s->cfg.smtp.timeout_ms + 60000)};
    rc = db_exec(db, "s_scope", 1, scope, NULL);
    if (rc == 0) rc = db_exec(db, "s_load", 1, one, &n);
    int found = rc == 0 && db_rows(n) == 1;
    if (found) {
        *m = (smtp_mail_t){id,
                           db_str(a, n, 0, 0),
                           db_str(a, n, 0, 1),
                           db_str(a, n, 0, 2),
                           db_str(a, n, 0, 3),
                           db_str(a, n, 0, 4),
                           db_bool(n, 0, 5),
                           db_str(a, n, 0, 6)};
        rc = db_exec(db, "s_lease", 2, lease, NULL);
    } else if (rc == 0) {
        rc = db_exec(db, "s_done", 1, one, NULL); /* ended already: nothing to send */
    }
    db_result_free(&n);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc != 0 ? rc : found;
}

/* Records the outcome of attempt tries + 1 on the notification and the
 * queue, in one transaction. 0 or a DB_ERR_*. */
static int record(sender_t *s, const char *id, const char *authority, int tries, smtp_outcome_t out,
                  const char *error) {
    db_t *db = s->db;
    arena_t *a = s->arena;
    bool last = tries + 1 >= s->cfg.max_attempts;
    const char *what = out == SMTP_SENT        ? "s_delivered"
                       : out == SMTP_PERMANENT ? "s_failed_permanent"
                       : last                  ? "s_failed_temporary"
                                               : "s_retry";
    const char *reason =
        out == SMTP_TEMPORARY && last ? arena_printf(a, "gave up after %d attempts: %s", tries + 1, error) : error;
    const char *params[] = {id, error, reason}, *scope[] = {authority}, *one[] = {id};
    const char *later[] = {id, arena_printf(a, "%lld", (long long)s->cfg.retry_base_ms),
                           arena_printf(a, "%lld", (long long)s->cfg.retry_max_ms)};
    int rc = db_tx_begin(db, NULL);
    if (rc == 0) rc = db_exec(db, "s_scope", 1, scope, NULL);
    if (rc == 0) rc = db_exec(db, what, strcmp(what, "s_delivered") == 0 || strcmp(what, "s_retry") == 0 ? 2 : 3,
                              params, NULL);
    if (rc == 0 && out == SMTP_TEMPORARY && !last) rc = db_exec(db, "s_later", 3, later, NULL);
    else if (rc == 0) rc = db_exec(db, "s_done", 1, one, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc;
}

/* Sends one due notification: 1 when one was claimed, 0 when none is due,
 * or a DB_ERR_*. */
static int send_one(sender_t *s) {
    smtp_mail_t m;
    char *authority = NULL;
    int tries = 0;
    int rc = claim(s, &m, &authority, &tries);
    if (rc <= 0) return rc;
    const char *error = NULL;
    smtp_outcome_t out = smtp_send(s->smtp, s->arena, &m, &error);
    if ((rc = record(s, m.id, authority, tries, out, error)) != 0) {
        /* Its lease runs out and it is tried again, counted as an attempt. */
        log_error(m.id, "sender: the outcome of notification %s was not recorded (%s); it will be tried again",
                  m.id, db_error(s->db));
        return rc;
    }
    bool last = tries + 1 >= s->cfg.max_attempts;
    if (out == SMTP_SENT) log_debug(m.id, "notification %s delivered", m.id);
    else log_warn(m.id, "notification %s not delivered (attempt %d%s): %s", m.id, tries + 1,
                  out == SMTP_PERMANENT || last ? ", failed" : ", will retry", error);
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
    smtp_destroy(&s->smtp);
    db_destroy(&s->db);
}

sender_t *sender_start(const sender_config_t *cfg) {
    sender_t *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->cfg = *cfg;
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
