/* page_token — the opaque nextPageToken of a keyset-paged list: the sort
 * key (created_at in microseconds, id) of the last item returned, base64url.
 * A token only moves a cursor within what the caller may already see (row
 * security bounds every list), so it needs no secrecy; issue 3 will sign it. */
#ifndef PARLEY_SVC_PAGE_TOKEN_H
#define PARLEY_SVC_PAGE_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"

typedef struct {
    bool valid;
    int64_t micros;
    char id[37];
} page_cursor_t;

/* The token for cur, in arena (NULL when out of memory). */
char *page_token_encode(arena_t *a, const page_cursor_t *cur);

/* Parses a token. Returns 0 and fills cur, or -1 when it is not one. */
int page_token_decode(const char *token, page_cursor_t *cur);

#endif
