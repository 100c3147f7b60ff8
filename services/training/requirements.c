/* Requirements: which courses a role needs in an authority, and how often
 * each must be renewed (the requirement's everyMonths, else the course's
 * own validity). PUT replaces them whole (with If-Match that version of
 * ones that exist, 412 when stale and 404 when there are none; without it
 * whatever is there, or makes them; GET's answer goes back as it is); GET
 * of a role the authority has set nothing for is 404. PUT recomputes the standing of every person
 * of the role in the same transaction, so a course newly required shows as
 * missing at once and matching hears of it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "pb/pb.h"
#include "services/training/training.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

#define AUDIENCE_D (&parley__training__v1__audience__descriptor)
#define COLUMNS "role, authority_id, courses::text, version, " DB_MICROS("updated_at")

static const db_stmt_t stmts[] = {
    /* $1 NULL: the caller's authorities that have set the role's. */
    {"req_get", "SELECT " COLUMNS ", audit.touch(role, authority_id) FROM requirements"
                " WHERE ($1::uuid IS NULL OR authority_id = $1) AND role = $2 ORDER BY authority_id LIMIT 2"},
    {"req_lock", "SELECT " COLUMNS " FROM requirements WHERE authority_id = $1 AND role = $2 FOR UPDATE"},
    {"req_courses", "SELECT id FROM courses WHERE authority_id = $1 AND id = ANY ($2::uuid[])"},
    {"req_upsert",
     "INSERT INTO requirements (authority_id, role, courses) VALUES ($1, $2, $3::jsonb)"
     " ON CONFLICT (authority_id, role) DO UPDATE SET courses = excluded.courses,"
     " version = requirements.version + 1, updated_at = now()"
     " RETURNING " COLUMNS ", audit.touch(role, authority_id)"},
    {"req_people", "SELECT id FROM people WHERE authority_id = $1 AND role = $2 ORDER BY id FOR UPDATE"},
};

const db_stmt_t *requirements_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static TR(Requirements) *from_row(arena_t *a, const db_result_t *r, int i) {
    TR(Requirements) *q = arena_alloc(a, sizeof *q);
    if (q == NULL) return NULL;
    parley__training__v1__requirements__init(q);
    q->role = (char *)training_role_word(a, svc_enum_value(AUDIENCE_D, db_text(r, i, 0)));
    q->authority_id = db_str(a, r, i, 1);
    const char *text = db_text(r, i, 2);
    json_t *arr = pb_json_loadb(text, strlen(text), 0, NULL);
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    q->courses = arena_alloc(a, (n + 1) * sizeof *q->courses);
    for (size_t k = 0; q->courses && k < n; k++) {
        json_t *o = json_array_get(arr, k);
        TR(RequiredCourse) *c = arena_alloc(a, sizeof *c);
        if (c == NULL) break;
        parley__training__v1__required_course__init(c);
        c->course_id = arena_strdup(a, json_string_value(json_object_get(o, "courseId")));
        c->every_months = (int32_t)json_integer_value(json_object_get(o, "everyMonths"));
        q->courses[q->n_courses++] = c;
    }
    json_decref(arr);
    q->version = (int32_t)db_int(r, i, 3);
    q->updated_at = svc_timestamp(a, db_int(r, i, 4));
    return q;
}

/* The role's stored text (AUDIENCE_TEACHER) from the path's word, or NULL. */
static const char *role_text(const char *word) {
    int role = training_role_of_word(word);
    return role ? svc_enum_text(AUDIENCE_D, role) : NULL;
}

static TR(Requirements) *empty(arena_t *a, const char *role, const char *authority) {
    TR(Requirements) *q = arena_alloc(a, sizeof *q);
    if (q == NULL) return NULL;
    parley__training__v1__requirements__init(q);
    q->role = (char *)training_role_word(a, training_role_of_word(role));
    q->authority_id = (char *)authority;
    return q;
}

int requirements_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(GetRequirementsRequest) *in = (const void *)req->input;
    const char *role = role_text(in->role);
    if (role == NULL) return svc_not_found(res, "role");
    if (svc_opt(in->authority_id) && !svc_check_authority(req, res, "authorityId", in->authority_id)) return -1;
    const char *p[] = {svc_opt(in->authority_id), role};
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "req_get", 2, p, &r);
    if (rc == 0 && db_rows(r) != 1) {
        bool several = db_rows(r) > 1;
        db_result_free(&r);
        db_tx_rollback(db);
        if (!several) return svc_not_found(res, "requirements for this role");
        bus_response_violation(res, "authorityId", "is required: several of this API client's authorities set them");
        return -1;
    }
    TR(Requirements) *q = rc == 0 ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (q == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &q->base;
    return 0;
}

