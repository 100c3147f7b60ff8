/* request — turning an HTTP request into a protobuf request message: the
 * JSON body, path parameters and query parameters, all through lib/pb. */
#ifndef PARLEY_GATEWAY_REQUEST_H
#define PARLEY_GATEWAY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "gateway/routes.h"
#include "pb/pb.h"

#define REQUEST_MAX_BODY (1024 * 1024)
#define REQUEST_MAX_QUERY_PARAMS 64

/* Whether a Content-Type header value is JSON in UTF-8
 * ("application/json", optionally "; charset=utf-8"). */
bool request_is_json(const char *content_type);

/* Whether s is a usable request id: 1..64 of [A-Za-z0-9._:-]. */
bool request_id_is_valid(const char *s);

/* Called for each decoded query parameter before it is applied: returns the
 * value to apply (possibly rewritten, e.g. an unwrapped page token), or NULL
 * after adding an error to errs. */
typedef const char *(*request_param_fn)(void *ctx, const char *name, const char *value, pb_errors_t *errs);

/* Builds the route's input message from body (may be NULL when the method
 * has no body), the query string (may be NULL; each parameter passes
 * through hook when hook is not NULL) and the match's path parameters,
 * which must have been through routes_decode_params. A path parameter is
 * set last, over anything the body said; the query may not name one (an
 * error), and may have at most REQUEST_MAX_QUERY_PARAMS parameters.
 * Returns 0 and *out, or -1 with errs filled. */
int request_build(arena_t *a, const ProtobufCMessageDescriptor *input, const char *body, size_t body_len,
                  const route_match_t *m, const char *query, request_param_fn hook, void *hook_ctx,
                  ProtobufCMessage **out, pb_errors_t *errs);

#endif
