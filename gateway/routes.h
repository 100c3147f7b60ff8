/* routes — the route table, as data: METHOD /v1/path/{param} -> (service,
 * method, roles). The request and reply types come from the service's proto
 * descriptor, so a route names no C type. The OpenAPI document is checked
 * against this table in the tests. */
#ifndef PARLEY_GATEWAY_ROUTES_H
#define PARLEY_GATEWAY_ROUTES_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

#define ROUTES_MAX_PARAMS 4

typedef struct {
    const char *http_method;                     /* "GET", "POST", ... */
    const char *path;                            /* "/v1/cases/{id}" */
    const char *service;                         /* broker service name */
    const ProtobufCServiceDescriptor *proto;     /* that service's descriptor */
    const char *rpc;                             /* method name in proto */
    unsigned roles;                              /* role bits admitted */
    int success_status;                          /* 200, 201 ... */
} route_t;

typedef struct {
    const char *name; /* borrowed from the route's path template */
    size_t name_len;
    const char *value; /* borrowed from the request path, as sent (percent-encoded) */
    size_t value_len;
    char *text; /* decoded and checked by routes_decode_params (in its arena), else NULL */
} route_param_t;

typedef struct {
    const route_t *route;
    route_param_t params[ROUTES_MAX_PARAMS];
    size_t n_params;
} route_match_t;

/* Whether r changes a record shared across authorities (a leaflet, an
 * agency) and so needs If-Match: without it the gateway answers 428
 * precondition_required before calling the service. */
bool routes_if_match_required(const route_t *r);

/* ics: a route whose answer is not JSON but one string field of the
 * reply (by its JSON name), sent as it is with the given media type (an
 * iCalendar text); errors are still problem+json. NULL for a JSON route. */
typedef struct {
    const char *media_type;
    const char *field;
} routes_raw_t;
const routes_raw_t *routes_raw_answer(const route_t *r);

/* ics: whether r is reached without an API key: the request carries its
 * own credential (a calendar feed's token), which the service checks. */
bool routes_keyless(const route_t *r);

/* The built-in table and its length. */
const route_t *routes_table(size_t *n);

/* Matches method and path (no query string) against table. Returns 0 and
 * fills m; -1 when no route has that path (404); -2 when a route has the path
 * but not the method (405), in which case allow (cap bytes) lists the
 * methods, comma-separated. A parameter never matches an empty segment or
 * one with a '/'. A template segment "{id}.ics" matches a path segment
 * ending in ".ics" (as sent, not decoded) with the text before it as the
 * parameter, which is never empty and never holds the suffix. */
int routes_match(const route_t *table, size_t n, const char *method, const char *path, route_match_t *m,
                 char *allow, size_t cap);

/* Decodes each of m's parameters exactly once (percent-decoding, nothing
 * else) into params[i].text and checks it is well formed for its name: a
 * UUID (any case; lower-cased) for "id" and names ending in "Id", otherwise
 * 1..100 of [A-Za-z0-9._~-]. Returns 0, or -1 when one is not (the caller
 * answers 404, as for an object that does not exist). */
int routes_decode_params(arena_t *a, route_match_t *m);

/* The method descriptor the route calls, or NULL if the proto lacks it. */
const ProtobufCMethodDescriptor *routes_method(const route_t *route);

#endif
