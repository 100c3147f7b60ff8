/* Referrals: what a partner agency sees of the cases it referred — status,
 * stage and dates, and only for cases its own API client opened; once the
 * family withdraws consent to share, only that and the dates as they were
 * then (REFERRER_COLUMNS, intake.h). The child's views, needs, the family
 * and the case's notes never leave intake on this path: the statements do
 * not even read them. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/page_token.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Referral referral_t;

/* A status filter never finds a case whose consent is withdrawn: that
 * would tell its status. */
#define REFERRAL_STATUS " AND ($2::text IS NULL OR (status = $2 AND NOT " REFERRER_WITHDRAWN "))"

static const db_stmt_t stmts[] = {
    {"referral_get",
     "SELECT " REFERRER_COLUMNS ", audit.touch(id::text, authority_id) FROM cases WHERE id = $1 AND created_by_client = $2"
     " AND authority_id = ANY (current_authorities())"},
    /* Opened order ($6: an externalReference); with updatedSince ($7) the
     * order changed as the referrer sees it, for a partner's sync. Each row
     * returned is named in the request's audit row (audit.listed). */
    {"referral_list",
     "SELECT " REFERRER_COLUMNS ", audit.listed(id::text, $5::int - 1) FROM cases WHERE created_by_client = $1"
     " AND authority_id = ANY (current_authorities())" REFERRAL_STATUS
     " AND ($3::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$3") ", $4::uuid))"
     " AND ($6::text IS NULL OR external_reference = $6)"
     " ORDER BY created_at, id LIMIT $5"},
    {"referral_list_changed",
     "SELECT " REFERRER_COLUMNS ", audit.listed(id::text, $5::int - 1) FROM cases WHERE created_by_client = $1"
     " AND authority_id = ANY (current_authorities())" REFERRAL_STATUS
     " AND ($3::bigint IS NULL OR (" REFERRER_UPDATED ", id) > (" DB_FROM_MICROS("$3") ", $4::uuid))"
     " AND ($6::text IS NULL OR external_reference = $6)"
     " AND " REFERRER_UPDATED " >= " DB_FROM_MICROS("$7") " ORDER BY " REFERRER_UPDATED ", id LIMIT $5"},
};

const db_stmt_t *referrals_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static referral_t *referral_from_row(arena_t *a, const db_result_t *r, int i) {
    referral_t *x = arena_alloc(a, sizeof *x);
    parley__intake__v1__referral__init(x);
    x->id = db_str(a, r, i, 0);
    x->authority_id = db_str(a, r, i, 1);
    x->status = svc_enum_value(&parley__intake__v1__case_status__descriptor, db_text(r, i, 2));
    x->stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, i, 3));
    x->created_at = svc_timestamp(a, db_int(r, i, 4));
    x->updated_at = svc_timestamp(a, db_int(r, i, 5));
    if (!db_is_null(r, i, 6)) x->closed_at = svc_timestamp(a, db_int(r, i, 6));
    x->external_reference = db_str(a, r, i, 7);
    x->consent_withdrawn = db_bool(r, i, 8);
    return x;
}

/* The caller's client id: referrals are always the caller's own. */
static const char *caller(const bus_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    return (p != NULL && ids_is_uuid(p->client_id)) ? p->client_id : NULL;
}

int referrals_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    const Parley__Intake__V1__GetReferralRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id) || caller(req) == NULL) return svc_not_found(res, "referral");
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *p[] = {in->id, caller(req)};
    db_result_t *r = NULL;
    rc = db_exec(db, "referral_get", 2, p, &r);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    if (db_rows(r) == 0) {
        db_result_free(&r);
        return svc_not_found(res, "referral");
    }
    res->reply = &referral_from_row(res->arena, r, 0)->base;
    db_result_free(&r);
    return 0;
}

int referrals_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListReferralsRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    intake_check_reference(res, "externalReference", in->external_reference);
    if (!svc_ok(res)) return -1;
    Parley__Intake__V1__ListReferralsResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_referrals_response__init(out);
    if (caller(req) == NULL) {
        res->reply = &out->base;
        return 0;
    }
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *p[] = {caller(req), in->status ? svc_enum_text(&parley__intake__v1__case_status__descriptor, in->status) : NULL,
                       page_cursor_micros(a, &cur), page_cursor_id(&cur), arena_printf(a, "%d", size + 1),
                       svc_opt(in->external_reference), intake_micros(a, in->updated_since)};
    bool changed = in->updated_since != NULL;
    db_result_t *r = NULL;
    rc = db_exec(db, changed ? "referral_list_changed" : "referral_list", changed ? 7 : 6, p, &r);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[out->n_items++] = referral_from_row(a, r, (int)i);
    if (rows > size) {
        const referral_t *last = out->items[n - 1];
        out->next_page_token = page_token_after(a, changed ? last->updated_at : last->created_at, last->id);
    }
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
