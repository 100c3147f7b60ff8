/* problems — the kinds of RFC 9457 problem the gateway answers with, each
 * with the sentence that explains it. The `type` of a problem is
 * "/docs/problems#<slug>", the slug made from the status's reason phrase
 * ("Not Found" -> "not-found"); /docs/problems and the OpenAPI document's
 * error responses are both written from this table. */
#ifndef PARLEY_GATEWAY_PROBLEMS_H
#define PARLEY_GATEWAY_PROBLEMS_H

#include <stddef.h>

#include "core/arena.h"

typedef struct {
    int status;
    const char *when; /* when Parley answers with it, in a sentence or two */
} problem_kind_t;

/* The table, in status order, and its length. Static storage. */
const problem_kind_t *problems_table(size_t *n);

/* The kind for status, or NULL when the gateway never answers with it. */
const problem_kind_t *problems_find(int status);

/* /docs/problems: a section for every status a kind or a cause has, in
 * order (one no kind explains is explained by its generic cause), and
 * under each the causes of that status (bus/problems.h: `code`, each with
 * an anchor of its word), as an HTML page in arena; *len its length. NULL
 * when it does not fit or out of memory. */
char *problems_html(arena_t *a, size_t *len);

/* The slug of status's reason phrase into buf (cap bytes); returns buf. */
const char *problems_slug(int status, char *buf, size_t cap);

#endif
