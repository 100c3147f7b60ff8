/* Database failures and tenancy checks. */
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "core/log.h"
#include "svc/svc.h"

int svc_db_fail(bus_response_t *res, const bus_request_t *req, db_t *db, int rc) {
    const char *rid = req->header->request_id;
    db_tx_rollback(db);
    if (rc == DB_ERR_UNAVAILABLE) {
        bus_response_problem(res, BUS_PROBLEM_UNAVAILABLE, "the database is unavailable");
        res->status.retry_after_seconds = 1;
    } else if (strcmp(db_sqlstate(db), DB_SQLSTATE_SERIALIZATION) == 0 ||
               strcmp(db_sqlstate(db), DB_SQLSTATE_DEADLOCK) == 0 ||
               strcmp(db_sqlstate(db), DB_SQLSTATE_LOCK_TIMEOUT) == 0) {
        /* Lost a race with another transaction: nothing was changed, and the
         * same request may well succeed when tried again. */
        bus_response_problem(res, BUS_PROBLEM_CONCURRENT_CHANGE, NULL);
    } else if (strcmp(db_sqlstate(db), DB_SQLSTATE_VIOLATION) == 0 && *db_error_field(db) != '\0') {
        /* The statement checked what the request names (svc_violation()). */
        bus_response_violation(res, db_error_field(db), "%s", db_error_message(db));
    } else {
        log_error(rid, "database error %s: %s", db_sqlstate(db), db_error(db));
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
    }
    return -1;
}

bool svc_has_authority(const bus_request_t *req, const char *authority_id) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (p == NULL || authority_id == NULL) return false;
    for (size_t i = 0; i < p->n_authority_ids; i++)
        if (strcasecmp(p->authority_ids[i], authority_id) == 0) return true;
    return false;
}

bool svc_check_authority(const bus_request_t *req, bus_response_t *res, const char *field, const char *value) {
    if (!svc_check_uuid(res, field, value, true)) return false;
    if (svc_has_authority(req, value)) return true;
    bus_response_violation(res, field, "not an authority this API client serves");
    return false;
}

const char *svc_enum_text(const ProtobufCEnumDescriptor *d, int value) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : NULL;
}

int svc_enum_value(const ProtobufCEnumDescriptor *d, const char *text) {
    const ProtobufCEnumValue *v = text ? protobuf_c_enum_descriptor_get_value_by_name(d, text) : NULL;
    return v ? v->value : 0;
}

Google__Protobuf__Timestamp *svc_timestamp(arena_t *a, int64_t micros) {
    Google__Protobuf__Timestamp *t = arena_alloc(a, sizeof *t);
    if (t == NULL) return NULL;
    google__protobuf__timestamp__init(t);
    int64_t s = micros / 1000000, us = micros % 1000000;
    if (us < 0) {
        us += 1000000;
        s -= 1;
    }
    t->seconds = s;
    t->nanos = (int32_t)(us * 1000);
    return t;
}
