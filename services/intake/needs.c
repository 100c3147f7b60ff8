/* Needs as intake holds them (a child's, an agency's): DfE types of SEN with
 * the detail in words, stored as two text[] columns of the same length
 * (migrations/014_needs_vocabulary.sql); and a parent's language when it is
 * not known. Contract in intake.h. */
#include <string.h>
#include <strings.h>

#include "parley/common/v1/needs.pb-c.h"
#include "services/intake/intake.h"
#include "svc/sen_type.h"
#include "svc/svc.h"

typedef Parley__Common__V1__Need need_t;
#define SEN_D (&parley__common__v1__sen_type__descriptor)

void intake_check_needs(bus_response_t *res, const char *field, need_t *const *needs, size_t n, size_t max) {
    if (n > max) {
        bus_response_violation(res, field, "at most %zu needs", max);
        return;
    }
    for (size_t k = 0; k < n; k++)
        if (needs[k] == NULL || (needs[k]->type == 0 && svc_opt(needs[k]->detail) == NULL))
            bus_response_violation(res, arena_printf(res->arena, "%s[%zu].type", field, k), "is required");
}

int intake_need_type(const need_t *need) {
    if (need->type != 0) return (int)need->type;
    return (int)sen_type_of_text(need->detail);
}

int intake_needs_literals(arena_t *a, need_t *const *needs, size_t n, const char **types, const char **details) {
    char **t = arena_alloc(a, (n + 1) * sizeof *t), **d = arena_alloc(a, (n + 1) * sizeof *d);
    if (t == NULL || d == NULL) return -1;
    for (size_t k = 0; k < n; k++) {
        t[k] = (char *)svc_enum_text(SEN_D, intake_need_type(needs[k]));
        d[k] = (char *)(needs[k]->detail ? needs[k]->detail : "");
        if (t[k] == NULL) return -1;
    }
    *types = db_array_literal(a, t, n);
    *details = db_array_literal(a, d, n);
    return *types != NULL && *details != NULL ? 0 : -1;
}

need_t **intake_needs_from_row(arena_t *a, const db_result_t *r, int i, int types_col, int details_col, size_t *n) {
    char **types = NULL, **details = NULL;
    int nt = db_array_parse(a, db_text(r, i, types_col), &types);
    int nd = db_array_parse(a, db_text(r, i, details_col), &details);
    *n = 0;
    need_t **out = arena_alloc(a, (size_t)(nt > 0 ? nt : 1) * sizeof *out);
    if (out == NULL) return NULL;
    for (int k = 0; k < nt; k++) {
        need_t *need = arena_alloc(a, sizeof *need);
        if (need == NULL) return out;
        parley__common__v1__need__init(need);
        need->type = (Parley__Common__V1__SenType)svc_enum_value(SEN_D, types[k]);
        /* A value that is no type's name is read as words, never dropped. */
        if (need->type == 0) need->type = sen_type_of_text(types[k]);
        need->detail = k < nd && details[k][0] ? details[k] : NULL;
        out[(*n)++] = need;
    }
    return out;
}

const char *intake_language_or_null(const char *tag) {
    if (tag == NULL || *tag == '\0' || strcasecmp(tag, INTAKE_LANGUAGE_UNKNOWN) == 0) return NULL;
    return tag;
}
