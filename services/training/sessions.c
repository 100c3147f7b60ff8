/* Sessions: one delivery of a course (trainer, seats, language, day), in
 * the course's authority; attendance records who came, each completing the
 * course on the session's day. A trainer's key records both and reads no
 * family data (gateway/routes.c). */
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "services/training/training.h"
#include "svc/page_token.h"
#include "svc/svc.h"

#define SESSION_COLUMNS(s)                                                                                    \
    s ".id, " s ".authority_id, " s ".course_id, " s ".trainer, " s ".capacity, " s ".language,"               \
    " to_char(" s ".on_date, 'YYYY-MM-DD'), " s ".location,"                                                   \
    " (SELECT count(*) FROM completions x WHERE x.session_id = " s ".id), " DB_MICROS(s ".created_at")

static const db_stmt_t stmts[] = {
    {"ses_insert",
     "WITH s AS (INSERT INTO training_sessions (id, authority_id, course_id, trainer, capacity, language, on_date,"
     " location) SELECT $1, k.authority_id, k.id, $3, $4::integer, $5, $6::date, $7 FROM courses k WHERE k.id = $2"
     " RETURNING *)"
     " SELECT " SESSION_COLUMNS("s") ", audit.touch(s.id::text, s.authority_id) FROM s"},
    {"ses_get", "SELECT " SESSION_COLUMNS("s") ", audit.touch(s.id::text, s.authority_id) FROM training_sessions s"
                " WHERE s.id = $1"},
    {"ses_list",
     "SELECT " SESSION_COLUMNS("s") ", audit.listed(s.id::text, $5::integer) FROM training_sessions s"
     " WHERE ($1::uuid IS NULL OR s.course_id = $1)"
     " AND ($2::bigint IS NULL OR (s.created_at, s.id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY s.created_at, s.id LIMIT $4"},
    {"ses_facts",
     "SELECT s.authority_id, s.course_id, s.on_date - date '1970-01-01', to_char(s.on_date, 'YYYY-MM-DD'),"
     " s.capacity, coalesce(k.valid_for_months, 0)"
     " FROM training_sessions s JOIN courses k ON k.id = s.course_id WHERE s.id = $1"},
    {"ses_lock",
     "SELECT (SELECT count(*) FROM completions x WHERE x.session_id = s.id) FROM training_sessions s"
     " WHERE s.id = $1 FOR UPDATE"},
};

const db_stmt_t *sessions_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static TR(Session) *from_row(arena_t *a, const db_result_t *r, int i) {
    TR(Session) *s = arena_alloc(a, sizeof *s);
    if (s == NULL) return NULL;
    parley__training__v1__session__init(s);
    s->id = db_str(a, r, i, 0);
    s->authority_id = db_str(a, r, i, 1);
    s->course_id = db_str(a, r, i, 2);
    s->trainer = db_str(a, r, i, 3);
    s->capacity = (int32_t)db_int(r, i, 4);
    s->language = db_str(a, r, i, 5);
    s->on = db_str(a, r, i, 6);
    s->location = db_str(a, r, i, 7);
    s->attended = (int32_t)db_int(r, i, 8);
    s->created_at = svc_timestamp(a, db_int(r, i, 9));
    return s;
}

int sessions_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(CreateSessionRequest) *in = (const void *)req->input;
    /* A number the codec cannot call missing (0 is a number): checked here. */
    if (in->capacity < 1 || in->capacity > 500) {
        bus_response_violation(res, "capacity", "is required: 1 to 500 seats");
        return -1;
    }
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const char *params[] = {id,           in->course_id, in->trainer, arena_printf(a, "%d", (int)in->capacity),
                            svc_opt(in->language), in->on, svc_opt(in->location)};
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "ses_insert", 7, params, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(r) != 1) {
        db_result_free(&r);
        db_tx_rollback(db);
        bus_response_violation(res, "courseId", "no such course");
        return -1;
    }
    TR(Session) *s = from_row(a, r, 0);
    db_result_free(&r);
    if ((rc = db_tx_commit(db)) != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &s->base;
    return 0;
}

static ProtobufCMessage *parse_one(arena_t *a, db_result_t *const *results) {
    TR(Session) *s = from_row(a, results[0], 0);
    return s ? &s->base : NULL;
}

static const svc_get_t get_session = {"training session", {"ses_get"}, 1, parse_one};

int sessions_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const TR(GetSessionRequest) *in = (const void *)req->input;
    return svc_get_one(((training_t *)ctx)->db, req, res, in->id, &get_session);
}

