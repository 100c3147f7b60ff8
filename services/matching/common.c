/* What every matching handler shares beyond lib/svc: the db-failure
 * statuses of its own races, the principal's ids and roles, If-Match. */
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/precondition.h"
#include "svc/svc.h"

matching_config_t matching_config = {
    .offer_ttl_s = 72 * 3600, .sweep_ms = 2000, .batch = 100, .intake_timeout_ms = 1500,
};

int matching_db_fail(bus_response_t *res, const bus_request_t *req, db_t *db, int rc) {
    const char *state = db_sqlstate(db);
    /* Deadlocks and lock timeouts are ABORTED in svc_db_fail. A CHECK that
     * only a race can break (never over capacity) is matching's own. */
    if (rc == DB_ERR_QUERY && strcmp(state, DB_SQLSTATE_CHECK) == 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_CAPACITY_FULL, NULL);
        return -1;
    }
    return svc_db_fail(res, req, db, rc);
}

const char *matching_client_id(const bus_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    return (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL;
}

const char *matching_consortium_id(const bus_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    return (p && ids_is_uuid(p->consortium_id)) ? p->consortium_id : NULL;
}

bool matching_has_role(const bus_request_t *req, const char *role) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    for (size_t i = 0; p && i < p->n_roles; i++)
        if (strcmp(p->roles[i], role) == 0) return true;
    return false;
}

bool matching_acts_for(const bus_request_t *req, const char **supporter) {
    *supporter = NULL;
    if (matching_has_role(req, "consortium_admin") || matching_has_role(req, "caseworker")) return true;
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (p == NULL || !ids_is_uuid(p->supporter_id)) return false;
    *supporter = p->supporter_id;
    return true;
}

int64_t matching_micros(const Google__Protobuf__Timestamp *t) {
    return t ? (int64_t)t->seconds * 1000000 + t->nanos / 1000 : 0;
}

bool matching_if_match(arena_t *a, const bus_request_t *req, int version) { return svc_if_match_allows(a, req, version); }

void matching_register_statements(db_t *db) {
    const db_stmt_set_t sets[] = {
        supporters_statements, supporter_update_statements, profiles_statements, pool_statements,
        weights_statements,    requests_statements,         offering_statements, offers_statements,
        assignments_statements, demand_statements,          events_statements,   sweeper_statements,
        pool_cache_statements,
        /* contacts, for notify */
        contacts_statements,
    };
    db_register_sets(db, sets, sizeof sets / sizeof sets[0]);
}