/* The courses as stored, [{courseId, everyMonths}], in a. */
static char *courses_json(arena_t *a, const TR(PutRequirementsRequest) *in) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < in->n_courses; i++)
        json_array_append_new(arr, json_pack("{s:s, s:i}", "courseId", in->courses[i]->course_id, "everyMonths",
                                             (int)in->courses[i]->every_months));
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    char *copy = text ? arena_strdup(a, text) : NULL;
    free(text);
    return copy;
}

/* Every course named is the authority's: violations on the others. 0 or a DB_ERR_*. */
static int check_courses(db_t *db, arena_t *a, bus_response_t *res, const char *authority,
                         const TR(PutRequirementsRequest) *in) {
    char **ids = arena_alloc(a, (in->n_courses + 1) * sizeof *ids);
    for (size_t i = 0; i < in->n_courses; i++) ids[i] = in->courses[i]->course_id;
    const char *p[] = {authority, db_array_literal(a, ids, in->n_courses)};
    db_result_t *r = NULL;
    int rc = db_exec(db, "req_courses", 2, p, &r);
    if (rc != 0) return rc;
    for (size_t i = 0; i < in->n_courses; i++) {
        bool found = false;
        for (int k = 0; k < db_rows(r) && !found; k++) found = strcasecmp(db_text(r, k, 0), ids[i]) == 0;
        if (!found)
            bus_response_violation(res, arena_printf(a, "courses[%zu].courseId", i), "no such course in authority %s",
                                   authority);
    }
    db_result_free(&r);
    return 0;
}

int requirements_put(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(PutRequirementsRequest) *in = (const void *)req->input;
    const char *role = role_text(in->role);
    if (role == NULL) return svc_not_found(res, "role");
    /* Which authority: named, else (with If-Match, changing what exists)
     * the one of the caller's that set the role's, else the caller's only one. */
    const char *authority = NULL;
    if (!svc_opt(in->authority_id) && svc_if_match(a, req) != NULL) {
        const char *fp[] = {NULL, role};
        db_result_t *fr = NULL;
        int frc = db_tx_begin(db, req->header->principal);
        if (frc == 0) frc = db_exec(db, "req_get", 2, fp, &fr);
        db_tx_rollback(db);
        if (frc != 0) return svc_db_fail(res, req, db, frc);
        int rows = db_rows(fr);
        if (rows == 1) authority = db_str(a, fr, 0, 1);
        db_result_free(&fr);
        if (rows == 0) return svc_not_found(res, "requirements for this role");
        if (rows > 1) bus_response_violation(res, "authorityId", "is required: several of this API client's authorities set them");
    } else {
        authority = training_authority(req, res, "authorityId", in->authority_id);
    }
    for (size_t i = 0; i < in->n_courses; i++)
        for (size_t j = 0; j < i; j++)
            if (in->courses[i]->course_id && in->courses[j]->course_id &&
                strcasecmp(in->courses[i]->course_id, in->courses[j]->course_id) == 0) {
                bus_response_violation(res, arena_printf(a, "courses[%zu].courseId", i), "repeats courses[%zu]", j);
                break;
            }
    char *courses = svc_ok(res) ? courses_json(a, in) : NULL;
    if (!svc_ok(res)) return -1;
    if (courses == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);

    const char *p[] = {authority, role, courses};
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "req_lock", 2, p, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    bool exists = db_rows(r) == 1;
    TR(Requirements) *was = exists ? from_row(a, r, 0) : empty(a, in->role, authority);
    db_result_free(&r);
    if (!exists && svc_if_match(a, req) != NULL) {
        /* If-Match names a version of requirements that are not there. */
        db_tx_rollback(db);
        return svc_not_found(res, "requirements for this role");
    }
    if (!svc_if_match_allows(a, req, was->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION, "the requirements have changed (version %d); read them again",
                             (int)was->version);
        return -1;
    }
    if (svc_check_read_only(req, res, &was->base, NULL) != 0 || (rc = check_courses(db, a, res, authority, in)) != 0 ||
        !svc_ok(res)) {
        db_tx_rollback(db);
        return rc != 0 ? svc_db_fail(res, req, db, rc) : -1;
    }
    rc = db_exec(db, "req_upsert", 3, p, &r);
    TR(Requirements) *q = rc == 0 && db_rows(r) == 1 ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    /* Everyone of the role is locked, then their standings recomputed. */
    if (rc == 0) rc = db_exec(db, "req_people", 2, p, NULL);
    if (rc == 0) rc = standing_refresh(db, a, authority, role, NULL, false, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (q == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &q->base;
    return 0;
}
