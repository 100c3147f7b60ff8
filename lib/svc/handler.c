/* What every service's handlers share: optional strings, the NOT_FOUND
 * answer, enum words, existence checks and the get-one-by-id handler. */
#include <ctype.h>
#include <string.h>

#include "core/ids.h"
#include "svc/svc.h"

const char *svc_opt(const char *s) { return (s && *s) ? s : NULL; }

bool svc_ok(const bus_response_t *res) { return res->status.code == PARLEY__COMMON__V1__CODE__CODE_OK; }

int svc_not_found(bus_response_t *res, const char *what) {
    bus_response_error(res, PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND, "no such %s", what);
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

int svc_get_one(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, const char *what,
                svc_load_fn load) {
    if (!ids_is_uuid(id)) return svc_not_found(res, what);
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    ProtobufCMessage *m = NULL;
    rc = load(db, res->arena, id, &m);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    db_tx_rollback(db); /* read-only: nothing to commit */
    if (rc == 0) return svc_not_found(res, what);
    res->reply = m;
    return 0;
}
