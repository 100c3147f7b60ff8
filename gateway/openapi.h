/* openapi — the OpenAPI 3.1 document of the REST API, generated from the
 * route table (gateway/routes.c) and the protobuf-c descriptors it names, so
 * it cannot drift from what is routed. Human text — the info block, tag
 * descriptions, each operation's summary and description, parameter and
 * schema descriptions — comes from an overlay file,
 * gateway/openapi/overlay.json, keyed by operationId (the rpc name, with a
 * number appended when two routes call one rpc). Built once and served from
 * memory at GET /v1/openapi.json, without a key. */
#ifndef PARLEY_GATEWAY_OPENAPI_H
#define PARLEY_GATEWAY_OPENAPI_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "gateway/http.h"
#include "gateway/routes.h"

#define OPENAPI_OVERLAY_DEFAULT "gateway/openapi/overlay.json"

/* The document for table (n routes) with overlay's text merged in (overlay
 * may be NULL), as a new reference. NULL when out of memory or when a route
 * names an rpc its service descriptor lacks; err (cap bytes) says why. */
json_t *openapi_build(const route_t *table, size_t n, const json_t *overlay, char *err, size_t cap);

/* Builds the document for the built-in table with the overlay at
 * overlay_path, and keeps its text for openapi_serve. Only the first call
 * builds; later calls return its result. Returns 0, or -1 (logged) when the
 * overlay cannot be read or the document cannot be built. Thread-safe. */
int openapi_init(const char *overlay_path);

/* Answers a request for /v1/openapi.json: 200 with the document for GET,
 * 405 for another method, 503 when it could not be built. Builds it first
 * (with $PARLEY_OPENAPI_OVERLAY) if openapi_init was never called. Returns the
 * HTTP status. */
/* Writes the document (as GET /v1/openapi.json serves it) to out: what
 * `parley-gateway openapi` prints and `make openapi` keeps in
 * docs/openapi.json. Needs no database, broker or key. 0, or -1 (logged). */
int openapi_write(FILE *out, const char *overlay_path);

int openapi_serve(const http_ctx_t *h, const char *method);

#endif
