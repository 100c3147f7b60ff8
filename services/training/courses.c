/* Courses: what an authority trains people in, for whom, at what level, for
 * how many hours, and for how long a completion stays in date. Each course
 * belongs to one authority (migrations/001_training.sql says why); another
 * authority's is not there (404), under row-level security. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ids.h"
#include "services/training/training.h"
#include "svc/page_token.h"
#include "svc/svc.h"

#define AUDIENCE_D (&parley__training__v1__audience__descriptor)
#define DELIVERY_D (&parley__training__v1__delivery__descriptor)
#define COLUMNS                                                                                          \
    "id, authority_id, code, title, audience, topics, level, hours::float8, coalesce(valid_for_months, 0)," \
    " delivery, version, " DB_MICROS("created_at")

static const db_stmt_t stmts[] = {
    {"course_insert",
     "INSERT INTO courses (id, authority_id, code, title, audience, topics, level, hours, valid_for_months, delivery)"
     " VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7::integer, $8::numeric, nullif($9::integer, 0), $10)"
     " ON CONFLICT (authority_id, code) DO NOTHING"
     " RETURNING " COLUMNS ", audit.touch(id::text, authority_id)"},
    {"course_get", "SELECT " COLUMNS ", audit.touch(id::text, authority_id) FROM courses WHERE id = $1"},
    {"course_list",
     "SELECT " COLUMNS ", audit.listed(id::text, $6::integer) FROM courses"
     " WHERE ($1::uuid IS NULL OR authority_id = $1) AND ($2::text IS NULL OR $2 = ANY (audience))"
     " AND ($3::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$3") ", $4::uuid))"
     " ORDER BY created_at, id LIMIT $5"},
};

const db_stmt_t *courses_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int64_t training_today(void) { return expiry_london_day((int64_t)time(NULL)); }

const char *training_authority(const bus_request_t *req, bus_response_t *res, const char *field, const char *named) {
    if (named && *named) return svc_check_authority(req, res, field, named) ? named : NULL;
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (p && p->n_authority_ids == 1) return p->authority_ids[0];
    bus_response_violation(res, field, "is required: this API client serves several authorities");
    return NULL;
}

/* An enum array column ({AUDIENCE_TEACHER,...}) as values, in a. */
static int *enum_array(arena_t *a, const ProtobufCEnumDescriptor *d, const char *text, size_t *n) {
    char **items = NULL;
    int k = db_array_parse(a, text, &items);
    *n = 0;
    int *out = arena_alloc(a, (size_t)(k > 0 ? k : 1) * sizeof *out);
    for (int i = 0; out && i < k; i++) {
        int v = svc_enum_value(d, items[i]);
        if (v > 0) out[(*n)++] = v;
    }
    return out;
}

static TR(Course) *from_row(arena_t *a, const db_result_t *r, int i) {
    TR(Course) *c = arena_alloc(a, sizeof *c);
    if (c == NULL) return NULL;
    parley__training__v1__course__init(c);
    c->id = db_str(a, r, i, 0);
    c->authority_id = db_str(a, r, i, 1);
    c->code = db_str(a, r, i, 2);
    c->title = db_str(a, r, i, 3);
    c->audience = (TR(Audience) *)enum_array(a, AUDIENCE_D, db_text(r, i, 4), &c->n_audience);
    char **topics = NULL;
    int k = db_array_parse(a, db_text(r, i, 5), &topics);
    c->topics = topics;
    c->n_topics = k > 0 ? (size_t)k : 0;
    c->level = (int32_t)db_int(r, i, 6);
    c->hours = strtod(db_text(r, i, 7), NULL);
    c->valid_for_months = (int32_t)db_int(r, i, 8);
    c->delivery = svc_enum_value(DELIVERY_D, db_text(r, i, 9));
    c->version = (int32_t)db_int(r, i, 10);
    c->created_at = svc_timestamp(a, db_int(r, i, 11));
    return c;
}

int courses_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(CreateCourseRequest) *in = (const void *)req->input;
    const char *authority = training_authority(req, res, "authorityId", in->authority_id);
    /* Numbers the codec cannot call missing (0 is a number): checked here. */
    if (in->level < 1 || in->level > 3) bus_response_violation(res, "level", "is required: 1, 2 or 3");
    for (size_t i = 0; i < in->n_audience; i++)
        for (size_t j = 0; j < i; j++)
            if (in->audience[i] == in->audience[j]) {
                bus_response_violation(res, arena_printf(a, "audience[%zu]", i), "repeats audience[%zu]", j);
                break;
            }
    for (size_t i = 0; i < in->n_topics; i++)
        svc_check_required(res, arena_printf(a, "topics[%zu]", i), in->topics[i]);
    if (!svc_ok(res)) return -1;
    char **aud = arena_alloc(a, (in->n_audience + 1) * sizeof *aud);
    for (size_t i = 0; i < in->n_audience; i++) aud[i] = (char *)svc_enum_text(AUDIENCE_D, (int)in->audience[i]);
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const char *params[] = {id,
                            authority,
                            in->code,
                            in->title,
                            db_array_literal(a, aud, in->n_audience),
                            db_array_literal(a, in->topics, in->n_topics),
                            arena_printf(a, "%d", (int)in->level),
                            arena_printf(a, "%.2f", in->hours),
                            arena_printf(a, "%d", (int)in->valid_for_months),
                            svc_enum_text(DELIVERY_D, (int)in->delivery)};
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "course_insert", 10, params, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(r) != 1) {
        db_result_free(&r);
        db_tx_rollback(db);
        bus_response_violation(res, "code", "the authority has a course %s already", in->code);
        return -1;
    }
    TR(Course) *c = from_row(a, r, 0);
    db_result_free(&r);
    if ((rc = db_tx_commit(db)) != 0) return svc_db_fail(res, req, db, rc);
    if (c == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &c->base;
    return 0;
}

static ProtobufCMessage *parse_one(arena_t *a, db_result_t *const *results) {
    TR(Course) *c = from_row(a, results[0], 0);
    return c ? &c->base : NULL;
}

static const svc_get_t get_course = {"course", {"course_get"}, 1, parse_one};

int courses_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const TR(GetCourseRequest) *in = (const void *)req->input;
    return svc_get_one(((training_t *)ctx)->db, req, res, in->id, &get_course);
}

int courses_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(ListCoursesRequest) *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    if (svc_opt(in->authority_id)) svc_check_authority(req, res, "authorityId", in->authority_id);
    if (!svc_ok(res)) return -1;
    const char *params[] = {svc_opt(in->authority_id),
                            in->audience ? svc_enum_text(AUDIENCE_D, (int)in->audience) : NULL,
                            page_cursor_micros(a, &cur),
                            page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1),
                            arena_printf(a, "%d", size)};
    db_step_t step = {"course_list", 6, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    TR(ListCoursesResponse) *out = arena_alloc(a, sizeof *out);
    parley__training__v1__list_courses_response__init(out);
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
