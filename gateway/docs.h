/* docs — the API documentation for people, served by the gateway's own
 * handler (no CivetWeb document_root: CivetWeb 1.15's directory redirect
 * overflows, CVE-2025-55763; no CDN: no request leaves the gateway):
 *   GET /docs                         an HTML page rendering /v1/openapi.json
 *                                     with Redoc
 *   GET /docs/redoc.standalone.js     Redoc's standalone bundle, read from
 *                                     $PARLEY_DOCS_DIR (npm package redoc,
 *                                     installed by scripts/install-deps.sh)
 *   GET /docs/problems                the problem types ("type" of every
 *                                     problem+json is /docs/problems#<slug>)
 * No key is needed. */
#ifndef PARLEY_GATEWAY_DOCS_H
#define PARLEY_GATEWAY_DOCS_H

#include <stdbool.h>

#include "gateway/http.h"

#define DOCS_DIR_DEFAULT "gateway/docs/node_modules/redoc/bundles"

/* Whether uri is /docs or under /docs/: docs_serve answers it. */
bool docs_owns(const char *uri);

/* Answers uri (one docs_owns): the page, the bundle or the problem types
 * for GET; 405 for another method; 404 for another path under /docs/; 503
 * when Redoc's bundle is not installed (the page says to run
 * scripts/install-deps.sh). Returns the HTTP status. */
int docs_serve(const http_ctx_t *h, const char *method, const char *uri);

#endif
