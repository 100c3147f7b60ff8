/* precondition — If-Match (RFC 9110 §13.1.1) against an object's version.
 *
 * The gateway forwards the header in RequestHeader.if_match and sends
 * ETag: "<version>" on every reply with a version, so a client echoes that
 * tag. The comparison is strong: W/"3" never matches.
 */
#ifndef PARLEY_SVC_PRECONDITION_H
#define PARLEY_SVC_PRECONDITION_H

#include <stdbool.h>

#include "bus/bus.h"

/* The versions req's If-Match names, as a PostgreSQL int[] literal in arena,
 * for `($n::int[] IS NULL OR version = ANY ($n::int[]))`:
 * - NULL when there is no If-Match, or it is "*" (no check);
 * - "{3}" or "{3,4}" for "\"3\"" or "\"3\", \"4\"";
 * - "{}" (matches nothing, so the change fails) when it names no version
 *   this API issues: a weak tag, a tag that is not a number, junk. */
const char *svc_if_match(arena_t *a, const bus_request_t *req);

/* Whether req's If-Match admits version: true without If-Match or with
 * "*", else whether one of its tags is version's (strongly). The header's
 * lines arrive combined (the gateway joins them, RFC 9110 §5.3). */
bool svc_if_match_allows(arena_t *a, const bus_request_t *req, int version);

#endif
