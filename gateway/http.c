#include "gateway/http.h"

#include <civetweb.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/common/v1/envelope.pb-c.h"

#define SECURITY_HEADERS                                                                            \
    "X-Content-Type-Options: nosniff\r\n"                                                           \
    "Cache-Control: %s\r\n"                                                                         \
    "Referrer-Policy: no-referrer\r\n"                                                              \
    "X-Frame-Options: DENY\r\n"

const char *http_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

int http_status_for_code(int code) {
    switch (code) {
    case PARLEY__COMMON__V1__CODE__CODE_OK: return 200;
    case PARLEY__COMMON__V1__CODE__CODE_CANCELLED: return 499;
    case PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT: return 400;
    case PARLEY__COMMON__V1__CODE__CODE_OUT_OF_RANGE: return 400;
    case PARLEY__COMMON__V1__CODE__CODE_DEADLINE_EXCEEDED: return 504;
    case PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND: return 404;
    case PARLEY__COMMON__V1__CODE__CODE_ALREADY_EXISTS: return 409;
    case PARLEY__COMMON__V1__CODE__CODE_ABORTED: return 409;
    case PARLEY__COMMON__V1__CODE__CODE_PERMISSION_DENIED: return 403;
    case PARLEY__COMMON__V1__CODE__CODE_UNAUTHENTICATED: return 401;
    case PARLEY__COMMON__V1__CODE__CODE_RESOURCE_EXHAUSTED: return 429;
    case PARLEY__COMMON__V1__CODE__CODE_FAILED_PRECONDITION: return 412;
    case PARLEY__COMMON__V1__CODE__CODE_UNIMPLEMENTED: return 501;
    case PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE: return 503;
    default: return 500;
    }
}

int http_send(const http_ctx_t *h, int status, const char *content_type, const char *body, size_t len) {
    return http_send_cached(h, status, content_type, "no-store", body, len);
}

int http_send_cached(const http_ctx_t *h, int status, const char *content_type, const char *cache_control,
                     const char *body, size_t len) {
    const char *extra = h->extra_headers ? h->extra_headers : "";
    bool closing = h->close_after != NULL && *h->close_after;
    if (closing) mg_disable_connection_keep_alive(h->conn);
    char *head = arena_printf(h->arena,
                              "HTTP/1.1 %d %s\r\n"
                              "Content-Type: %s\r\n"
                              "Content-Length: %zu\r\n"
                              "X-Request-Id: %s\r\n" SECURITY_HEADERS "%s%s\r\n",
                              status, http_reason(status), content_type, len, h->request_id, cache_control, extra,
                              closing ? "Connection: close\r\n" : "");
    if (head == NULL) return 500;
    size_t hl = strlen(head);
    char *buf = arena_alloc(h->arena, hl + len + 1); /* zeroed: the body ends in NUL */
    if (buf == NULL) return 500;
    memcpy(buf, head, hl);
    if (len > 0) memcpy(buf + hl, body, len);
    mg_write(h->conn, buf, hl + len);
    if (h->record != NULL) {
        h->record->status = status;
        h->record->content_type = content_type;
        h->record->body = buf + hl;
        h->record->len = len;
    }
    return status;
}

/* "Not Found" -> "not-found", for the problem type URI. */
static char *slug(arena_t *a, const char *title) {
    char *s = arena_strdup(a, title);
    for (char *p = s; p && *p; p++) *p = *p == ' ' ? '-' : (char)tolower((unsigned char)*p);
    return s;
}

int http_problem(const http_ctx_t *h, int status, const char *detail, const pb_errors_t *errs,
                 const char *extra_headers) {
    return http_problem_coded(h, status, NULL, detail, errs, extra_headers);
}

int http_problem_as(const http_ctx_t *h, bus_problem_t problem, const char *detail, const pb_errors_t *errs,
                    const char *extra_headers) {
    const bus_problem_info_t *p = bus_problem_info(problem);
    return http_problem_coded(h, p ? p->http : 500, p ? p->word : NULL, detail, errs, extra_headers);
}

int http_problem_coded(const http_ctx_t *h, int status, const char *code, const char *detail, const pb_errors_t *errs,
                       const char *extra_headers) {
    const char *title = http_reason(status);
    /* Every problem names its cause: the given one, else its status's
     * generic word; and says something in words, the cause's own when the
     * caller gave none. */
    const bus_problem_info_t *cause = code && *code ? bus_problem_by_word(code) : NULL;
    if (cause == NULL || cause->http != status) cause = bus_problem_default(status);
    if (detail == NULL || *detail == '\0') detail = cause ? cause->detail : title;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(arena_printf(h->arena, "/docs/problems#%s", slug(h->arena, title))));
    json_object_set_new(o, "title", json_string(title));
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "code", json_string(cause ? cause->word : "error"));
    json_object_set_new(o, "detail", json_string(detail));
    if (h->path != NULL) json_object_set_new(o, "instance", json_string(h->path));
    json_object_set_new(o, "requestId", json_string(h->request_id));
    if (errs != NULL && errs->count > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < errs->count; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "field", json_string(errs->items[i].field));
            json_object_set_new(e, "message", json_string(errs->items[i].message));
            json_array_append_new(arr, e);
        }
        json_object_set_new(o, "errors", arr);
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    http_ctx_t hx = *h;
    if (extra_headers != NULL) {
        hx.extra_headers = h->extra_headers ? arena_printf(h->arena, "%s%s", h->extra_headers, extra_headers)
                                            : extra_headers;
    }
    int rc = http_send(&hx, status, "application/problem+json", body ? body : "{}", body ? strlen(body) : 2);
    free(body);
    return rc;
}
