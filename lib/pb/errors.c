/* errors — the list of field violations a decode collects, in the arena. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "pb/internal.h"
#include "pb/pb.h"

/* A copy of s in the arena with invalid UTF-8 replaced: paths quote the
 * client's map keys and parameter names, and every error must be safe to
 * put in a JSON response. */
static const char *copy_clean(arena_t *arena, const char *s) {
    size_t len = strlen(s);
    if (pb__utf8_valid(s, len)) return arena_strndup(arena, s, len);
    size_t n;
    char *clean = pb__utf8_clean(s, len, &n);
    if (clean == NULL) return NULL;
    char *copy = arena_strndup(arena, clean, n);
    free(clean);
    return copy;
}

void pb_errors_init(pb_errors_t *errs, arena_t *arena) {
    assert(errs != NULL && arena != NULL);
    errs->arena = arena;
    errs->items = NULL;
    errs->count = 0;
    errs->cap = 0;
}

void pb_errors_add(pb_errors_t *errs, const char *field, const char *message) {
    assert(errs != NULL && errs->arena != NULL);
    if (errs->count >= PB_MAX_ERRORS) return;
    if (errs->count == errs->cap) {
        /* Grows by copying: the arena cannot realloc, and the list is short. */
        size_t cap = errs->cap == 0 ? 4 : errs->cap * 2;
        if (cap > PB_MAX_ERRORS) cap = PB_MAX_ERRORS;
        pb_error_t *items = arena_alloc(errs->arena, cap * sizeof *items);
        if (items == NULL) return;
        if (errs->count > 0) memcpy(items, errs->items, errs->count * sizeof *items);
        errs->items = items;
        errs->cap = cap;
    }
    const char *f = copy_clean(errs->arena, field != NULL ? field : "");
    const char *m = copy_clean(errs->arena, message != NULL ? message : "invalid");
    if (f == NULL || m == NULL) return;
    errs->items[errs->count].field = f;
    errs->items[errs->count].message = m;
    errs->count++;
}
