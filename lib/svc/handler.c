/* What every service's handlers share: optional strings, the NOT_FOUND
 * answer, enum words, existence checks, the get-one-by-id handler and the
 * one-round-trip read. */
#include <ctype.h>
#include <string.h>

#include "core/ids.h"
#include "svc/svc.h"

const char *svc_opt(const char *s) { return (s && *s) ? s : NULL; }

bool svc_ok(const bus_response_t *res) { return res->status.code == PARLEY__COMMON__V1__CODE__CODE_OK; }

int svc_not_found(bus_response_t *res, const char *what) {
    bus_response_problem(res, BUS_PROBLEM_NOT_FOUND, "no such %s", what);
    return -1;
}

const char *svc_enum_word(arena_t *a, const ProtobufCEnumDescriptor *d, int value) {
    const char *name = svc_enum_text(d, value), *zero = svc_enum_text(d, 0);
    if (name == NULL || zero == NULL || strlen(zero) < strlen("UNSPECIFIED")) return NULL;
    size_t prefix = strlen(zero) - strlen("UNSPECIFIED");
    char *w = arena_strdup(a, strlen(name) > prefix ? name + prefix : name);
    for (char *p = w; p && *p; p++) *p = (char)tolower((unsigned char)*p);
    return w;
}

int svc_exists(db_t *db, const char *name, int n, const char *const *params) {
    db_result_t *r = NULL;
    int rc = db_exec(db, name, n, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) > 0;
    db_result_free(&r);
    return rc;
}

int svc_get_one(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, const svc_get_t *get) {
    if (!ids_is_uuid(id)) return svc_not_found(res, get->what);
    const char *params[] = {id};
    db_step_t steps[SVC_GET_MAX];
    size_t n = get->n < SVC_GET_MAX ? get->n : SVC_GET_MAX;
    for (size_t i = 0; i < n; i++) steps[i] = (db_step_t){get->stmts[i], 1, params, NULL};
    if (svc_read(db, req, res, steps, n) != 0) return -1;
    db_result_t *results[SVC_GET_MAX];
    for (size_t i = 0; i < n; i++) results[i] = steps[i].result;
    ProtobufCMessage *m = db_rows(results[0]) > 0 ? get->parse(res->arena, results) : NULL;
    bool found = db_rows(results[0]) > 0;
    db_steps_free(steps, n);
    if (!found) return svc_not_found(res, get->what);
    if (m == NULL) {
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
        return -1;
    }
    res->reply = m;
    return 0;
}

int svc_get_sub(db_t *db, const bus_request_t *req, bus_response_t *res, const char *parent_id, const char *id,
                const svc_get_t *get) {
    if (!ids_is_uuid(parent_id) || !ids_is_uuid(id)) return svc_not_found(res, get->what);
    const char *params[] = {parent_id, id};
    db_step_t step = {get->stmts[0], 2, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    bool found = db_rows(step.result) > 0;
    ProtobufCMessage *m = found ? get->parse(res->arena, &step.result) : NULL;
    db_steps_free(&step, 1);
    if (!found) return svc_not_found(res, get->what);
    if (m == NULL) {
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
        return -1;
    }
    res->reply = m;
    return 0;
}

int svc_read(db_t *db, const bus_request_t *req, bus_response_t *res, db_step_t *steps, size_t n) {
    int rc = db_run(db, req->header->principal, DB_READ, steps, n);
    return rc == 0 ? 0 : svc_db_fail(res, req, db, rc);
}
