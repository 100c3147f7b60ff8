/* problems — every cause of an error Parley answers with, as a stable word
 * a program can act on (the problem's `code`: `capacity_full`,
 * `stale_version`), with the status it comes with and what it means.
 *
 * The one list: a handler names a cause only through bus_response_problem
 * (or the gateway through http_problem_as), so a cause that is not here
 * cannot be answered, and /docs/problems is written from this table
 * (gateway/problems.c). A word, once published, keeps its meaning; a new
 * cause gets a new word. One entry per HTTP status is that status's
 * generic word (`is_default`), answered when nothing more specific is known
 * (a field violation is `invalid_request`, a 404 `not_found`).
 *
 * Static storage; no state. */
#ifndef PARLEY_BUS_PROBLEMS_H
#define PARLEY_BUS_PROBLEMS_H

#include <stdbool.h>
#include <stddef.h>

/* X(NAME, word, gRPC code (-1: the gateway's own, never a service's), HTTP
 * status, generic for its status, detail when none is given, meaning) */
#define BUS_PROBLEMS(X)                                                                                              \
    X(INVALID_REQUEST, "invalid_request", 3, 400, true, "the request is not valid",                                \
      "The request is not valid: malformed JSON, an unknown field, a value of the wrong type or out of bounds, a "  \
      "missing required value. `errors` names each field by its JSON path (`parents[0].email`); nothing was "      \
      "stored.")                                                                                                     \
    X(INVALID_PAGE_TOKEN, "invalid_page_token", -1, 400, false,                                                      \
      "the page token is not one this API issued to this client for this list and these filters",                  \
      "`pageToken` was not issued to this API client for this list with exactly these filters (a token is bound "  \
      "to the query it continues: changing a filter starts a new listing, without a token).")                       \
    X(READ_ONLY_FIELD, "read_only_field", 3, 400, false, "a read-only field differs from the stored value",         \
      "A PATCH or PUT sent back a read-only field (`id`, `createdAt`, `authorityId` ...) with a value other than "  \
      "the stored one; `errors` names it. Send it as read, or leave it out.")                                        \
    X(CHILD_HAS_CASES, "child_has_cases", 3, 400, false,                                                             \
      "a child left out has cases or recorded views and cannot be removed",                                         \
      "A family PATCH left out a child who has cases or recorded views: such a child is never removed.")            \
    X(UNAUTHENTICATED, "unauthenticated", 16, 401, true, "an API key is required: Authorization: Bearer <key>",    \
      "No API key was sent. The answer carries `WWW-Authenticate: Bearer`.")                                        \
    X(INVALID_KEY, "invalid_key", -1, 401, false, "the API key is not valid",                                       \
      "The API key is not valid: malformed, unknown, or revoked.")                                                  \
    X(FORBIDDEN, "forbidden", 7, 403, true, "this API client's roles do not allow this route",                      \
      "The API client's roles do not admit this route.")                                                            \
    X(NO_CONSORTIUM, "no_consortium", 7, 403, false, "this API client belongs to no consortium",                   \
      "The API client belongs to no consortium, and the route acts on the caller's consortium.")                   \
    X(ORIGIN_NOT_ALLOWED, "origin_not_allowed", -1, 403, false, "this origin is not allowed",                       \
      "A browser's preflight from an origin the gateway does not admit (`PARLEY_CORS_ORIGINS`).")                   \
    X(NOT_FOUND, "not_found", 5, 404, true, "no such object",                                                       \
      "No such object among those of the authorities this API client serves. An object of another authority is "   \
      "indistinguishable from one that does not exist.")                                                            \
    X(NO_ROUTE, "no_route", -1, 404, false, "no such route", "No route has this path.")                             \
    X(METHOD_NOT_ALLOWED, "method_not_allowed", -1, 405, true,                                                       \
      "this path does not take that method: Allow lists those it does",                                             \
      "The path exists but not with this method; `Allow` lists the methods it has.")                                \
    X(REQUEST_TIMEOUT, "request_timeout", -1, 408, true, "the request did not arrive in time",                      \
      "The request's headers or body did not arrive within the gateway's read deadline.")                           \
    X(CONFLICT, "conflict", 10, 409, true, "the request conflicts with the object's state",                          \
      "The request conflicts with the state of the object.")                                                        \
    X(CONCURRENT_CHANGE, "concurrent_change", 10, 409, false, "a concurrent change conflicted; retry",              \
      "Another change to the same objects won a race; nothing was changed. The same request may succeed when "      \
      "tried again.")                                                                                                \
    X(IDEMPOTENCY_IN_FLIGHT, "idempotency_in_flight", -1, 409, false,                                                \
      "a request with this Idempotency-Key is still in flight",                                                     \
      "A request with the same `Idempotency-Key` is still being served: try again once it has finished.")          \
    X(ALREADY_CLOSED, "already_closed", 10, 409, false, "the case is already closed",                               \
      "The case was closed before: it is closed once.")                                                             \
    X(CASE_CLOSED, "case_closed", 10, 409, false, "the case is closed",                                             \
      "The case is closed: it takes no more stages, changes or match requests.")                                    \
    X(CONSENT_ALREADY_WITHDRAWN, "consent_already_withdrawn", 10, 409, false, "consent was already withdrawn",     \
      "The case's consent to sharing was withdrawn before: it is withdrawn once.")                                  \
    X(DUPLICATE_REFERENCE, "duplicate_reference", 6, 409, false,                                                     \
      "this API client already used this externalReference",                                                       \
      "This API client already created a family (or case) with this `externalReference`; `detail` names its id. " \
      "Read that one instead of creating a duplicate.")                                                             \
    X(DUPLICATE_RESOURCE, "duplicate_resource", 6, 409, false,                                                       \
      "this leaflet (key) already exists in that language and format",                                             \
      "The information library already has this leaflet (`key`) in that language and format.")                     \
    X(DUPLICATE_AUTHORITY, "duplicate_authority", 6, 409, false,                                                     \
      "this consortium already has an authority with that code",                                                    \
      "The consortium already has an authority with this GSS code.")                                               \
    X(AUTHORITY_LIMIT, "authority_limit", 10, 409, false, "this API client holds as many authorities as a key may",\
      "The API client already holds the most authorities a key may hold, so it cannot create another.")            \
    X(MATCH_REQUEST_OPEN, "match_request_open", 6, 409, false, "the case already has an open match request",       \
      "The case already has an open match request; `detail` names it.")                                            \
    X(MATCH_REQUEST_ENDED, "match_request_ended", 10, 409, false, "the match request has ended",                   \
      "The match request was matched or cancelled (`detail` says which): it cannot be cancelled, and a matched "   \
      "or case-closed one cannot be retried.")                                                                       \
    X(MATCH_REQUEST_OFFERED, "match_request_offered", 10, 409, false, "an offer of the match request awaits an answer",\
      "The match request's current offer awaits the supporter's answer (`detail` names it): retry only a waiting "  \
      "or cancelled request; cancel it to end it.")                                                                  \
    X(CASE_HAS_SUPPORTER, "case_has_supporter", 6, 409, false, "the case already has a supporter",                  \
      "The case already has an active assignment to a supporter; `detail` names it.")                               \
    X(OFFER_NOT_PENDING, "offer_not_pending", 10, 409, false, "the offer is no longer open",                        \
      "The offer was declined, withdrawn or lapsed (`detail` says which): it can no longer be answered.")           \
    X(CAPACITY_FULL, "capacity_full", 10, 409, false, "the supporter has no place left",                            \
      "The supporter has no free place: the offer is withdrawn and the family offered to the next candidate "      \
      "(`detail` says which offer) or put back on the waiting list.")                                               \
    X(SUPPORTER_UNAVAILABLE, "supporter_unavailable", 10, 409, false, "the supporter is no longer available",       \
      "The supporter is no longer active (paused or left): the family is offered to the next candidate.")           \
    X(SUPPORTER_INELIGIBLE, "supporter_ineligible", 10, 409, false,                                                  \
      "the supporter is no longer eligible for this family",                                                        \
      "The supporter no longer serves the family's authority or is no longer eligible (DBS vetting expired): the "  \
      "family is offered to the next candidate.")                                                                    \
    /* Scheduling (issue 14). */                                                                                     \
    X(CALENDAR_CLASH, "calendar_clash", 10, 409, false, "a participant's calendar is already booked then",          \
      "A participant with a calendar in Parley is already booked at that time (its own bookings, whichever authority made "   \
      "them): `detail` names the participant (`participants[i]`, its `calendarOwnerId`). Nothing was "       \
      "booked; pick another slot (`GET /v1/calendars/{ownerId}/free-slots`).")                                       \
    /* ics: a booking checked against the calendar's availability and caps. */                                 \
    X(CALENDAR_UNAVAILABLE, "calendar_unavailable", 10, 409, false, "a participant's calendar is not available then", \
      "A participant's calendar does not take the booking: outside its weekly hours, on a day it is closed (leave, "   \
      "a bank holiday) or past its `maxPerDay`/`maxPerWeek` cap. `errors` names the participant "                     \
      "(`participants[i]`) and `detail` the reason. Nothing was booked; staff may book outside the hours and closed "  \
      "days with `allowOutsideHours: true`, never past a cap.")                                                         \
    X(APPOINTMENT_CANCELLED, "appointment_cancelled", 10, 409, false, "the appointment is cancelled",               \
      "The appointment was cancelled: it is cancelled once and cannot be rescheduled.")                             \
    X(SESSION_CANCELLED, "session_cancelled", 10, 409, false, "the session is cancelled",                         \
      "The group session was cancelled: it takes no bookings and is cancelled once.")                               \
    X(BOOKING_CANCELLED, "booking_cancelled", 10, 409, false, "the booking is already cancelled",                  \
      "The session booking was cancelled before: it is cancelled once (its seat, if it had one, was given to the "  \
      "first waiting booking then).")                                                                                \
    X(STALE_VERSION, "stale_version", 9, 412, true, "the object has changed since that version; read it again",    \
      "`If-Match` (or the `version` sent back in the body) names a version that is no longer current: read the "    \
      "object again (its `ETag`) and reapply the change.")                                                           \
    X(LENGTH_REQUIRED, "length_required", -1, 411, true, "the request must say how long its body is",           \
      "A request with a body must send `Content-Length` or `Transfer-Encoding: chunked`.")                          \
    X(BODY_TOO_LARGE, "body_too_large", -1, 413, true, "the body is larger than 1 MiB", "The body is larger than 1 MiB.") \
    X(UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", -1, 415, true, "send application/json; charset=utf-8",     \
      "The body is not `application/json` (optionally with `charset=utf-8`).")                                     \
    X(IDEMPOTENCY_KEY_REUSED, "idempotency_key_reused", -1, 422, true,                                               \
      "this Idempotency-Key was used with a different request",                                                     \
      "The `Idempotency-Key` was used before with a different request (method, path, query or body).")              \
    X(PRECONDITION_REQUIRED, "precondition_required", -1, 428, true,                                                 \
      "this change needs If-Match: send the ETag last read",                                                      \
      "The route changes a record others may be changing too (a leaflet, an agency): it needs `If-Match` with "    \
      "the `ETag` last read, so that a change made meanwhile is not overwritten. Nothing was changed.")             \
    X(RATE_LIMITED, "rate_limited", 8, 429, true, "this API client is over its rate limit",                         \
      "The API client is over its rate limit; `Retry-After` says how many seconds to wait.")                       \
    X(AUTH_THROTTLED, "auth_throttled", -1, 429, false,                                                              \
      "too many failed authentications from this address or for this API client",                                   \
      "Too many failed authentications from this address or naming this API client: every key from it is refused " \
      "until `Retry-After` has passed.")                                                                             \
    X(HEADERS_TOO_LARGE, "headers_too_large", -1, 431, true, "the request has too many headers",                    \
      "The request has more headers than the gateway reads.")                                                       \
    X(CANCELLED, "cancelled", 1, 499, true, "the request was cancelled", "The request was cancelled before it was served.") \
    X(INTERNAL, "internal", 13, 500, true, "something failed inside Parley; requestId finds it in the logs",        \
      "Something failed inside Parley. The `requestId` lets an operator find what happened in the logs.")           \
    X(NOT_IMPLEMENTED, "not_implemented", 12, 501, true, "this is not implemented",                                 \
      "The route, method or transfer coding is known but not implemented.")                                         \
    X(UNAVAILABLE, "unavailable", 14, 503, true, "a part of Parley cannot answer right now; retry",                 \
      "A service, the message bus, PostgreSQL or Redis cannot answer right now; nothing was lost. Retry after "     \
      "`Retry-After` seconds.")                                                                                      \
    X(AT_CAPACITY, "at_capacity", -1, 503, false, "the gateway is at capacity; try again shortly",                  \
      "Every one of the gateway's backends is busy; retry after `Retry-After` seconds.")                           \
    X(TOO_MANY_CONNECTIONS, "too_many_connections", -1, 503, false, "too many connections from this address",      \
      "This client address already has `PARLEY_HTTP_MAX_CONNS_PER_ADDR` connections open; the new one is answered "  \
      "this and closed before a thread is spent on it. Retry after `Retry-After` seconds, or reuse a connection.") \
    X(SERVICE_TIMEOUT, "service_timeout", -1, 503, false, "the service did not answer in time",                     \
      "The service that serves the route did not answer before the gateway's deadline for one attempt; a read "     \
      "was tried twice. Retry after `Retry-After` seconds; repeat a POST with the same `Idempotency-Key`.")         \
    X(DEADLINE_EXCEEDED, "timeout", 4, 504, true, "the request's deadline passed before it was served",             \
      "The request's deadline passed before a service could serve it; its effect, if any, is unknown: repeat a "   \
      "POST with the same `Idempotency-Key` to find out safely.")

typedef enum {
    BUS_PROBLEM_NONE = 0,
#define BUS_PROBLEM_ENUM_(name, word, grpc, http, dflt, detail, meaning) BUS_PROBLEM_##name,
    BUS_PROBLEMS(BUS_PROBLEM_ENUM_)
#undef BUS_PROBLEM_ENUM_
        BUS_PROBLEM_COUNT
} bus_problem_t;

typedef struct {
    const char *word;    /* "capacity_full" */
    int grpc;            /* the status code a service answers it with; -1: the gateway's own */
    int http;            /* the HTTP status it comes with */
    bool is_default;     /* the generic word of its HTTP status */
    const char *detail;  /* what `detail` says when the site gives no words of its own */
    const char *meaning; /* for /docs/problems */
} bus_problem_info_t;

/* The entry of p, or NULL for BUS_PROBLEM_NONE or a value out of range. */
const bus_problem_info_t *bus_problem_info(bus_problem_t p);

/* Every entry, in declaration order (grouped by HTTP status); *n its length. */
const bus_problem_info_t *bus_problems(size_t *n);

/* The generic entry of an HTTP status, or NULL when it has none. */
const bus_problem_info_t *bus_problem_default(int http_status);

/* The entry whose word is word, or NULL. */
const bus_problem_info_t *bus_problem_by_word(const char *word);

#endif
