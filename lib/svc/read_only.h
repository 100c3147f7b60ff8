/* read_only — what a PATCH or PUT body carries beyond its input message
 * (RequestHeader.body_fields and read_only_json, filled by the gateway:
 * gateway/request.h), for a handler to apply JSON Merge Patch (RFC 7396)
 * and to take back whatever the route's GET answered.
 *
 * Every PATCH and PUT handler calls svc_check_read_only with the object as
 * the caller would read it now (in the transaction that changes it, after
 * its lock), before it changes anything: so a read-only field sent back
 * with another value is refused on every route, never silently ignored. */
#ifndef PARLEY_SVC_READ_ONLY_H
#define PARLEY_SVC_READ_ONLY_H

#include <jansson.h>
#include <stdbool.h>

#include "bus/bus.h"

/* Whether the body sent the member at JSON path path ("parents[0].phone"),
 * null included: a merge patch changes exactly those. */
bool svc_sent(const bus_request_t *req, const char *path);

/* svc_sent of arena_printf(fmt, ...): "parents[%zu].%s". */
bool svc_sentf(const bus_request_t *req, arena_t *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Compares each read-only member the body sent back with stored (a reply
 * message of the route's type, as the caller would read it now), as the
 * codec writes it: equal when both are empty (absent, null, "", [], {}),
 * the same JSON, numbers of the same value, or RFC 3339 times of the same
 * instant at the coarser of the two precisions (a client that keeps
 * milliseconds sends back what it read). Members named in ignore (a
 * NULL-terminated list, or NULL) are derived, may change by themselves,
 * and are accepted whatever they hold. Returns 0 when nothing differs;
 * else -1 with res set: STALE_VERSION (412) when `version` is not the
 * stored one, else READ_ONLY_FIELD (400) with a violation on each member
 * that differs. */
int svc_check_read_only(const bus_request_t *req, bus_response_t *res, const ProtobufCMessage *stored,
                        const char *const *ignore);

/* The equality above, on two JSON values (either may be NULL: absent).
 * depth bounds the recursion (the values passed the JSON limits). */
bool svc_json_same(const json_t *sent, const json_t *stored, int depth);

#endif
