/* contacts: what the sender applies when it sends (contract in
 * contacts.h): a person's opt-outs and quiet hours, read when it sends, so
 * a preference changed after a notification was queued counts. Quiet
 * hours are wall-clock times in the person's zone, computed by
 * PostgreSQL's time zone database (a window may span midnight; a clock
 * change moves the instant, not the wall time). */
#include "services/notify/contacts.h"

static const db_stmt_t stmts[] = {
    /* $3 the category, $4 critical; quiet: now within [start, end) local,
     * until: the next end, local, as an instant. */
    {"cs_check",
     "SELECT NOT $4::boolean AND $3::text = ANY (opt_outs),"
     " quiet_start IS NOT NULL AND CASE WHEN quiet_start < quiet_end"
     "  THEN l::time >= quiet_start AND l::time < quiet_end ELSE l::time >= quiet_start OR l::time < quiet_end END,"
     " ((CASE WHEN l::time < quiet_end THEN l::date ELSE l::date + 1 END + quiet_end) AT TIME ZONE quiet_zone)::text,"
     " quiet_zone"
     " FROM contact_preferences, LATERAL (SELECT now() AT TIME ZONE coalesce(quiet_zone, 'UTC') AS l) AS local"
     " WHERE authority_id = $1 AND person_id = $2"},
    {"cs_suppress",
     "UPDATE notifications SET status = 'NOTIFICATION_STATUS_SUPPRESSED', updated_at = now(),"
     " failure_reason = 'not sent: the recipient opted out of ' || $2::text || ' (it is not critical)'"
     " WHERE id = $1"},
    {"cs_unqueue", "DELETE FROM send_queue WHERE notification_id = $1"},
    {"cs_defer_note", "UPDATE notifications SET deferred_until = $2::timestamptz, deferred_zone = $3, updated_at = now()"
                      " WHERE id = $1"},
    {"cs_defer", "UPDATE send_queue SET next_attempt_at = $2::timestamptz WHERE notification_id = $1"},
};

const db_stmt_t *contacts_send_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int contacts_send_check(db_t *db, arena_t *a, const char *id, const char *authority, const char *person_id,
                        const char *category, bool critical, bool sms, contacts_hold_t *out) {
    *out = CONTACTS_SEND;
    const char *params[] = {authority, person_id, category, critical ? "true" : "false"};
    db_result_t *r = NULL;
    int rc = db_exec(db, "cs_check", 4, params, &r);
    if (rc != 0 || db_rows(r) != 1) {
        db_result_free(&r);
        return rc; /* no preferences: nothing holds it */
    }
    bool opted_out = db_bool(r, 0, 0), quiet = db_bool(r, 0, 1);
    const char *until = db_str(a, r, 0, 2), *zone = db_str(a, r, 0, 3);
    db_result_free(&r);
    if (opted_out) {
        const char *note[] = {id, category}, *one[] = {id};
        rc = db_exec(db, "cs_suppress", 2, note, NULL);
        if (rc == 0) rc = db_exec(db, "cs_unqueue", 1, one, NULL);
        if (rc == 0) *out = CONTACTS_SUPPRESSED;
    } else if (quiet && sms && until) {
        const char *note[] = {id, until, zone}, *later[] = {id, until};
        rc = db_exec(db, "cs_defer_note", 3, note, NULL);
        if (rc == 0) rc = db_exec(db, "cs_defer", 2, later, NULL);
        if (rc == 0) *out = CONTACTS_DEFERRED;
    }
    return rc;
}
