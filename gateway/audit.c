#include "gateway/audit.h"

#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "gateway/gateway.h"
#include "parley/admin/v1/admin.pb-c.h"
#include "svc/page_token.h"
#include "svc/svc.h"


static const db_stmt_t stmts[] = {
    {"audit_list",
     "SELECT id, client_id, role, authority_id, action, record_type, record_id, request_id, outcome, " DB_MICROS("at")
     ", client_address, client_request_id, route, record_ids, audit.listed(id::text, $8::int - 1)"
     " FROM audit.events WHERE consortium_id = $1"
     " AND CASE WHEN authority_id IS NOT NULL THEN authority_id = ANY ($9::uuid[])"
     "      ELSE coalesce(client_authority_ids,"
     "                    (SELECT array_agg(a.id) FROM authorities a WHERE a.consortium_id = $1)) <@ $9::uuid[] END"
     " AND ($2::text IS NULL OR record_id = $2) AND ($3::uuid IS NULL OR client_id = $3)"
     " AND ($4::bigint IS NULL OR at >= " DB_FROM_MICROS("$4") ")"
     " AND ($5::bigint IS NULL OR at < " DB_FROM_MICROS("$5") ")"
     " AND ($6::bigint IS NULL OR (at, id) > (" DB_FROM_MICROS("$6") ", $7::uuid))"
     " ORDER BY at, id LIMIT $8"},
};

const db_stmt_t *audit_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* POSTs that only read (the body is a query too rich for a URL): audited
 * as the reads they are, as their services serve them (no commit). */
static bool posts_a_read(const route_t *r) { return strcmp(r->rpc, "ListCandidates") == 0; }

const char *audit_action(const route_match_t *m) {
    const char *method = m->route->http_method;
    if (strcmp(method, "GET") == 0) return m->n_params > 0 ? "read" : "list";
    if (posts_a_read(m->route)) return "read";
    if (strcmp(method, "DELETE") == 0) return "delete";
    if (strcmp(method, "POST") == 0 && m->n_params == 0) return "create";
    return "update";
}

/* "/v1/cases/{id}/timeline" -> "cases": the record type is the collection. */
static char *record_type(arena_t *a, const char *path) {
    const char *s = strncmp(path, "/v1/", 4) == 0 ? path + 4 : path;
    size_t n = strcspn(s, "/");
    return arena_strndup(a, s, n);
}

Parley__Common__V1__Audit *audit_describe(arena_t *a, const audit_entry_t *e) {
    Parley__Common__V1__Audit *d = arena_alloc(a, sizeof *d);
    if (d == NULL) return NULL;
    parley__common__v1__audit__init(d);
    d->action = (char *)audit_action(e->match);
    d->record_type = record_type(a, e->match->route->path);
    if (e->record_id && *e->record_id) d->record_id = arena_strndup(a, e->record_id, strnlen(e->record_id, 100));
    d->outcome = e->outcome;
    if (e->client_address && *e->client_address) d->client_address = arena_strdup(a, e->client_address);
    if (e->client_request_id && *e->client_request_id) d->client_request_id = (char *)e->client_request_id;
    /* What was asked for, refusals included: the route, not the path (the
     * path's id is record_id; the rest of the path is the route's). */
    d->route = arena_printf(a, "%s %s", e->match->route->http_method, e->match->route->path);
    return d;
}

void audit_record(db_t *db, arena_t *a, const audit_entry_t *e) {
    if (e->principal == NULL) return;
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = (char *)e->request_id;
    h.principal = (Parley__Common__V1__Principal *)e->principal;
    h.audit = audit_describe(a, e);
    int rc = h.audit == NULL ? DB_ERR_QUERY : db_audit_write_alone(db, &h, e->authority_id, e->outcome);
    if (rc != 0) log_error(e->request_id, "audit row not written: %s", db_error(db));
}

int audit_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    gw_thread_t *t = ctx;
    arena_t *a = res->arena;
    const Parley__Admin__V1__ListAuditRequest *in = (const Parley__Admin__V1__ListAuditRequest *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    svc_check_uuid(res, "clientId", in->client_id, false);
    svc_check_max_len(res, "recordId", in->record_id, 100);
    if (res->status.code != PARLEY__COMMON__V1__CODE__CODE_OK) return -1;

    const char *params[] = {
        req->header->principal->consortium_id,
        in->record_id && *in->record_id ? in->record_id : NULL,
        in->client_id && *in->client_id ? in->client_id : NULL,
        in->from ? arena_printf(a, "%lld", (long long)in->from->seconds * 1000000 + in->from->nanos / 1000) : NULL,
        in->to ? arena_printf(a, "%lld", (long long)in->to->seconds * 1000000 + in->to->nanos / 1000) : NULL,
        page_cursor_micros(a, &cur),
        page_cursor_id(&cur),
        arena_printf(a, "%d", size + 1),
        db_array_literal(a, req->header->principal->authority_ids, req->header->principal->n_authority_ids)};
    db_step_t step = {"audit_list", 9, params, NULL};
    if (svc_read(t->db, req, res, &step, 1) != 0) return -1;
    db_result_t *r = step.result;
    Parley__Admin__V1__ListAuditResponse *out = arena_alloc(a, sizeof *out);
    parley__admin__v1__list_audit_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        Parley__Admin__V1__AuditEvent *e = arena_alloc(a, sizeof *e);
        parley__admin__v1__audit_event__init(e);
        int row = (int)i;
        e->id = db_str(a, r, row, 0);
        e->client_id = db_str(a, r, row, 1);
        e->role = db_str(a, r, row, 2);
        e->authority_id = db_str(a, r, row, 3);
        e->action = db_str(a, r, row, 4);
        e->record_type = db_str(a, r, row, 5);
        e->record_id = db_str(a, r, row, 6);
        e->request_id = db_str(a, r, row, 7);
        e->outcome = (int32_t)db_int(r, row, 8);
        e->at = svc_timestamp(a, db_int(r, row, 9));
        e->client_address = db_str(a, r, row, 10);
        e->client_request_id = db_str(a, r, row, 11);
        e->route = db_str(a, r, row, 12);
        if (!db_is_null(r, row, 13)) {
            int k = db_array_parse(a, db_text(r, row, 13), &e->record_ids);
            e->n_record_ids = k > 0 ? (size_t)k : 0;
        }
        out->items[out->n_items++] = e;
    }
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
