/* Where people stand: for each person, each course their role requires in
 * their authority, its latest completion and validity (the requirement's
 * own renewal period, else the course's), put through expiry.c; and, when
 * that changes, the change stored and announced (training.status_changed,
 * with the person's standing version so a consumer can tell an older event
 * from a newer one). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "services/training/training.h"
#include "svc/svc.h"

#define STANDING_D (&parley__training__v1__standing__descriptor)
#define AUDIENCE_D (&parley__training__v1__audience__descriptor)
#define MAX_REQUIRED 50

static const db_stmt_t stmts[] = {
    /* One row per person and required course (one with NULL course for a
     * person whose role requires none), people in id order. */
    {"st_compute",
     "WITH req AS MATERIALIZED (SELECT q.authority_id, q.role, k.id AS course_id, k.code, e.ord,"
     "   coalesce(nullif((e.v->>'everyMonths')::integer, 0), k.valid_for_months, 0) AS months"
     "  FROM requirements q CROSS JOIN LATERAL jsonb_array_elements(q.courses) WITH ORDINALITY AS e(v, ord)"
     "  JOIN courses k ON k.id = (e.v->>'courseId')::uuid"
     "  WHERE ($1::uuid IS NULL OR q.authority_id = $1) AND ($2::text IS NULL OR q.role = $2))"
     " SELECT p.id, p.supporter_id, p.authority_id, p.name, p.organisation_urn, p.organisation_authority_id, p.role,"
     " p.standing, p.standing_version, r.course_id, r.code, r.months,"
     " (SELECT max(x.completed_on) - date '1970-01-01' FROM completions x"
     "   WHERE x.person_id = p.id AND x.course_id = r.course_id)"
     " FROM people p LEFT JOIN req r ON r.authority_id = p.authority_id AND r.role = p.role"
     " WHERE ($1::uuid IS NULL OR p.authority_id = $1) AND ($2::text IS NULL OR p.role = $2)"
     " AND ($3::uuid IS NULL OR p.id = $3)"
     " ORDER BY p.id, r.ord"},
    {"st_store",
     "UPDATE people SET standing = $2, standing_version = standing_version + 1, updated_at = now()"
     " WHERE id = $1 AND standing <> $2 RETURNING standing_version"},
    {"st_expiring",
     "INSERT INTO expiring_notices (person_id, course_id, expires_on, authority_id)"
     " VALUES ($1, $2, date '1970-01-01' + $3::integer, $4) ON CONFLICT DO NOTHING RETURNING 1"},
};

const db_stmt_t *standing_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

Parley__Training__V1__Standing standing_proto(expiry_state_t s) { return (Parley__Training__V1__Standing)s; }

static char *day_text(arena_t *a, int64_t day) {
    char *s = arena_alloc(a, 11);
    if (s) expiry_format(day, s);
    return s;
}

int standing_compute(db_t *db, arena_t *a, const char *authority, const char *role, const char *person_id,
                     int64_t today, standing_t **out, size_t *n) {
    const char *params[] = {authority, role, person_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "st_compute", 3, params, &r);
    if (rc != 0) return rc;
    int rows = db_rows(r);
    standing_t *list = arena_alloc(a, ((size_t)rows + 1) * sizeof *list);
    expiry_state_t *states = arena_alloc(a, (MAX_REQUIRED + 1) * sizeof *states);
    size_t count = 0;
    if (list == NULL || states == NULL) {
        db_result_free(&r);
        return DB_ERR_QUERY;
    }
    for (int i = 0; i < rows;) {
        standing_t *s = &list[count++];
        memset(s, 0, sizeof *s);
        s->person_id = db_str(a, r, i, 0);
        s->supporter_id = db_str(a, r, i, 1);
        s->authority_id = db_str(a, r, i, 2);
        s->name = db_str(a, r, i, 3);
        s->urn = db_str(a, r, i, 4);
        s->org_authority = db_str(a, r, i, 5);
        s->role = db_str(a, r, i, 6);
        s->stored = (expiry_state_t)svc_enum_value(STANDING_D, db_text(r, i, 7));
        s->version = (int)db_int(r, i, 8);
        int first = i;
        while (i < rows && strcmp(db_text(r, i, 0), s->person_id) == 0) i++;
        s->courses = arena_alloc(a, ((size_t)(i - first) + 1) * sizeof *s->courses);
        for (int k = first; k < i && s->courses; k++) {
            if (db_is_null(r, k, 9) || s->n >= MAX_REQUIRED) continue;
            TR(CourseStanding) *c = arena_alloc(a, sizeof *c);
            if (c == NULL) break;
            parley__training__v1__course_standing__init(c);
            c->course_id = db_str(a, r, k, 9);
            c->code = db_str(a, r, k, 10);
            bool done = !db_is_null(r, k, 12), expires = false;
            int64_t latest = done ? db_int(r, k, 12) : 0, until = 0;
            expiry_state_t st = expiry_state(done, latest, (int)db_int(r, k, 11), today,
                                             training_config.expiry_window_days, &expires, &until);
            c->status = standing_proto(st);
            if (done) c->completed_on = day_text(a, latest);
            if (expires) c->expires_on = day_text(a, until);
            states[s->n] = st;
            s->courses[s->n++] = c;
        }
        s->overall = expiry_overall(states, s->n);
    }
    db_result_free(&r);
    *out = list;
    *n = count;
    return 0;
}

