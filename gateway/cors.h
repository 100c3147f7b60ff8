/* cors — cross-origin access for browser-based partner tools, from an
 * allow-list only (PARLEY_CORS_ORIGINS: comma-separated exact origins, such
 * as "https://portal.example.org"; empty by default, so no origin is allowed). */
#ifndef PARLEY_GATEWAY_CORS_H
#define PARLEY_GATEWAY_CORS_H

#include <stdbool.h>

#include "core/arena.h"

/* Reads the allow-list. Call once at start. */
void cors_init(const char *origins);

/* Whether origin (an Origin header value, may be NULL) is allowed. */
bool cors_allowed(const char *origin);

/* The headers to add to an answer for an allowed origin ("" otherwise), in a. */
const char *cors_headers(arena_t *a, const char *origin);

/* The headers of an answer to a preflight (OPTIONS) from an allowed origin. */
const char *cors_preflight_headers(arena_t *a, const char *origin);

#endif
