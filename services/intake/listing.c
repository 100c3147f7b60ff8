/* What intake's handlers share beyond lib/svc: the past-date check, client
 * references, who a partner agency is, timestamps as parameters. */
#include <string.h>

#include "core/ids.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

bool intake_check_past_date(bus_response_t *res, const char *field, const char *value, int64_t *days) {
    int64_t d;
    if (!svc_check_date(res, field, value, true, &d)) return false;
    /* Tomorrow, not today: the caller's day may be ahead of UTC. */
    if (d > svc_today_days() + 1) {
        bus_response_violation(res, field, "is in the future");
        return false;
    }
    if (days) *days = d;
    return true;
}

bool intake_check_reference(bus_response_t *res, const char *field, const char *value) {
    if (value == NULL || *value == '\0') return true;
    if (!svc_check_max_len(res, field, value, 100)) return false;
    /* A reference is something a person reads back and a program compares:
     * no control characters, no space at either end. */
    size_t n = strlen(value);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
            bus_response_violation(res, field, "may not hold control characters");
            return false;
        }
    if (value[0] == ' ' || value[n - 1] == ' ') {
        bus_response_violation(res, field, "may not start or end with a space");
        return false;
    }
    return true;
}

bool intake_is_duplicate_reference(db_t *db, int rc, const char *index) {
    return rc == DB_ERR_QUERY && strcmp(db_sqlstate(db), DB_SQLSTATE_UNIQUE) == 0 &&
           strcmp(db_error_constraint(db), index) == 0;
}

int intake_duplicate_reference(db_t *db, const bus_request_t *req, bus_response_t *res, const char *stmt,
                               const char *reference, const char *what) {
    /* Which one: read in a transaction that is rolled back, so that no row
     * of this request commits (the gateway records the 409). */
    char *existing = NULL;
    const char *params[] = {reference};
    db_result_t *r = NULL;
    if (db_tx_begin(db, req->header->principal) == 0 && db_exec(db, stmt, 1, params, &r) == 0 && db_rows(r) > 0)
        existing = db_str(res->arena, r, 0, 0);
    db_result_free(&r);
    db_tx_rollback(db);
    if (existing != NULL)
        bus_response_problem(res, BUS_PROBLEM_DUPLICATE_REFERENCE,
                             "this API client already has a %s with this externalReference: %s", what, existing);
    else
        bus_response_problem(res, BUS_PROBLEM_DUPLICATE_REFERENCE,
                             "this API client already has a %s with this externalReference", what);
    return -1;
}

static bool has_role(const Parley__Common__V1__Principal *p, const char *role) {
    for (size_t i = 0; p != NULL && i < p->n_roles; i++)
        if (strcmp(p->roles[i], role) == 0) return true;
    return false;
}

const char *intake_partner_client(const bus_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (!has_role(p, "partner_agency") || has_role(p, "consortium_admin") || has_role(p, "caseworker")) return NULL;
    return ids_is_uuid(p->client_id) ? p->client_id : "00000000-0000-0000-0000-000000000000";
}

const char *intake_micros(arena_t *a, const Google__Protobuf__Timestamp *t) {
    if (t == NULL) return NULL;
    return arena_printf(a, "%lld", (long long)t->seconds * 1000000 + t->nanos / 1000);
}
