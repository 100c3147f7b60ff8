/* The information library: neutral leaflets on rights, roles,
 * responsibilities, procedures and options, by topic, language and
 * accessible format, each with a date by which it must be reviewed.
 *
 * Scope: a resource belongs to the caller's consortium (the law and the SEN
 * procedures are the same in every authority it serves); one may be limited
 * to some of the consortium's authorities (local information). Translations
 * and formats of one leaflet share its key. Asked for a language, the list
 * gives each leaflet once per format: in that language, else its primary
 * subtag ("pt" for "pt-BR"), else English, and says when it fell back.
 * Lists give active resources unless asked for status=retired; a retired
 * one is read by id and never due for review (resource_update.c changes,
 * reviews and retires them). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "services/intake/review.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Resource resource_t;
typedef Parley__Intake__V1__CreateResourceRequest create_resource_t;

#define RESOURCE_COLUMNS                                                                                    \
    "id, key, title, topic, language, format, url, body, to_char(review_due_on, 'YYYY-MM-DD'), authority_ids," \
    " summary, version, " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ", status,"                  \
    " to_char(reviewed_on, 'YYYY-MM-DD'), review_interval_months, " DB_MICROS("retired_at")
#define KEYSET(n, m)                                                                                       \
    " AND ($" #n "::bigint IS NULL OR (created_at, id) >"                                                  \
    " ('epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond', $" #m "::uuid))"
#define PRIMARY(x) "lower(split_part(" x ", '-', 1))"

static const db_stmt_t stmts[] = {
    {"resource_scope", "SELECT set_config('parley.consortium_id', $1, true)"},
    {"resource_insert",
     "INSERT INTO resources (id, consortium_id, authority_ids, key, title, topic, language, format, url, body,"
     " summary, review_due_on, created_by_client, review_interval_months)"
     " VALUES ($1, current_consortium(), $2::uuid[], $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"},
    /* A resource is the consortium's: its audit rows name no authority. */
    {"resource_get", "SELECT " RESOURCE_COLUMNS ", false, audit.touch(id::text, NULL) FROM resources WHERE id = $1"},
    {"resource_lock",
     "SELECT " RESOURCE_COLUMNS ", false, audit.touch(id::text, NULL) FROM resources WHERE id = $1 FOR UPDATE"},
    {"resource_list",
     "SELECT " RESOURCE_COLUMNS ", rank = 2 FROM ("
     " SELECT DISTINCT ON (key, format, CASE WHEN $3::text IS NULL THEN lower(language) END) r.*,"
     "  CASE WHEN $3::text IS NULL OR lower(language) = lower($3) THEN 0"
     "       WHEN " PRIMARY("language") " = " PRIMARY("$3") " THEN 1 ELSE 2 END AS rank"
     " FROM resources r"
     " WHERE ($1::text IS NULL OR topic = $1) AND ($2::text IS NULL OR format = $2)"
     " AND status = coalesce($4::text, 'LISTING_STATUS_ACTIVE')"
     " AND ($3::text IS NULL OR " PRIMARY("language") " IN (" PRIMARY("$3") ", 'en'))"
     " ORDER BY key, format, CASE WHEN $3::text IS NULL THEN lower(language) END, rank, created_at) x"
     " WHERE true" KEYSET(5, 6) " ORDER BY created_at, id LIMIT $7"},
    {"resource_list_due",
     "SELECT " RESOURCE_COLUMNS ", false FROM resources"
     " WHERE review_due_on <= (now() AT TIME ZONE 'Europe/London')::date AND status = 'LISTING_STATUS_ACTIVE'"
     KEYSET(1, 2)
     " ORDER BY created_at, id LIMIT $3"},
};

const db_stmt_t *resources_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int resources_begin(db_t *db, const bus_request_t *req) {
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return rc;
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *params[] = {(p && ids_is_uuid(p->consortium_id)) ? p->consortium_id : ""};
    rc = db_exec(db, "resource_scope", 1, params, NULL);
    if (rc != 0) db_tx_rollback(db);
    return rc;
}

static bool is_key(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 100 || !isalnum((unsigned char)s[0])) return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-')) return false;
    return true;
}

static bool is_url(const char *s) {
    if (strncasecmp(s, "https://", 8) != 0 && strncasecmp(s, "http://", 7) != 0) return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ') return false;
    return strlen(s) <= 2000 && strlen(s) > 8;
}

void resources_check(const bus_request_t *req, bus_response_t *res, const create_resource_t *in) {
    if (svc_check_required(res, "key", in->key) && !is_key(in->key))
        bus_response_violation(res, "key", "must be 1-100 lowercase letters, digits and hyphens");
    svc_check_required(res, "title", in->title);
    svc_check_max_len(res, "title", in->title, 300);
    if (in->topic == 0) bus_response_violation(res, "topic", "is required");
    if (svc_check_required(res, "language", in->language)) svc_check_language(res, "language", in->language);
    if (in->format == 0) bus_response_violation(res, "format", "is required");
    if (svc_opt(in->url) == NULL && svc_opt(in->body) == NULL)
        bus_response_violation(res, "url", "a url or a body is required");
    if (svc_opt(in->url) && !is_url(in->url)) bus_response_violation(res, "url", "must be an http(s) URL");
    svc_check_max_len(res, "body", in->body, 100000);
    svc_check_max_len(res, "summary", in->summary, 2000);
    svc_check_date(res, "reviewDueOn", in->review_due_on, true, NULL);
    if (in->n_authority_ids > 50) bus_response_violation(res, "authorityIds", "at most 50");
    for (size_t i = 0; i < in->n_authority_ids && i < 50; i++)
        svc_check_authority(req, res, arena_printf(res->arena, "authorityIds[%zu]", i), in->authority_ids[i]);
    svc_check_distinct(res, "authorityIds", in->authority_ids, in->n_authority_ids, 50);
    if (in->review_interval_months != 0 && !review_interval_is_valid(in->review_interval_months))
        bus_response_violation(res, "reviewIntervalMonths", "must be 1 to %d months", REVIEW_MAX_MONTHS);
}

