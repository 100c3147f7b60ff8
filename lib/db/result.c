/* Results and values: text in, typed values out. */
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"

struct db_result {
    PGresult *r;
};

db_result_t *db_result__wrap(PGresult *r) {
    db_result_t *res = malloc(sizeof *res);
    if (res != NULL) res->r = r;
    return res;
}

void db_result_free(db_result_t **r) {
    if (r == NULL || *r == NULL) return;
    PQclear((*r)->r);
    free(*r);
    *r = NULL;
}

int db_rows(const db_result_t *r) { return PQntuples(r->r); }

bool db_is_null(const db_result_t *r, int row, int col) { return PQgetisnull(r->r, row, col) != 0; }

const char *db_text(const db_result_t *r, int row, int col) { return PQgetvalue(r->r, row, col); }

char *db_str(arena_t *a, const db_result_t *r, int row, int col) {
    if (db_is_null(r, row, col)) return NULL;
    return arena_strndup(a, PQgetvalue(r->r, row, col), (size_t)PQgetlength(r->r, row, col));
}

int64_t db_int(const db_result_t *r, int row, int col) {
    return db_is_null(r, row, col) ? 0 : strtoll(PQgetvalue(r->r, row, col), NULL, 10);
}

bool db_bool(const db_result_t *r, int row, int col) {
    return !db_is_null(r, row, col) && PQgetvalue(r->r, row, col)[0] == 't';
}

char *db_array_literal(arena_t *a, char *const *items, size_t n) {
    size_t cap = 3;
    for (size_t i = 0; i < n; i++) cap += 3 + 2 * strlen(items[i]);
    char *s = arena_alloc(a, cap);
    if (s == NULL) return NULL;
    size_t k = 0;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) s[k++] = ',';
        s[k++] = '"';
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\') s[k++] = '\\';
            s[k++] = *p;
        }
        s[k++] = '"';
    }
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

int db_array_parse(arena_t *a, const char *lit, char ***items) {
    *items = NULL;
    size_t len = strlen(lit);
    if (len < 2 || lit[0] != '{' || lit[len - 1] != '}') return -1;
    /* At most one item per comma plus one. */
    size_t max = 1;
    for (size_t i = 0; i < len; i++) max += lit[i] == ',';
    char **out = arena_alloc(a, max * sizeof *out);
    char *buf = arena_alloc(a, len + 1);
    if (out == NULL || buf == NULL) return -1;
    int n = 0;
    const char *p = lit + 1, *end = lit + len - 1;
    while (p < end) {
        char *start = buf;
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end) p++;
                *buf++ = *p;
            }
            if (p >= end) return -1;
            p++;
        } else {
            while (p < end && *p != ',') *buf++ = *p++;
        }
        *buf++ = '\0';
        out[n++] = start;
        if (p < end && *p == ',') p++;
    }
    *items = out;
    return n;
}

int db_affected(const db_result_t *r) {
    if (PQntuples(r->r) > 0) return PQntuples(r->r);
    return atoi(PQcmdTuples(r->r));
}
