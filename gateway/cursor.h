/* cursor — page tokens made tamper-proof at the edge. A service's
 * nextPageToken is wrapped as "<mac>.<token>", the MAC binding it to the API
 * client, the route and the list's filters (a digest of the request less
 * its pageToken and pageSize: gateway/dispatch.c); an incoming pageToken is
 * checked and unwrapped before the service sees it. A token forged, altered,
 * copied from another client or reused with other filters is answered 400
 * invalid_page_token on pageToken. */
#ifndef PARLEY_GATEWAY_CURSOR_H
#define PARLEY_GATEWAY_CURSOR_H

#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"

#define CURSOR_FILTERS_LEN 64 /* hex digits of a SHA-256 */

/* The wrapped token for client, route (a path template) and filters (any
 * text; NULL as ""), in arena. */
char *cursor_wrap(arena_t *a, const char *client_id, const char *route, const char *filters, const char *token);

/* The service's token inside wrapped, in arena; NULL when it does not
 * verify for these three. */
char *cursor_unwrap(arena_t *a, const char *client_id, const char *route, const char *filters,
                    const char *wrapped);

/* What a list's page tokens are bound to beyond the client and the route:
 * every field of the request in (its path's ids and its filters) but the
 * page's own, pageToken and pageSize, as the SHA-256 of in packed without
 * them, in hex, into out (in is left as it was). So a token goes on only
 * the listing it was issued for: the same filters, the same order. 0 for a
 * list (a request with a pageToken field), -1 otherwise. */
int cursor_filters(ProtobufCMessage *in, char out[CURSOR_FILTERS_LEN + 1]);

/* The pageToken field of a list request's type, or NULL. */
const ProtobufCFieldDescriptor *cursor_token_field(const ProtobufCMessageDescriptor *d);

#endif