resource_t *resources_from_row(arena_t *a, const db_result_t *r, int i) {
    resource_t *x = arena_alloc(a, sizeof *x);
    parley__intake__v1__resource__init(x);
    x->id = db_str(a, r, i, 0);
    x->key = db_str(a, r, i, 1);
    x->title = db_str(a, r, i, 2);
    x->topic = svc_enum_value(&parley__intake__v1__resource_topic__descriptor, db_text(r, i, 3));
    x->language = db_str(a, r, i, 4);
    x->format = svc_enum_value(&parley__intake__v1__resource_format__descriptor, db_text(r, i, 5));
    x->url = db_str(a, r, i, 6);
    x->body = db_str(a, r, i, 7);
    x->review_due_on = db_str(a, r, i, 8);
    int n = db_array_parse(a, db_text(r, i, 9), &x->authority_ids);
    x->n_authority_ids = n > 0 ? (size_t)n : 0;
    x->summary = db_str(a, r, i, 10);
    x->version = (int32_t)db_int(r, i, 11);
    x->created_at = svc_timestamp(a, db_int(r, i, 12));
    x->updated_at = svc_timestamp(a, db_int(r, i, 13));
    x->status = svc_enum_value(&parley__intake__v1__listing_status__descriptor, db_text(r, i, 14));
    x->reviewed_on = db_str(a, r, i, 15);
    x->review_interval_months = (int32_t)db_int(r, i, 16);
    if (!db_is_null(r, i, 17)) x->retired_at = svc_timestamp(a, db_int(r, i, 17));
    x->language_fallback = db_bool(r, i, 18);
    return x;
}

int resources_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const create_resource_t *in = (const void *)req->input;
    resources_check(req, res, in);
    if (!svc_ok(res)) return -1;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return -1;
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *params[] = {id, db_array_literal(a, in->authority_ids, in->n_authority_ids), in->key, in->title,
                            svc_enum_text(&parley__intake__v1__resource_topic__descriptor, in->topic), in->language,
                            svc_enum_text(&parley__intake__v1__resource_format__descriptor, in->format),
                            svc_opt(in->url), svc_opt(in->body), svc_opt(in->summary), in->review_due_on,
                            (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL,
                            arena_printf(a, "%d", review_interval(in->review_interval_months))};
    int rc = resources_begin(db, req);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    rc = db_exec(db, "resource_insert", 13, params, NULL);
    if (rc == DB_ERR_QUERY && strcmp(db_sqlstate(db), DB_SQLSTATE_UNIQUE) == 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_DUPLICATE_RESOURCE, NULL);
        return -1;
    }
    db_result_t *r = NULL;
    const char *get[] = {id};
    resource_t *x = NULL;
    if (rc == 0 && (rc = db_exec(db, "resource_get", 1, get, &r)) == 0) {
        if (db_rows(r) == 1) x = resources_from_row(a, r, 0);
        else rc = DB_ERR_QUERY;
        db_result_free(&r);
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

int resources_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    const Parley__Intake__V1__GetResourceRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "resource");
    int rc = resources_begin(db, req);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *params[] = {in->id};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "resource_get", 1, params, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if ((rc = db_tx_commit_read(db)) != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    resource_t *x = db_rows(r) == 1 ? resources_from_row(res->arena, r, 0) : NULL;
    db_result_free(&r);
    if (x == NULL) return svc_not_found(res, "resource");
    res->reply = &x->base;
    return 0;
}

/* Runs a list statement whose last three parameters are the keyset and
 * limit, and answers the page. */
static int list(db_t *db, const bus_request_t *req, bus_response_t *res, const char *stmt, int n_filters,
                const char **filters, int32_t page_size, const char *page_token) {
    arena_t *a = res->arena;
    int size;
    page_cursor_t cur;
    page_args(res, page_size, page_token, &size, &cur);
    if (!svc_ok(res)) return -1;
    const char *params[8];
    for (int i = 0; i < n_filters; i++) params[i] = filters[i];
    params[n_filters] = page_cursor_micros(a, &cur);
    params[n_filters + 1] = page_cursor_id(&cur);
    params[n_filters + 2] = arena_printf(a, "%d", size + 1);
    int rc = resources_begin(db, req);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    db_result_t *r = NULL;
    if ((rc = db_exec(db, stmt, n_filters + 3, params, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if ((rc = db_tx_commit_read(db)) != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    Parley__Intake__V1__ListResourcesResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_resources_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        out->items[i] = resources_from_row(a, r, (int)i);
        if (out->items[i]->language_fallback) out->fallback_language = "en";
    }
    out->n_items = n;
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}

int resources_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__ListResourcesRequest *in = (const void *)req->input;
    svc_check_language(res, "language", in->language);
    const char *filters[] = {
        in->topic ? svc_enum_text(&parley__intake__v1__resource_topic__descriptor, in->topic) : NULL,
        in->format ? svc_enum_text(&parley__intake__v1__resource_format__descriptor, in->format) : NULL,
        svc_opt(in->language),
        in->status ? svc_enum_text(&parley__intake__v1__listing_status__descriptor, in->status) : NULL};
    return list(((intake_t *)ctx)->db, req, res, "resource_list", 4, filters, in->page_size, in->page_token);
}

int resources_list_due(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__ListResourcesDueRequest *in = (const void *)req->input;
    return list(((intake_t *)ctx)->db, req, res, "resource_list_due", 0, NULL, in->page_size, in->page_token);
}
