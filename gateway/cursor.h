/* cursor — page tokens made tamper-proof at the edge. A service's
 * nextPageToken is wrapped as "<mac>.<token>", the MAC binding it to the API
 * client and the route; an incoming pageToken is checked and unwrapped
 * before the service sees it. A token forged, altered or copied from another
 * client is answered 400 on pageToken. */
#ifndef PARLEY_GATEWAY_CURSOR_H
#define PARLEY_GATEWAY_CURSOR_H

#include "core/arena.h"

/* The wrapped token for client and route (a path template), in arena. */
char *cursor_wrap(arena_t *a, const char *client_id, const char *route, const char *token);

/* The service's token inside wrapped, in arena; NULL when it does not verify. */
char *cursor_unwrap(arena_t *a, const char *client_id, const char *route, const char *wrapped);

#endif
