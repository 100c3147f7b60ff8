/* request — turning an HTTP request into a protobuf request message: the
 * JSON body, path parameters and query parameters, all through lib/pb. */
#ifndef PARLEY_GATEWAY_REQUEST_H
#define PARLEY_GATEWAY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/problems.h"
#include "core/arena.h"
#include "gateway/routes.h"
#include "pb/pb.h"

#define REQUEST_MAX_BODY (1024 * 1024)
#define REQUEST_MAX_QUERY_PARAMS 64
#define REQUEST_MAX_PATCH_FIELDS 2000 /* members of a PATCH or PUT body, at every depth */

/* Whether a Content-Type header value is JSON in UTF-8
 * ("application/json", optionally "; charset=utf-8"). */
bool request_is_json(const char *content_type);

/* Whether s is a usable request id: 1..64 of [A-Za-z0-9._:-]. */
bool request_id_is_valid(const char *s);

/* Called for each decoded query parameter before it is applied: returns the
 * value to apply (possibly rewritten, e.g. an unwrapped page token), or NULL
 * after adding an error to errs. */
typedef const char *(*request_param_fn)(void *ctx, const char *name, const char *value, pb_errors_t *errs);

/* What a PATCH or PUT body carries beyond its input message, for the
 * service to apply JSON Merge Patch and to compare what was read. */
typedef struct {
    const ProtobufCMessageDescriptor *reply; /* in: the route's reply type */
    char **fields;                           /* out: every member's JSON path, in the arena */
    size_t n_fields;
    char *read_only_json;                    /* out: {"version": 3, ...} as sent, or NULL */
    bus_problem_t cause;                     /* out, on failure: INVALID_REQUEST or READ_ONLY_FIELD */
} request_patch_t;

/* Builds the route's input message from body (may be NULL when the method
 * has no body), the query string (may be NULL; each parameter passes
 * through hook when hook is not NULL) and the match's path parameters,
 * which must have been through routes_decode_params. A path parameter is
 * set last, over anything the body said; the query may not name one (an
 * error), and may have at most REQUEST_MAX_QUERY_PARAMS parameters.
 *
 * With patch (a PATCH or PUT), before the body is decoded: patch->fields
 * gets the path of each of its members (at most REQUEST_MAX_PATCH_FIELDS);
 * a member naming a path parameter must hold that parameter's value (`id`:
 * the path's last one, the object's own id) or it is refused, and either
 * way is left to the path; a member the reply has and the input does not
 * is taken out into patch->read_only_json. So whatever the route's GET
 * answers can be sent back whole.
 * Returns 0 and *out, or -1 with errs filled. */
int request_build(arena_t *a, const ProtobufCMessageDescriptor *input, const char *body, size_t body_len,
                  const route_match_t *m, const char *query, request_param_fn hook, void *hook_ctx,
                  request_patch_t *patch, ProtobufCMessage **out, pb_errors_t *errs);

#endif
