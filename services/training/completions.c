/* Completions: a person completed a course on a day, at a session or
 * elsewhere (with its evidence: a certificate's reference, the provider).
 * A completion may be recorded late or back-dated, never in the future
 * (London's date); its expiry counts from the day it was completed. Each
 * one recomputes the person's standing in the same transaction. */
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "services/training/training.h"
#include "svc/svc.h"

#define CMP_COLUMNS(c, k)                                                                                  \
    c ".id, " c ".authority_id, " c ".person_id, " c ".course_id, to_char(" c ".completed_on, 'YYYY-MM-DD')," \
    " CASE WHEN " k " IS NULL OR " k " = 0 THEN NULL"                                                       \
    "  ELSE to_char(" c ".completed_on + make_interval(months => " k "), 'YYYY-MM-DD') END,"                 \
    " " c ".session_id, " c ".certificate_ref, " c ".provider, " DB_MICROS(c ".recorded_at")

static const db_stmt_t stmts[] = {
    {"cmp_insert",
     "WITH c AS (INSERT INTO completions (id, authority_id, person_id, course_id, completed_on, session_id,"
     " certificate_ref, provider, created_by_client)"
     " VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8, $9) ON CONFLICT (session_id, person_id) DO NOTHING RETURNING *)"
     " SELECT " CMP_COLUMNS("c", "$10::integer") ", audit.touch(c.id::text, c.authority_id) FROM c"},
    {"cmp_get",
     "SELECT " CMP_COLUMNS("c", "k.valid_for_months") ", audit.touch(c.id::text, c.authority_id)"
     " FROM completions c JOIN courses k ON k.id = c.course_id WHERE c.id = $1"},
    {"cmp_course", "SELECT authority_id, coalesce(valid_for_months, 0) FROM courses WHERE id = $1"},
};

const db_stmt_t *completions_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

TR(Completion) *completions_from_row(arena_t *a, const db_result_t *r, int i) {
    TR(Completion) *c = arena_alloc(a, sizeof *c);
    if (c == NULL) return NULL;
    parley__training__v1__completion__init(c);
    c->id = db_str(a, r, i, 0);
    c->authority_id = db_str(a, r, i, 1);
    c->person_id = db_str(a, r, i, 2);
    c->course_id = db_str(a, r, i, 3);
    c->completed_on = db_str(a, r, i, 4);
    c->expires_on = db_str(a, r, i, 5);
    c->session_id = db_str(a, r, i, 6);
    if (!db_is_null(r, i, 7) || !db_is_null(r, i, 8)) {
        TR(Evidence) *e = arena_alloc(a, sizeof *e);
        if (e) {
            parley__training__v1__evidence__init(e);
            e->certificate_ref = db_str(a, r, i, 7);
            e->provider = db_str(a, r, i, 8);
            c->evidence = e;
        }
    }
    c->recorded_at = svc_timestamp(a, db_int(r, i, 9));
    return c;
}

TR(Completion) *completions_insert(db_t *db, arena_t *a, const bus_request_t *req, const char *authority,
                                   const char *person_id, const char *course_id, int valid_months,
                                   const char *completed, const char *session_id, const TR(Evidence) *ev, int *rc) {
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) {
        *rc = DB_ERR_QUERY;
        return NULL;
    }
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *params[] = {id,
                            authority,
                            person_id,
                            course_id,
                            completed,
                            session_id,
                            ev ? svc_opt(ev->certificate_ref) : NULL,
                            ev ? svc_opt(ev->provider) : NULL,
                            p && ids_is_uuid(p->client_id) ? p->client_id : NULL,
                            arena_printf(a, "%d", valid_months)};
    db_result_t *r = NULL;
    *rc = db_exec(db, "cmp_insert", 10, params, &r);
    if (*rc != 0) return NULL;
    TR(Completion) *c = db_rows(r) == 1 ? completions_from_row(a, r, 0) : NULL;
    if (db_rows(r) != 1) *rc = 1;
    else if (c == NULL) *rc = DB_ERR_QUERY;
    db_result_free(&r);
    return c;
}

/* The course's authority and validity, read in a transaction that is then
 * rolled back (a read that costs no commit). 1 found, 0 not, or a DB_ERR_*. */
int training_course_facts(db_t *db, arena_t *a, const bus_request_t *req, const char *course_id, char **authority,
                          int *valid_months) {
    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    const char *p[] = {course_id};
    if (rc == 0) rc = db_exec(db, "cmp_course", 1, p, &r);
    db_tx_rollback(db);
    if (rc != 0) return rc;
    int found = db_rows(r) == 1;
    if (found) {
        *authority = db_str(a, r, 0, 0);
        *valid_months = (int)db_int(r, 0, 1);
    }
    db_result_free(&r);
    return found;
}

int completions_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    training_t *t = ctx;
    db_t *db = t->db;
    arena_t *a = res->arena;
    const TR(CreateCompletionRequest) *in = (const void *)req->input;
    int64_t day;
    if (svc_check_date(res, "completedOn", in->completed_on, true, &day) && day > training_today())
        bus_response_violation(res, "completedOn", "is in the future: a completion is recorded once it happened");
    if (!svc_ok(res)) return -1;
    char *authority = NULL;
    int months = 0;
    int rc = training_course_facts(db, a, req, in->course_id, &authority, &months);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    if (rc == 0) {
        bus_response_violation(res, "courseId", "no such course");
        return -1;
    }
    if (people_check(t, req, res, "person", authority, in->person) != 0) return -1;

    char *person = NULL;
    TR(Completion) *c = NULL;
    rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = people_resolve(db, a, res, "person", authority, in->person, &person);
    if (rc == 0) c = completions_insert(db, a, req, authority, person, in->course_id, months, in->completed_on, NULL,
                                        in->evidence, &rc);
    if (rc == 0) rc = standing_refresh(db, a, authority, NULL, person, false, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc == 1) {
        db_tx_rollback(db);
        return -1;
    }
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &c->base;
    return 0;
}

static ProtobufCMessage *parse_one(arena_t *a, db_result_t *const *results) {
    TR(Completion) *c = completions_from_row(a, results[0], 0);
    return c ? &c->base : NULL;
}

static const svc_get_t get_completion = {"completion", {"cmp_get"}, 1, parse_one};

int completions_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const TR(GetCompletionRequest) *in = (const void *)req->input;
    return svc_get_one(((training_t *)ctx)->db, req, res, in->id, &get_completion);
}