int sessions_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(ListSessionsRequest) *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    if (!svc_ok(res)) return -1;
    const char *params[] = {svc_opt(in->course_id), page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1), arena_printf(a, "%d", size)};
    db_step_t step = {"ses_list", 5, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    TR(ListSessionsResponse) *out = arena_alloc(a, sizeof *out);
    parley__training__v1__list_sessions_response__init(out);
    int rows = db_rows(step.result);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[out->n_items++] = from_row(a, step.result, (int)i);
    if (rows > size && n > 0)
        out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_steps_free(&step, 1);
    res->reply = &out->base;
    return 0;
}

/* The session's facts, read in a transaction then rolled back: 1, 0 or a DB_ERR_*. */
typedef struct {
    char *authority, *course_id, *on;
    int64_t day;
    int capacity, months;
} session_facts_t;

static int facts(db_t *db, arena_t *a, const bus_request_t *req, const char *id, session_facts_t *f) {
    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    const char *p[] = {id};
    if (rc == 0) rc = db_exec(db, "ses_facts", 1, p, &r);
    db_tx_rollback(db);
    if (rc != 0) return rc;
    int found = db_rows(r) == 1;
    if (found) {
        f->authority = db_str(a, r, 0, 0);
        f->course_id = db_str(a, r, 0, 1);
        f->day = db_int(r, 0, 2);
        f->on = db_str(a, r, 0, 3);
        f->capacity = (int)db_int(r, 0, 4);
        f->months = (int)db_int(r, 0, 5);
    }
    db_result_free(&r);
    return found;
}

/* Whether attendee j names the same person as attendee i. */
static bool same(const TR(Attendee) *x, const TR(Attendee) *y) {
    if (svc_opt(x->supporter_id) && svc_opt(y->supporter_id)) return strcasecmp(x->supporter_id, y->supporter_id) == 0;
    if (svc_opt(x->person_id) && svc_opt(y->person_id)) return strcasecmp(x->person_id, y->person_id) == 0;
    return false;
}

int sessions_attendance(void *ctx, const bus_request_t *req, bus_response_t *res) {
    training_t *t = ctx;
    db_t *db = t->db;
    arena_t *a = res->arena;
    const TR(RecordAttendanceRequest) *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "training session");
    session_facts_t f = {0};
    int rc = facts(db, a, req, in->id, &f);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    if (rc == 0) return svc_not_found(res, "training session");
    if (f.day > training_today()) {
        bus_response_violation(res, "attendees", "the session is on %s: attendance is recorded once it has run", f.on);
        return -1;
    }
    for (size_t i = 0; i < in->n_attendees; i++) {
        const char *field = arena_printf(a, "attendees[%zu]", i);
        for (size_t j = 0; j < i; j++)
            if (same(in->attendees[i], in->attendees[j]))
                bus_response_violation(res, field, "repeats attendees[%zu]", j);
        rc = people_check(t, req, res, field, f.authority, in->attendees[i]);
        if (rc < 0) return -1;
    }
    if (!svc_ok(res)) return -1;

    TR(RecordAttendanceResponse) *out = arena_alloc(a, sizeof *out);
    parley__training__v1__record_attendance_response__init(out);
    out->session_id = arena_strdup(a, in->id);
    out->completions = arena_alloc(a, (in->n_attendees + 1) * sizeof *out->completions);
    db_result_t *r = NULL;
    const char *sp[] = {in->id};
    rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "ses_lock", 1, sp, &r);
    int64_t attended = rc == 0 && db_rows(r) == 1 ? db_int(r, 0, 0) : 0;
    db_result_free(&r);
    if (rc == 0 && attended + (int64_t)in->n_attendees > f.capacity) {
        db_tx_rollback(db);
        bus_response_violation(res, "attendees", "the session has %d seats and %lld attendances recorded", f.capacity,
                               (long long)attended);
        return -1;
    }
    for (size_t i = 0; rc == 0 && i < in->n_attendees; i++) {
        const char *field = arena_printf(a, "attendees[%zu]", i);
        char *person = NULL;
        rc = people_resolve(db, a, res, field, f.authority, in->attendees[i], &person);
        TR(Completion) *c = NULL;
        if (rc == 0)
            c = completions_insert(db, a, req, f.authority, person, f.course_id, f.months, f.on, in->id, NULL, &rc);
        if (rc == 1 && svc_ok(res)) bus_response_violation(res, field, "attended this session already");
        if (rc == 0) rc = standing_refresh(db, a, f.authority, NULL, person, false, NULL);
        if (rc == 0) out->completions[out->n_completions++] = c;
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc == 1) {
        db_tx_rollback(db);
        return -1;
    }
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &out->base;
    return 0;
}
