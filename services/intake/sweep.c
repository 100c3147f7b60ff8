/* The deadline sweep: emits case.deadline_due once for each statutory
 * deadline of an open case that is not met and falls due within the notice
 * period (or fell due in the last 30 days). It runs on the outbox relay's
 * thread (svc/relay.h) every PARLEY_DEADLINE_SWEEP_MS. Any number of intake
 * instances may sweep at once: the primary key of deadline_events
 * (case_id, kind, due_on) lets exactly one transaction record a deadline,
 * and the event is written in that same transaction. A deadline whose date
 * moves is a new deadline, and is announced again. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "services/intake/intake.h"
#include "services/intake/sweep.h"
#include "svc/svc.h"

#define BATCH 200
#define LOOKBACK_DAYS 30
#define MAX_DEADLINES 400

static const db_stmt_t stmts[] = {
    /* Lets this transaction read every authority's cases (see migration 002). */
    {"sweep_on",
     "SELECT set_config('parley.sweep', 'on', true),"
     " ((now() AT TIME ZONE 'Europe/London')::date - date '1970-01-01')"},
    {"sweep_cases",
     "SELECT c.id, array_agg(s.stage ORDER BY s.\"on\"), array_agg((s.\"on\" - date '1970-01-01') ORDER BY s.\"on\")"
     " FROM cases c JOIN case_stages s ON s.case_id = c.id"
     " WHERE c.status = 'CASE_STATUS_OPEN' AND ($1::uuid IS NULL OR c.id > $1::uuid)"
     " GROUP BY c.id ORDER BY c.id LIMIT 200"},
    {"sweep_record",
     "INSERT INTO deadline_events (case_id, kind, due_on, authority_id)"
     " SELECT id, $2, $3::date, authority_id FROM cases WHERE id = $1"
     " ON CONFLICT DO NOTHING RETURNING 1"},
};

void sweep_init(void *ctx, db_t *db) {
    (void)ctx;
    size_t n;
    const db_stmt_t *s = events_statements(&n);
    db_register(db, s, n);
    db_register(db, stmts, sizeof stmts / sizeof stmts[0]);
}

/* Announces deadline d of case_id if nobody has. 0 or a DB_ERR_*. */
static int announce(db_t *db, arena_t *a, const char *case_id, const deadline_t *d, int64_t today) {
    char due[11], starts[11];
    const char *kind = svc_enum_text(&parley__intake__v1__deadline_kind__descriptor, d->kind);
    const char *params[] = {case_id, kind, deadline_format(d->due_on, due)};
    db_result_t *r = NULL;
    int rc = db_exec(db, "sweep_record", 3, params, &r);
    if (rc != 0) return rc;
    int first = db_rows(r) == 1;
    db_result_free(&r);
    if (!first) return 0;
    const ProtobufCEnumDescriptor *stage = &parley__intake__v1__sen_stage__descriptor;
    json_t *data = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "kind",
        svc_enum_word(a, &parley__intake__v1__deadline_kind__descriptor, d->kind), "party",
        svc_enum_word(a, &parley__intake__v1__deadline_party__descriptor, d->party), "startsFrom",
        svc_enum_word(a, stage, d->starts_from), "startsOn", deadline_format(d->starts_on, starts), "dueOn", due,
        "status", svc_enum_word(a, &parley__intake__v1__deadline_status__descriptor, d->status), "daysRemaining",
        (json_int_t)(d->due_on - today), "rule", deadline_rule(d->kind));
    return events_emit(db, a, "case.deadline_due", case_id, events_json(a, data));
}

/* One batch of cases after *cursor (updated). Returns the number of cases
 * seen, or a DB_ERR_*. */
static int sweep_batch(db_t *db, arena_t *a, const sweep_config_t *cfg, char cursor[37], int *announced) {
    int rc = db_tx_begin(db, NULL);
    if (rc != 0) return rc;
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "sweep_on", 0, NULL, &r)) != 0) goto fail;
    int64_t today = db_int(r, 0, 1);
    db_result_free(&r);
    const char *params[] = {*cursor ? cursor : NULL};
    if ((rc = db_exec(db, "sweep_cases", 1, params, &r)) != 0) goto fail;
    int rows = db_rows(r);
    deadline_t *d = arena_alloc(a, MAX_DEADLINES * sizeof *d);
    for (int i = 0; i < rows && rc == 0; i++) {
        char **stages, **days;
        int n = db_array_parse(a, db_text(r, i, 1), &stages);
        if (n < 0 || db_array_parse(a, db_text(r, i, 2), &days) != n) continue;
        deadline_stage_t *st = arena_alloc(a, ((size_t)n + 1) * sizeof *st);
        for (int k = 0; k < n; k++)
            st[k] = (deadline_stage_t){svc_enum_value(&parley__intake__v1__sen_stage__descriptor, stages[k]),
                                       strtoll(days[k], NULL, 10)};
        size_t nd = deadlines_compute(st, (size_t)n, today, d, MAX_DEADLINES);
        for (size_t k = 0; k < nd && k < MAX_DEADLINES && rc == 0; k++) {
            if (d[k].status == PARLEY__INTAKE__V1__DEADLINE_STATUS__DEADLINE_STATUS_MET) continue;
            if (d[k].due_on > today + cfg->notice_days || d[k].due_on < today - LOOKBACK_DAYS) continue;
            rc = announce(db, a, db_text(r, i, 0), &d[k], today);
            if (rc == 0) (*announced)++;
        }
    }
    if (rows > 0) snprintf(cursor, 37, "%s", db_text(r, rows - 1, 0));
    db_result_free(&r);
    if (rc != 0) goto fail;
    if ((rc = db_tx_commit(db)) != 0) return rc;
    return rows;
fail:
    db_result_free(&r);
    db_tx_rollback(db);
    return rc;
}

void sweep_run(void *ctx, db_t *db) {
    const sweep_config_t *cfg = ctx;
    arena_t *a = arena_new();
    if (a == NULL) return;
    char cursor[37] = "";
    int announced = 0, rows;
    do {
        rows = sweep_batch(db, a, cfg, cursor, &announced);
        arena_reset(a);
    } while (rows == BATCH);
    if (rows < 0) log_warn(NULL, "deadline sweep stopped early: database error %d (%s)", rows, db_error(db));
    else if (announced > 0) log_info(NULL, "deadline sweep: %d deadline(s) due", announced);
    arena_destroy(&a);
}