TR(PersonTraining) *standing_message(arena_t *a, const standing_t *s, int64_t today) {
    TR(PersonTraining) *p = arena_alloc(a, sizeof *p);
    if (p == NULL) return NULL;
    parley__training__v1__person_training__init(p);
    p->person_id = s->person_id;
    p->authority_id = s->authority_id;
    p->supporter_id = s->supporter_id;
    p->name = s->name;
    if (s->urn || s->org_authority) {
        TR(Organisation) *o = arena_alloc(a, sizeof *o);
        if (o) {
            parley__training__v1__organisation__init(o);
            o->urn = s->urn;
            o->authority_id = s->org_authority;
            p->organisation = o;
        }
    }
    p->role = svc_enum_value(AUDIENCE_D, s->role);
    p->status = standing_proto(s->overall);
    p->as_of = day_text(a, today);
    p->courses = s->courses;
    p->n_courses = s->n;
    return p;
}

static const char *word(arena_t *a, expiry_state_t st) {
    const char *w = svc_enum_word(a, STANDING_D, (int)st);
    return w ? w : "unknown"; /* never computed before */
}

/* The event's data: who, the standing and its version, course by course. */
static json_t *status_data(arena_t *a, const standing_t *s, int version, int64_t today) {
    json_t *courses = json_array();
    for (size_t i = 0; courses && i < s->n; i++) {
        const TR(CourseStanding) *c = s->courses[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "courseId", c->course_id, "code", c->code ? c->code : "", "status",
                              word(a, (expiry_state_t)c->status));
        if (o && c->completed_on) json_object_set_new(o, "completedOn", json_string(c->completed_on));
        if (o && c->expires_on) json_object_set_new(o, "expiresOn", json_string(c->expires_on));
        if (o) json_array_append_new(courses, o);
    }
    char asof[11];
    expiry_format(today, asof);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o}", "personId", s->person_id, "authorityId",
                          s->authority_id, "role", training_role_word(a, svc_enum_value(AUDIENCE_D, s->role)),
                          "status", word(a, s->overall), "previousStatus", word(a, s->stored), "version", version,
                          "asOf", asof, "courses", courses ? courses : json_array());
    if (d && s->supporter_id) json_object_set_new(d, "supporterId", json_string(s->supporter_id));
    return d;
}

static int expiring(db_t *db, arena_t *a, const standing_t *s, int64_t today) {
    for (size_t i = 0; i < s->n; i++) {
        const TR(CourseStanding) *c = s->courses[i];
        int64_t until;
        if (c->status != PARLEY__TRAINING__V1__STANDING__STANDING_EXPIRING || c->expires_on == NULL ||
            !svc_parse_date(c->expires_on, &until))
            continue;
        const char *p[] = {s->person_id, c->course_id, arena_printf(a, "%lld", (long long)until), s->authority_id};
        db_result_t *r = NULL;
        int rc = db_exec(db, "st_expiring", 4, p, &r);
        bool fresh = rc == 0 && db_rows(r) == 1;
        db_result_free(&r);
        if (rc != 0) return rc;
        if (!fresh) continue;
        json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "personId", s->person_id, "authorityId",
                              s->authority_id, "courseId", c->course_id, "code", c->code ? c->code : "", "expiresOn",
                              c->expires_on, "daysLeft", (json_int_t)(until - today));
        if (d && s->supporter_id) json_object_set_new(d, "supporterId", json_string(s->supporter_id));
        if ((rc = events_emit(db, "training.expiring", s->authority_id, s->person_id, d)) != 0) return rc;
    }
    return 0;
}

int standing_refresh(db_t *db, arena_t *a, const char *authority, const char *role, const char *person_id,
                     bool with_expiring, int *changed) {
    int64_t today = training_today();
    standing_t *list = NULL;
    size_t n = 0;
    int rc = standing_compute(db, a, authority, role, person_id, today, &list, &n);
    if (changed) *changed = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        standing_t *s = &list[i];
        if (with_expiring && (rc = expiring(db, a, s, today)) != 0) break;
        if (s->overall == s->stored) continue;
        const char *p[] = {s->person_id, svc_enum_text(STANDING_D, (int)s->overall)};
        db_result_t *r = NULL;
        rc = db_exec(db, "st_store", 2, p, &r);
        int version = rc == 0 && db_rows(r) == 1 ? (int)db_int(r, 0, 0) : 0;
        db_result_free(&r);
        if (rc != 0 || version == 0) continue; /* stored by another already */
        rc = events_emit(db, "training.status_changed", s->authority_id, s->person_id,
                         status_data(a, s, version, today));
        if (rc == 0 && changed) (*changed)++;
    }
    return rc;
}
