/* What every intake handler shares: optional strings, existence checks,
 * past dates, enum words, the common errors. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "services/intake/intake.h"
#include "svc/svc.h"

const char *intake_opt(const char *s) { return (s && *s) ? s : NULL; }

int intake_exists(db_t *db, const char *name, int n, const char *const *params) {
    db_result_t *r = NULL;
    int rc = db_exec(db, name, n, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) > 0;
    db_result_free(&r);
    return rc;
}

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

const char *intake_enum_word(arena_t *a, const ProtobufCEnumDescriptor *d, int value) {
    const char *name = svc_enum_text(d, value), *zero = svc_enum_text(d, 0);
    if (name == NULL || zero == NULL || strlen(zero) < strlen("UNSPECIFIED")) return NULL;
    size_t prefix = strlen(zero) - strlen("UNSPECIFIED");
    char *w = arena_strdup(a, strlen(name) > prefix ? name + prefix : name);
    for (char *p = w; p && *p; p++) *p = (char)tolower((unsigned char)*p);
    return w;
}

bool intake_ok(const bus_response_t *res) { return res->status.code == PARLEY__COMMON__V1__CODE__CODE_OK; }

int intake_not_found(bus_response_t *res, const char *what) {
    bus_response_error(res, PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND, "no such %s", what);
    return -1;
}
