/* reminders — scheduled in the request's transaction, swept once; see
 * reminders.h. */
#include "services/scheduling/reminders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "db/outbox.h"

#define BATCH 50

/* Set once by reminders_configure before any thread; read-only after. */
static char offsets_literal[64] = "{1440,120}";

int reminders_configure(void) {
    const char *text = config_str("PARLEY_SCHEDULING_REMINDERS", "1440,120");
    char out[64] = "{";
    size_t used = 1;
    int n = 0;
    for (const char *p = text; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 5 || v > 20160 || n == REMINDERS_MAX || (*end != ',' && *end != '\0')) {
            log_error(NULL, "PARLEY_SCHEDULING_REMINDERS must be up to %d offsets of 5 to 20160 minutes, "
                            "comma-separated (\"1440,120\")", REMINDERS_MAX);
            return -1;
        }
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%ld", n ? "," : "", v);
        n++;
        p = *end == ',' ? end + 1 : end;
    }
    snprintf(out + used, sizeof out - used, "}");
    snprintf(offsets_literal, sizeof offsets_literal, "%s", out);
    return 0;
}

static const db_stmt_t stmts[] = {
    {"r_clear",
     "DELETE FROM appointment_reminders r USING appointments a WHERE r.appointment_id = $1 AND a.id = $1"
     " AND (a.status = 'APPOINTMENT_STATUS_CANCELLED' OR r.due_at <> a.starts_at - r.minutes_before * interval '1 minute'"
     " OR NOT (r.minutes_before = ANY ($2::int[])))"},
    {"r_make",
     "INSERT INTO appointment_reminders (appointment_id, minutes_before, authority_id, due_at)"
     " SELECT a.id, m, a.authority_id, a.starts_at - m * interval '1 minute' FROM appointments a, unnest($2::int[]) m"
     " WHERE a.id = $1 AND a.status = 'APPOINTMENT_STATUS_BOOKED' AND a.starts_at - m * interval '1 minute' > now()"
     " ON CONFLICT DO NOTHING"},
};

const db_stmt_t *reminders_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int reminders_schedule(db_t *db, const char *appointment_id) {
    const char *params[] = {appointment_id, offsets_literal};
    int rc = db_exec(db, "r_clear", 2, params, NULL);
    return rc == 0 ? db_exec(db, "r_make", 2, params, NULL) : rc;
}

static const db_stmt_t sweep_stmts[] = {
    /* Due and unsent, claimed by this transaction alone; a row another
     * process holds is skipped, and is sent when its sweep commits. */
    {"r_due",
     "SELECT r.appointment_id, r.minutes_before::text, r.authority_id FROM appointment_reminders r"
     " WHERE r.sent_at IS NULL AND r.due_at <= now() ORDER BY r.due_at LIMIT 50 FOR UPDATE SKIP LOCKED"},
    {"r_sent",
     "UPDATE appointment_reminders SET sent_at = now() WHERE appointment_id = $1 AND minutes_before = $2::int"},
};

void reminders_init(void *ctx, db_t *db) {
    (void)ctx;
    db_register(db, sweep_stmts, sizeof sweep_stmts / sizeof sweep_stmts[0]);
}

void reminders_sweep(void *ctx, db_t *db) {
    (void)ctx;
    int rc = db_tx_begin(db, NULL);
    db_result_t *r = NULL;
    if (rc == 0) rc = db_exec(db, "r_due", 0, NULL, &r);
    for (int i = 0; rc == 0 && i < db_rows(r) && i < BATCH; i++) {
        const char *id = db_text(r, i, 0), *minutes = db_text(r, i, 1);
        char data[160];
        snprintf(data, sizeof data, "{\"appointmentId\":\"%s\",\"minutesBefore\":%s}", id, minutes);
        const char *params[] = {id, minutes};
        rc = db_exec(db, "r_sent", 2, params, NULL);
        if (rc == 0) rc = outbox_add(db, "appointment.reminder_due", db_text(r, i, 2), id, data);
    }
    int due = r ? db_rows(r) : 0;
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) {
        db_tx_rollback(db);
        log_warn(NULL, "scheduling: the reminder sweep failed (%s); it tries again", db_error(db));
    } else if (due > 0) {
        log_info(NULL, "scheduling: %d reminder(s) due emitted", due);
    }
}
