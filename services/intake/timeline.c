/* GET /v1/cases/{id}/timeline: the stages recorded and the statutory
 * deadlines they start, computed now from the stages as stored (so a moved
 * date is reflected at once) for today's date in the UK; and the child's
 * views and wishes as they were sought, with the latest date (the route
 * is staff only: a partner agency never sees views). */
#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

#define MAX_DEADLINES 400

static const db_stmt_t stmts[] = {
    {"timeline_case",
     "SELECT stage, ((now() AT TIME ZONE 'Europe/London')::date - date '1970-01-01'),"
     " audit.touch(id::text, authority_id) FROM cases"
     " WHERE id = $1 AND authority_id = ANY (current_authorities())"},
    {"timeline_stages",
     "SELECT id, case_id, stage, to_char(\"on\", 'YYYY-MM-DD'), (\"on\" - date '1970-01-01'),"
     " " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ""
     " FROM case_stages WHERE case_id = $1 AND authority_id = ANY (current_authorities())"
     " ORDER BY \"on\", created_at LIMIT 200"},
    {"timeline_views",
     "SELECT v.id, v.child_id, v.authority_id, to_char(v.recorded_on, 'YYYY-MM-DD'), v.method, v.summary, v.wishes,"
     " v.recorded_by, " DB_MICROS("v.created_at") " FROM cases c JOIN child_views v ON v.child_id = c.child_id"
     " WHERE c.id = $1 AND v.authority_id = ANY (current_authorities())"
     /* The latest 200, read newest first (so the latest is always there). */
     " ORDER BY v.recorded_on DESC, v.created_at DESC LIMIT 200"},
    /* A young person's own case: their own views (young_person_views.c's columns). */
    {"timeline_young_views",
     "SELECT v.id, v.young_person_id, v.authority_id, to_char(v.recorded_on, 'YYYY-MM-DD'), v.method, v.summary,"
     " v.wishes, v.recorded_by, " DB_MICROS("v.created_at") " FROM cases c"
     " JOIN young_person_views v ON v.young_person_id = c.young_person_id"
     " WHERE c.id = $1 AND v.authority_id = ANY (current_authorities())"
     " ORDER BY v.recorded_on DESC, v.created_at DESC LIMIT 200"},
};

const db_stmt_t *timeline_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static Parley__Intake__V1__Deadline *deadline_message(arena_t *a, const deadline_t *d) {
    Parley__Intake__V1__Deadline *m = arena_alloc(a, sizeof *m);
    parley__intake__v1__deadline__init(m);
    m->kind = d->kind;
    m->starts_from = d->starts_from;
    m->starts_on = deadline_format(d->starts_on, arena_alloc(a, 11));
    m->due_on = deadline_format(d->due_on, arena_alloc(a, 11));
    m->status = d->status;
    if (d->met_on != DEADLINES_NO_DATE) m->met_on = deadline_format(d->met_on, arena_alloc(a, 11));
    m->met_by = d->met_by;
    m->party = d->party;
    m->rule = (char *)deadline_rule(d->kind);
    return m;
}

int timeline_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__GetTimelineRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "case");
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *params[] = {in->id};
    db_result_t *c = NULL, *r = NULL;
    if ((rc = db_exec(db, "timeline_case", 1, params, &c)) != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(c) == 0) {
        db_result_free(&c);
        db_tx_rollback(db);
        return svc_not_found(res, "case");
    }
    db_result_t *v = NULL, *y = NULL;
    if ((rc = db_exec(db, "timeline_stages", 1, params, &r)) != 0 ||
        (rc = db_exec(db, "timeline_views", 1, params, &v)) != 0 ||
        (rc = db_exec(db, "timeline_young_views", 1, params, &y)) != 0) {
        db_result_free(&c);
        db_result_free(&r);
        db_result_free(&v);
        return svc_db_fail(res, req, db, rc);
    }
    if ((rc = db_tx_commit_read(db)) != 0) {
        db_result_free(&c);
        db_result_free(&r);
        db_result_free(&v);
        db_result_free(&y);
        return svc_db_fail(res, req, db, rc);
    }
    size_t nv = (size_t)db_rows(v);

    Parley__Intake__V1__Timeline *t = arena_alloc(a, sizeof *t);
    parley__intake__v1__timeline__init(t);
    t->case_id = arena_strdup(a, in->id);
    t->current_stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(c, 0, 0));
    int64_t today = db_int(c, 0, 1);
    t->today = deadline_format(today, arena_alloc(a, 11));
    db_result_free(&c);

    size_t n = (size_t)db_rows(r);
    t->stages = arena_alloc(a, (n + 1) * sizeof *t->stages);
    deadline_stage_t *st = arena_alloc(a, (n + 1) * sizeof *st);
    for (size_t i = 0; i < n; i++) {
        Parley__Intake__V1__Stage *s = arena_alloc(a, sizeof *s);
        parley__intake__v1__stage__init(s);
        s->id = db_str(a, r, (int)i, 0);
        s->case_id = db_str(a, r, (int)i, 1);
        s->stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, (int)i, 2));
        s->on = db_str(a, r, (int)i, 3);
        s->created_at = svc_timestamp(a, db_int(r, (int)i, 5));
        s->updated_at = svc_timestamp(a, db_int(r, (int)i, 6));
        t->stages[i] = s;
        st[i] = (deadline_stage_t){.stage = s->stage, .on = db_int(r, (int)i, 4)};
    }
    t->n_stages = n;
    db_result_free(&r);

    t->views = arena_alloc(a, (nv + 1) * sizeof *t->views);
    for (size_t i = 0; i < nv; i++) t->views[nv - 1 - i] = views_from_row(a, v, (int)i); /* oldest first */
    t->n_views = nv;
    if (nv > 0) t->views_last_recorded_on = t->views[nv - 1]->recorded_on;
    db_result_free(&v);
    size_t ny = (size_t)db_rows(y);
    t->young_person_views = arena_alloc(a, (ny + 1) * sizeof *t->young_person_views);
    for (size_t i = 0; i < ny; i++) t->young_person_views[ny - 1 - i] = young_person_views_from_row(a, y, (int)i);
    t->n_young_person_views = ny;
    if (ny > 0) t->views_last_recorded_on = t->young_person_views[ny - 1]->recorded_on;
    db_result_free(&y);

    deadline_t *d = arena_alloc(a, MAX_DEADLINES * sizeof *d);
    size_t nd = deadlines_compute(st, n, today, d, MAX_DEADLINES);
    if (nd > MAX_DEADLINES) nd = MAX_DEADLINES;
    t->deadlines = arena_alloc(a, (nd + 1) * sizeof *t->deadlines);
    for (size_t i = 0; i < nd; i++) t->deadlines[i] = deadline_message(a, &d[i]);
    t->n_deadlines = nd;
    res->reply = &t->base;
    return 0;
}
