/* page_token — the opaque nextPageToken of a keyset-paged list: the sort
 * key (created_at in microseconds, id) of the last item returned, base64url.
 * A token only moves a cursor within what the caller may already see (row
 * security bounds every list), so it needs no secrecy; issue 3 will sign it. */
#ifndef PARLEY_SVC_PAGE_TOKEN_H
#define PARLEY_SVC_PAGE_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "core/arena.h"
#include "google/protobuf/timestamp.pb-c.h"

typedef struct {
    bool valid;
    int64_t micros;
    char id[37];
} page_cursor_t;

/* The token for cur, in arena (NULL when out of memory). */
char *page_token_encode(arena_t *a, const page_cursor_t *cur);

/* Parses a token. Returns 0 and fills cur, or -1 when it is not one. */
int page_token_decode(const char *token, page_cursor_t *cur);

/* A list request's pageSize (0 means the default, 50; at most 200) and
 * pageToken: sets *size and *cur, or adds violations on pageSize/pageToken to
 * res. Returns true when both are good. */
bool page_args(bus_response_t *res, int32_t page_size, const char *page_token, int *size, page_cursor_t *cur);

/* The cursor's bounds as statement parameters: microseconds and id, or NULL
 * for both when there is no cursor (the first page). */
const char *page_cursor_micros(arena_t *a, const page_cursor_t *cur);
const char *page_cursor_id(const page_cursor_t *cur);

/* The token for the page after the item with this sort key, in arena. */
char *page_token_after(arena_t *a, const Google__Protobuf__Timestamp *at, const char *id);

#endif
