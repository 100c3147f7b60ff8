/* A young person's own views and wishes (their own voice in their case, as
 * views.c records a child's): how they were sought, what they said and
 * wished for, and who recorded it. A young person's case shows whether
 * (and when) they were recorded: cases.c reads young_person_views. Staff
 * only: a partner agency never sees them (gateway/routes.c). */
#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__YoungPersonView view_t;

#define VIEW_COLUMNS                                                                                      \
    "id, young_person_id, authority_id, to_char(recorded_on, 'YYYY-MM-DD'), method, summary, wishes, recorded_by," \
    " " DB_MICROS("created_at") ""

static const db_stmt_t stmts[] = {
    {"ypv_person",
     "SELECT authority_id, (date_of_birth - date '1970-01-01'), audit.touch(id::text, authority_id) FROM young_people"
     " WHERE id = $1 AND authority_id = ANY (current_authorities())"},
    {"ypv_insert",
     "INSERT INTO young_person_views (id, authority_id, young_person_id, recorded_on, method, summary, wishes, recorded_by,"
     " created_by_client) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    {"ypv_get", "SELECT " VIEW_COLUMNS " FROM young_person_views WHERE id = $1"},
    /* A change to the young person's cases for a sync, not a new version
     * (as views.c does for a child's). */
    {"ypv_cases_changed", "UPDATE cases SET updated_at = now() WHERE young_person_id = $1"},
    {"ypv_get_of",
     "SELECT " VIEW_COLUMNS ", audit.touch(id::text, authority_id) FROM young_person_views"
     " WHERE young_person_id = $1 AND id = $2 AND authority_id = ANY (current_authorities())"},
    {"ypv_list",
     "SELECT " VIEW_COLUMNS ", audit.listed(id::text, $4::int - 1) FROM young_person_views"
     " WHERE young_person_id = $1 AND authority_id = ANY (current_authorities())"
     " AND ($2::bigint IS NULL OR (created_at, id) >"
     "      (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY created_at, id LIMIT $4"},
};

const db_stmt_t *young_person_views_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

view_t *young_person_views_from_row(arena_t *a, const db_result_t *r, int i) {
    view_t *v = arena_alloc(a, sizeof *v);
    parley__intake__v1__young_person_view__init(v);
    v->id = db_str(a, r, i, 0);
    v->young_person_id = db_str(a, r, i, 1);
    v->authority_id = db_str(a, r, i, 2);
    v->recorded_on = db_str(a, r, i, 3);
    v->method = svc_enum_value(&parley__intake__v1__view_method__descriptor, db_text(r, i, 4));
    v->summary = db_str(a, r, i, 5);
    v->wishes = db_str(a, r, i, 6);
    v->recorded_by = db_str(a, r, i, 7);
    v->created_at = svc_timestamp(a, db_int(r, i, 8));
    return v;
}

int young_person_views_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__CreateYoungPersonViewRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "young person");
    int64_t on;
    intake_check_past_date(res, "recordedOn", in->recorded_on, &on);
    if (in->method == 0) bus_response_violation(res, "method", "is required");
    svc_check_required(res, "summary", in->summary);
    svc_check_max_len(res, "summary", in->summary, 8000);
    svc_check_max_len(res, "wishes", in->wishes, 8000);
    svc_check_required(res, "recordedBy", in->recorded_by);
    svc_check_max_len(res, "recordedBy", in->recorded_by, 200);
    if (!svc_ok(res)) return -1;

    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *find[] = {in->id};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "ypv_person", 1, find, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(r) == 0) {
        db_result_free(&r);
        db_tx_rollback(db);
        return svc_not_found(res, "young person");
    }
    char *authority = db_str(a, r, 0, 0);
    int64_t born = db_int(r, 0, 1);
    db_result_free(&r);
    if (on < born) {
        db_tx_rollback(db);
        bus_response_violation(res, "recordedOn", "is before the young person's date of birth");
        return -1;
    }
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *params[] = {id, authority, in->id, in->recorded_on,
                            svc_enum_text(&parley__intake__v1__view_method__descriptor, in->method), in->summary,
                            svc_opt(in->wishes), in->recorded_by,
                            (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL};
    rc = db_exec(db, "ypv_insert", 9, params, NULL);
    if (rc == 0) rc = db_exec(db, "ypv_cases_changed", 1, find, NULL);
    view_t *v = NULL;
    if (rc == 0) {
        const char *get[] = {id};
        rc = db_exec(db, "ypv_get", 1, get, &r);
        if (rc == 0 && db_rows(r) == 1) v = young_person_views_from_row(a, r, 0);
        else if (rc == 0) rc = DB_ERR_QUERY;
        db_result_free(&r);
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &v->base;
    return 0;
}

static ProtobufCMessage *parse_view(arena_t *a, db_result_t *const *results) {
    return &young_person_views_from_row(a, results[0], 0)->base;
}

static const svc_get_t get_view = {"view", {"ypv_get_of"}, 1, parse_view};

/* GET /v1/young-people/{id}/views/{viewId}: the Location of the 201. */
int young_person_views_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetYoungPersonViewRequest *in = (const void *)req->input;
    return svc_get_sub(((intake_t *)ctx)->db, req, res, in->id, in->view_id, &get_view);
}

int young_person_views_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListYoungPersonViewsRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "young person");
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    if (!svc_ok(res)) return -1;

    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *find[] = {in->id};
    int found = svc_exists(db, "ypv_person", 1, find);
    if (found < 0) return svc_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "young person");
    }
    const char *params[] = {in->id, page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1)};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "ypv_list", 4, params, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if ((rc = db_tx_commit_read(db)) != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    Parley__Intake__V1__ListYoungPersonViewsResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_young_person_views_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[i] = young_person_views_from_row(a, r, (int)i);
    out->n_items = n;
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
