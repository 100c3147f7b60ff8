/* Reports for the consortium and the standards review: who is out of date
 * or lapsing in an authority (compliance), and what was delivered to whom
 * (people trained and hours, by audience, organisation or course). */
#include <stdlib.h>
#include <string.h>

#include "services/training/training.h"
#include "svc/svc.h"

#define AUDIENCE_D (&parley__training__v1__audience__descriptor)

#define DELIVERED_FROM                                                                                  \
    " FROM completions c JOIN courses k ON k.id = c.course_id JOIN people p ON p.id = c.person_id"       \
    " WHERE c.authority_id = $1 AND ($2::date IS NULL OR c.completed_on >= $2::date)"                    \
    " AND ($3::date IS NULL OR c.completed_on <= $3::date)"

static const db_stmt_t stmts[] = {
    /* The people a compliance report names, for its audit row (at most the
     * first 200: audit.listed's bound). */
    {"rep_listed", "SELECT count(audit.listed(x, 200)) FROM unnest($1::text[]) AS x"},
    {"rep_delivered",
     "SELECT g.key, g.label, count(DISTINCT g.person_id), count(*), coalesce(sum(g.hours), 0)::float8 FROM ("
     " SELECT CASE $4::text"
     "  WHEN 'GROUP_BY_AUDIENCE' THEN lower(regexp_replace(p.role, '^AUDIENCE_', ''))"
     "  WHEN 'GROUP_BY_ORGANISATION' THEN coalesce('urn:' || p.organisation_urn,"
     "   'authority:' || p.organisation_authority_id::text, 'supporters')"
     "  ELSE k.id::text END AS key,"
     " CASE WHEN $4::text IN ('GROUP_BY_AUDIENCE', 'GROUP_BY_ORGANISATION') THEN NULL ELSE k.code END AS label,"
     " c.person_id, k.hours" DELIVERED_FROM ") g GROUP BY g.key, g.label ORDER BY g.key LIMIT 5000"},
    {"rep_delivered_total",
     "SELECT count(DISTINCT c.person_id), count(*), coalesce(sum(k.hours), 0)::float8" DELIVERED_FROM},
};

const db_stmt_t *reports_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static int worse(const void *x, const void *y) {
    static const int rank[] = {0, 0, 2, 1, 3};
    const TR(PersonTraining) *a = *(TR(PersonTraining) *const *)x, *b = *(TR(PersonTraining) *const *)y;
    int d = rank[b->status] - rank[a->status];
    return d ? d : strcmp(a->person_id, b->person_id);
}

int reports_compliance(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(ComplianceRequest) *in = (const void *)req->input;
    const char *authority = training_authority(req, res, "authorityId", in->authority_id);
    if (authority == NULL) return -1;
    int64_t today = training_today();
    standing_t *list = NULL;
    size_t n = 0;
    const char *role = in->role ? svc_enum_text(AUDIENCE_D, (int)in->role) : NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = standing_compute(db, a, authority, role, NULL, today, &list, &n);
    if (rc == 0) {
        /* The audit row names the people the report lists (not the compliant). */
        char **ids = arena_alloc(a, (n + 1) * sizeof *ids);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (list[i].overall != EXPIRY_COMPLIANT && k < 200) ids[k++] = list[i].person_id;
        const char *params[] = {db_array_literal(a, ids, k)};
        db_result_t *r = NULL;
        rc = db_exec(db, "rep_listed", 1, params, &r);
        db_result_free(&r);
    }
    if (rc == 0) db_audit_object(db, NULL, authority);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    TR(ComplianceResponse) *out = arena_alloc(a, sizeof *out);
    parley__training__v1__compliance_response__init(out);
    out->authority_id = (char *)authority;
    out->as_of = arena_alloc(a, 11);
    expiry_format(today, out->as_of);
    out->people = (int32_t)n;
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        if (list[i].overall == EXPIRY_COMPLIANT) {
            out->compliant++;
            continue;
        }
        if (out->n_items < 5000) out->items[out->n_items++] = standing_message(a, &list[i], today);
    }
    qsort(out->items, out->n_items, sizeof *out->items, worse);
    res->reply = &out->base;
    return 0;
}

int reports_delivered(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(DeliveredRequest) *in = (const void *)req->input;
    const char *authority = training_authority(req, res, "authorityId", in->authority_id);
    int64_t from = 0, to = 0;
    bool has_from = svc_opt(in->from) && svc_check_date(res, "from", in->from, false, &from);
    bool has_to = svc_opt(in->to) && svc_check_date(res, "to", in->to, false, &to);
    if (has_from && has_to && to < from) bus_response_violation(res, "to", "is before from");
    if (!svc_ok(res)) return -1;
    int group = in->group_by ? (int)in->group_by : PARLEY__TRAINING__V1__GROUP_BY__GROUP_BY_COURSE;
    const char *params[] = {authority, svc_opt(in->from), svc_opt(in->to),
                            svc_enum_text(&parley__training__v1__group_by__descriptor, group)};
    db_step_t steps[] = {{"rep_delivered", 4, params, NULL}, {"rep_delivered_total", 3, params, NULL}};
    db_audit_object(db, NULL, authority);
    if (svc_read(db, req, res, steps, 2) != 0) return -1;
    TR(DeliveredResponse) *out = arena_alloc(a, sizeof *out);
    parley__training__v1__delivered_response__init(out);
    out->authority_id = (char *)authority;
    out->group_by = group;
    int rows = db_rows(steps[0].result);
    out->groups = arena_alloc(a, ((size_t)rows + 1) * sizeof *out->groups);
    for (int i = 0; i < rows; i++) {
        TR(DeliveredGroup) *g = arena_alloc(a, sizeof *g);
        parley__training__v1__delivered_group__init(g);
        g->key = db_str(a, steps[0].result, i, 0);
        g->label = db_str(a, steps[0].result, i, 1);
        g->people_trained = (int32_t)db_int(steps[0].result, i, 2);
        g->completions = (int32_t)db_int(steps[0].result, i, 3);
        g->hours_delivered = strtod(db_text(steps[0].result, i, 4), NULL);
        out->groups[out->n_groups++] = g;
    }
    if (db_rows(steps[1].result) == 1) {
        out->people_trained = (int32_t)db_int(steps[1].result, 0, 0);
        out->completions = (int32_t)db_int(steps[1].result, 0, 1);
        out->hours_delivered = strtod(db_text(steps[1].result, 0, 2), NULL);
    }
    db_steps_free(steps, 2);
    res->reply = &out->base;
    return 0;
}
