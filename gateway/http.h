/* http — writing responses: headers and body in one buffer and one write
 * (two writes fall foul of Nagle's algorithm: ~90 requests/s), and RFC 9457
 * problem+json errors. */
#ifndef PARLEY_GATEWAY_HTTP_H
#define PARLEY_GATEWAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/problems.h"
#include "core/arena.h"
#include "pb/pb.h"

struct mg_connection;

/* What a response was, as written: kept for idempotent replay and audit. */
typedef struct {
    int status;               /* 0 until a response is written */
    const char *content_type; /* borrowed (static or arena) */
    const char *headers;      /* the reply's own headers (Location, ETag), replayable */
    char *body;               /* in the arena */
    size_t len;
} http_record_t;

/* What every response carries. */
typedef struct {
    struct mg_connection *conn;
    arena_t *arena;
    const char *request_id;
    const char *path; /* the request's path, for "instance" */
    const char *extra_headers; /* "Name: value\r\n" lines, or NULL */
    http_record_t *record;     /* when set, http_send copies what it wrote here */
    /* When it points to true, the answer says "Connection: close" and the
     * connection is closed after it (a body left unread, a request refused
     * for its framing). Shared by every copy of the context. May be NULL. */
    bool *close_after;
} http_ctx_t;

/* Writes status, headers (Content-Type, Content-Length, X-Request-Id, the
 * security headers, extra, and Connection: close when *close_after) and body
 * in one write. Returns status. */
int http_send(const http_ctx_t *h, int status, const char *content_type, const char *body, size_t len);

/* As http_send, with cache_control as the Cache-Control value instead of
 * "no-store" (ics: a calendar app revalidates an .ics with its ETag). */
int http_send_cached(const http_ctx_t *h, int status, const char *content_type, const char *cache_control,
                     const char *body, size_t len);

/* Writes an application/problem+json body: type, title, status, code,
 * detail, instance, requestId and, when errs has any, errors [{field,
 * message}]. code is the cause's word (bus/problems.h); one that is NULL,
 * unknown or not of this status gives the status's generic word. A NULL
 * detail is the cause's own sentence. extra_headers (may be NULL) are
 * added, e.g. "Retry-After: 1\r\n". */
int http_problem_coded(const http_ctx_t *h, int status, const char *code, const char *detail, const pb_errors_t *errs,
                       const char *extra_headers);

/* The same with the status's generic cause. */
int http_problem(const http_ctx_t *h, int status, const char *detail, const pb_errors_t *errs,
                 const char *extra_headers);

/* The same for a cause of the gateway's own: its status and word. */
int http_problem_as(const http_ctx_t *h, bus_problem_t problem, const char *detail, const pb_errors_t *errs,
                    const char *extra_headers);

/* The reason phrase for status ("Not Found"). */
const char *http_reason(int status);

/* The HTTP status for a gRPC-style code (the grpc-gateway mapping, with
 * FAILED_PRECONDITION as 412). */
int http_status_for_code(int code);

#endif
