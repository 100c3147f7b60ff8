/* The request pipeline: request id, route, authentication, role, body,
 * idempotency, request message, the call (through the bus, or served here
 * for the gateway's own Admin routes), reply or problem, audit. A request a
 * service (or an Admin handler here) answered is audited by it, in the
 * transaction that served it (RequestHeader.audit, Status.audited); the
 * gateway writes the row of every other one after answering. */
#include <civetweb.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "gateway/admin_api.h"
#include "gateway/audit.h"
#include "gateway/backend.h"
#include "gateway/auth.h"
#include "gateway/conns.h"
#include "gateway/cors.h"
#include "gateway/cursor.h"
#include "gateway/docs.h"
#include "gateway/gateway.h"
#include "gateway/health.h"
#include "gateway/http.h"
#include "gateway/http_guard.h"
#include "gateway/idempotency.h"
#include "gateway/metrics.h"
#include "gateway/openapi.h"
#include "gateway/ratelimit.h"
#include "gateway/read_deadline.h"
#include "gateway/request.h"
#include "gateway/roles.h"
#include "gateway/routes.h"
#include "svc/svc.h"

/* What one API request carries through the pipeline. */
typedef struct {
    gw_thread_t *t;
    const http_ctx_t *h;
    route_match_t m;
    auth_identity_t who;
    const ProtobufCMethodDescriptor *md;
    const char *record_id;         /* for the audit row: the path's id */
    const char *authority_id;      /* for the audit row, when the gateway writes it */
    const char *client_address;    /* for the audit row */
    const char *client_request_id; /* for the audit row: the client's valid X-Request-Id */
    char address[AUTH_ADDRESS_LEN];
    const Parley__Common__V1__Principal *audit_principal; /* the client the row is about; NULL: no row */
    bool audited;                  /* the service (or Admin handler) wrote the row */
    const char *page_token;        /* a list's pageToken as sent (wrapped), or NULL */
    char filters[CURSOR_FILTERS_LEN + 1]; /* what the list's page tokens are bound to (cursor_filters) */
} call_t;

/* Reads the body (at most REQUEST_MAX_BODY bytes), all of it within
 * gw_config.body_timeout_ms: a watchdog shuts the socket's reading side at
 * the deadline, so a client trickling bytes cannot stretch a read (CivetWeb
 * would wait as long as each byte comes in time). Returns 0, or the HTTP
 * status to answer: 413 when it is larger, 408 when it did not all arrive in
 * time. The connection is kept only after a whole body. */
static int read_body(const http_ctx_t *h, char **body, size_t *len) {
    const struct mg_request_info *ri = mg_get_request_info(h->conn);
    if (ri->content_length > REQUEST_MAX_BODY) return 413;
    size_t cap = ri->content_length >= 0 ? (size_t)ri->content_length : REQUEST_MAX_BODY + 1;
    char *buf = arena_alloc(h->arena, cap + 1);
    if (buf == NULL) return 500;
    int64_t deadline = clock_mono_ms() + gw_config.body_timeout_ms;
    int fd = conns_fd(ri->remote_addr, ri->remote_port);
    read_deadline_t watch;
    if (fd >= 0) read_deadline_arm(&watch, fd, deadline);
    size_t n = 0;
    bool ended = false; /* the client said the body is over (chunked end, or all Content-Length bytes) */
    while (n < cap && clock_mono_ms() <= deadline) {
        int k = mg_read(h->conn, buf + n, cap - n);
        if (k <= 0) {
            ended = k == 0 && ri->content_length < 0;
            break;
        }
        n += (size_t)k;
    }
    bool fired = fd >= 0 && read_deadline_disarm(&watch);
    if (n > REQUEST_MAX_BODY) return 413;
    if (ri->content_length >= 0) ended = n == (size_t)ri->content_length;
    if (fired || !ended) return 408;
    if (h->close_after != NULL) *h->close_after = false; /* all read: the connection may be kept */
    *body = buf;
    *len = n;
    return 0;
}

static int unauthorized(const http_ctx_t *h, auth_result_t r, int retry_after_s) {
    if (r == AUTH_THROTTLED)
        return http_problem_as(h, BUS_PROBLEM_AUTH_THROTTLED, NULL, NULL,
                               arena_printf(h->arena, "Retry-After: %d\r\n", retry_after_s > 0 ? retry_after_s : 1));
    if (r == AUTH_UNAVAILABLE) {
        metrics_dependency_set(METRICS_DEP_POSTGRES, false);
        return http_problem(h, 503, "credentials cannot be checked right now", NULL, "Retry-After: 1\r\n");
    }
    if (r == AUTH_MISSING)
        return http_problem_as(h, BUS_PROBLEM_UNAUTHENTICATED, NULL, NULL, "WWW-Authenticate: Bearer realm=\"parley\"\r\n");
    return http_problem_as(h, BUS_PROBLEM_INVALID_KEY, NULL, NULL,
                           "WWW-Authenticate: Bearer realm=\"parley\", error=\"invalid_token\"\r\n");
}

/* A pageToken is taken as sent here; call() unwraps it once the whole
 * request, and so the filters it must have been issued for, is known. */
static const char *unwrap_param(void *ctx, const char *name, const char *value, pb_errors_t *errs) {
    call_t *c = ctx;
    (void)errs;
    if (strcmp(name, "pageToken") == 0 && *value != '\0') c->page_token = value;
    return value;
}

/* Every If-Match line of the request, joined as one list (RFC 9110 §5.3:
 * lines of a list-valued field combine in order, comma-separated), in the
 * arena; NULL when there is none. */
static const char *if_match_lines(const http_ctx_t *h) {
    const struct mg_request_info *ri = mg_get_request_info(h->conn);
    const char *joined = NULL;
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, "If-Match") != 0) continue;
        const char *v = ri->http_headers[i].value ? ri->http_headers[i].value : "";
        joined = joined ? arena_printf(h->arena, "%s, %s", joined, v) : arena_strdup(h->arena, v);
    }
    return joined;
}

static int problem_from_status(const http_ctx_t *h, const bus_status_t *st) {
    int status = http_status_for_code(st->code);
    pb_errors_t errs;
    pb_errors_init(&errs, h->arena);
    for (size_t i = 0; i < st->n_violations; i++)
        pb_errors_add(&errs, st->violations[i]->field, st->violations[i]->description);
    const char *retry = NULL;
    if (status == 503 || status == 429)
        retry = arena_printf(h->arena, "Retry-After: %d\r\n", st->retry_after_seconds > 0 ? st->retry_after_seconds : 1);
    return http_problem_coded(h, status, st->reason, st->message && *st->message ? st->message : NULL, &errs, retry);
}

/* Where a created object is: the route's template with the path's checked
 * values, then the new id, which must be a UUID. So no text of the request
 * but those checked values can reach the header. NULL when the id is not. */
static const char *location(arena_t *a, const route_match_t *m, const char *id) {
    if (!ids_is_uuid(id)) return NULL;
    size_t cap = strlen(m->route->path) + 40 + 1;
    for (size_t i = 0; i < m->n_params; i++) cap += m->params[i].text ? strlen(m->params[i].text) : 0;
    char *out = arena_alloc(a, cap), *w = out;
    size_t k = 0;
    for (const char *t = m->route->path; *t != '\0';) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            if (close == NULL || k >= m->n_params || m->params[k].text == NULL) return NULL;
            w = stpcpy(w, m->params[k++].text);
            t = close + 1;
        } else {
            *w++ = *t++;
        }
    }
    *w++ = '/';
    w = stpcpy(w, id);
    for (char *c = out + (w - out - strlen(id)); *c; c++) *c = (char)tolower((unsigned char)*c);
    return out;
}

/* Whether the request's If-None-Match names etag (or is "*"). */
static bool none_match(const http_ctx_t *h, const char *etag) {
    const char *v = mg_get_header(h->conn, "If-None-Match");
    return v != NULL && (strcmp(v, "*") == 0 || strstr(v, etag) != NULL);
}

/* ics: the reply's one string field sent as it is, of the route's media
 * type. Its ETag is a hash of the text (the object has no version of its
 * own that covers every change), so a calendar app revalidates cheaply:
 * Cache-Control private (a shared cache never keeps it), no-cache (asked
 * again each time, so a change or a revoked feed shows at once). */
static int answer_raw(call_t *c, json_t *j, const routes_raw_t *raw) {
    const http_ctx_t *h = c->h;
    json_t *id = json_object_get(j, "id"), *authority = json_object_get(j, "authorityId");
    if (c->record_id == NULL && json_is_string(id)) c->record_id = arena_strdup(h->arena, json_string_value(id));
    if (json_is_string(authority)) c->authority_id = arena_strdup(h->arena, json_string_value(authority));
    const char *text = json_string_value(json_object_get(j, raw->field));
    if (text == NULL) {
        json_decref(j);
        return http_problem(h, 500, "the reply has no text to send", NULL, NULL);
    }
    size_t len = strlen(text);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, len, digest);
    char etag[2 + 32 + 1] = "\"", *w = etag + 1;
    for (int i = 0; i < 16; i++, w += 2) snprintf(w, 3, "%02x", digest[i]);
    *w++ = '"';
    *w = '\0';
    http_ctx_t hx = *h;
    const char *own = arena_printf(h->arena, "ETag: %s\r\n", etag);
    hx.extra_headers = arena_printf(h->arena, "%s%s", h->extra_headers ? h->extra_headers : "", own);
    if (h->record != NULL) h->record->headers = own;
    int rc = none_match(h, etag) ? http_send_cached(&hx, 304, raw->media_type, "private, no-cache", "", 0)
                                 : http_send_cached(&hx, c->m.route->success_status, raw->media_type,
                                                    "private, no-cache", text, len);
    json_decref(j);
    return rc;
}

/* Answers a successful reply message as JSON, with Location and ETag. */
static int answer(call_t *c, const ProtobufCMessage *out) {
    const http_ctx_t *h = c->h;
    json_t *j = pb_to_json(out);
    if (j == NULL) return http_problem(h, 500, "the reply cannot be encoded", NULL, NULL);
    const routes_raw_t *raw = routes_raw_answer(c->m.route);
    if (raw != NULL) return answer_raw(c, j, raw);
    json_t *id = json_object_get(j, "id"), *version = json_object_get(j, "version");
    json_t *authority = json_object_get(j, "authorityId"), *next = json_object_get(j, "nextPageToken");
    if (json_is_string(next)) {
        char *w = cursor_wrap(h->arena, c->who.principal->client_id, c->m.route->path, c->filters,
                              json_string_value(next));
        if (w != NULL) json_object_set_new(j, "nextPageToken", json_string(w));
    }
    if (c->record_id == NULL && json_is_string(id)) c->record_id = arena_strdup(h->arena, json_string_value(id));
    if (json_is_string(authority)) c->authority_id = arena_strdup(h->arena, json_string_value(authority));
    const char *own = "";
    if ((c->m.route->success_status == 201 || c->m.route->success_status == 202) && json_is_string(id)) {
        const char *where = location(h->arena, &c->m, json_string_value(id));
        if (where != NULL) own = arena_printf(h->arena, "Location: %s\r\n", where);
        else log_error(h->request_id, "%s.%s: the created id is not a UUID; no Location", c->m.route->service, c->m.route->rpc);
    }
    if (json_is_integer(version))
        own = arena_printf(h->arena, "%sETag: \"%lld\"\r\n", own, (long long)json_integer_value(version));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL) return http_problem(h, 500, "the reply cannot be encoded", NULL, NULL);
    http_ctx_t hx = *h;
    hx.extra_headers = arena_printf(h->arena, "%s%s", h->extra_headers ? h->extra_headers : "", own);
    if (h->record != NULL) h->record->headers = own;
    int rc = http_send(&hx, c->m.route->success_status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
    return rc;
}

/* Serves one of the gateway's own methods in process, audited in its own
 * transaction as a service's are (svc_serve). */
static int call_local(call_t *c, const bus_header_t *header, const ProtobufCMessage *in) {
    size_t n;
    const bus_method_t *methods = admin_api_methods(&n);
    bus_response_t res = {.arena = c->h->arena};
    parley__common__v1__status__init(&res.status);
    bus_request_t req = {header, in};
    for (size_t i = 0; i < n; i++) {
        if (strcmp(methods[i].name, c->m.route->rpc) != 0) continue;
        int rc = svc_serve(c->t->db, methods[i].handler, c->t, &req, &res);
        c->audited = res.status.audited;
        if (rc < 0 && res.status.code == PARLEY__COMMON__V1__CODE__CODE_OK)
            bus_response_error(&res, PARLEY__COMMON__V1__CODE__CODE_INTERNAL, "internal error");
        if (res.status.code != PARLEY__COMMON__V1__CODE__CODE_OK) return problem_from_status(c->h, &res.status);
        if (res.reply == NULL) return http_problem(c->h, 500, "no reply", NULL, NULL);
        return answer(c, res.reply);
    }
    return http_problem(c->h, 501, "this route has no handler", NULL, NULL);
}

/* Sends the request through the broker to the route's service. */
static int call_bus(call_t *c, bus_header_t *header, const ProtobufCMessage *in, bool idempotent) {
    const http_ctx_t *h = c->h;
    size_t len = protobuf_c_message_get_packed_size(in);
    uint8_t *packed = arena_alloc(h->arena, len + 1);
    protobuf_c_message_pack(in, packed);
    bus_reply_t rep;
    int64_t t0 = clock_mono_ms(), t0_ns = metrics_clock_ns();
    int rc = bus_client_call(c->t->bus, h->arena, c->m.route->service, header, packed, len,
                             gw_config.bus_timeout_ms, idempotent, &rep);
    metrics_bus_observe(c->m.route, rc,
                        rc == 0 && rep.status->code == PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE, t0_ns);
    if (rc == -ETIMEDOUT) {
        log_warn(h->request_id, "%s.%s: no reply in %lld ms", c->m.route->service, c->m.route->rpc,
                 (long long)(clock_mono_ms() - t0));
        return http_problem_as(h, BUS_PROBLEM_SERVICE_TIMEOUT,
                               arena_printf(h->arena, "the %s service did not answer in time", c->m.route->service),
                               NULL, "Retry-After: 1\r\n");
    }
    if (rc != 0) return http_problem(h, 503, "the message bus failed", NULL, "Retry-After: 1\r\n");
    c->audited = rep.status->audited;
    if (rep.status->code != PARLEY__COMMON__V1__CODE__CODE_OK) return problem_from_status(h, rep.status);
    if (!c->audited)
        log_error(h->request_id, "%s.%s answered without its audit row; the gateway writes it after the answer",
                  c->m.route->service, c->m.route->rpc);
    ProtobufCMessage *out =
        protobuf_c_message_unpack(c->md->output, arena_pb_allocator(h->arena), rep.payload_len, rep.payload);
    if (out == NULL) {
        log_error(h->request_id, "reply from %s.%s does not unpack", c->m.route->service, c->m.route->rpc);
        return http_problem(h, 500, "the service sent a reply that cannot be read", NULL, NULL);
    }
    return answer(c, out);
}

/* From the body on: build the message and call. */
static int call(call_t *c, const struct mg_request_info *ri, const char *body, size_t body_len) {
    const http_ctx_t *h = c->h;
    /* A shared record (a leaflet, an agency) is changed only against the
     * version read: a blind write could undo a colleague's. */
    if (routes_if_match_required(c->m.route) && if_match_lines(h) == NULL)
        return http_problem_as(h, BUS_PROBLEM_PRECONDITION_REQUIRED, NULL, NULL, NULL);
    pb_errors_t errs;
    pb_errors_init(&errs, h->arena);
    ProtobufCMessage *in = NULL;
    /* A PATCH or PUT takes back what the route's GET gives (request.h). */
    bool replaces = strcmp(ri->request_method, "PATCH") == 0 || strcmp(ri->request_method, "PUT") == 0;
    request_patch_t patch = {.reply = c->md->output};
    if (request_build(h->arena, c->md->input, body, body_len, &c->m, ri->query_string, unwrap_param, c,
                      replaces ? &patch : NULL, &in, &errs) != 0)
        return http_problem_as(h, replaces ? patch.cause : BUS_PROBLEM_INVALID_REQUEST, NULL, &errs, NULL);
    /* A page token is tamper-proof (gateway/cursor.h) and goes on only the
     * listing it was issued for: this client, route and filters. */
    if (cursor_filters(in, c->filters) == 0 && c->page_token != NULL) {
        char *token = cursor_unwrap(h->arena, c->who.principal->client_id, c->m.route->path, c->filters, c->page_token);
        if (token == NULL) {
            pb_errors_add(&errs, "pageToken", "is not a page token this API issued to this client for this list "
                                              "with these filters");
            return http_problem_as(h, BUS_PROBLEM_INVALID_PAGE_TOKEN, NULL, &errs, NULL);
        }
        *(char **)((char *)in + cursor_token_field(in->descriptor)->offset) = token;
    }

    bus_header_t header = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    header.request_id = (char *)h->request_id;
    header.method = (char *)c->m.route->rpc;
    header.principal = c->who.principal;
    const char *idem = mg_get_header(h->conn, "Idempotency-Key");
    if (idem != NULL) header.idempotency_key = arena_strdup(h->arena, idem);
    const char *if_match = if_match_lines(h);
    if (if_match != NULL) header.if_match = (char *)if_match;
    if (replaces) {
        header.n_body_fields = patch.n_fields;
        header.body_fields = patch.fields;
        if (patch.read_only_json != NULL) header.read_only_json = patch.read_only_json;
    }
    /* What the service needs to write the request's audit row itself. */
    audit_entry_t e = {&c->m, c->who.principal, h->request_id, c->record_id, NULL, c->m.route->success_status,
                       c->client_address, c->client_request_id};
    header.audit = audit_describe(h->arena, &e);

    if (strcmp(c->m.route->service, "gateway") == 0) return call_local(c, &header, in);
    return call_bus(c, &header, in, strcmp(ri->request_method, "GET") == 0);
}

static int at_capacity(const http_ctx_t *h) {
    return http_problem_as(h, BUS_PROBLEM_AT_CAPACITY, NULL, NULL, "Retry-After: 1\r\n");
}

/* ics: who a keyless request (a calendar feed's) is to the services: no
 * client, no consortium, no authority, the one role "calendar_feed" (which
 * admits nothing a key's role does); the service checks the request's own
 * token and acts for that calendar alone. */
static void keyless_identity(arena_t *a, auth_identity_t *who) {
    memset(who, 0, sizeof *who);
    Parley__Common__V1__Principal *p = arena_alloc(a, sizeof *p);
    char **roles = arena_alloc(a, sizeof *roles);
    if (p == NULL || roles == NULL) return;
    parley__common__v1__principal__init(p);
    roles[0] = "calendar_feed";
    p->roles = roles;
    p->n_roles = 1;
    p->client_id = "";
    who->principal = p;
}

/* Everything from the route to the answer. Sets c->audit_principal once
 * the request names a client (a valid key, or the client a failed key
 * claims), and c->audited when a service or Admin handler wrote the row. */
static int pipeline(call_t *c, const struct mg_request_info *ri) {
    gw_thread_t *t = c->t;
    const http_ctx_t *h = c->h;
    size_t n_routes;
    const route_t *table = routes_table(&n_routes);
    char allow[64];
    int rc = routes_match(table, n_routes, ri->request_method, ri->local_uri, &c->m, allow, sizeof allow);
    if (rc == -1) return http_problem_as(h, BUS_PROBLEM_NO_ROUTE, NULL, NULL, NULL);
    if (rc == -2)
        return http_problem(h, 405, arena_printf(h->arena, "%s does not take %s: Allow lists the methods it does",
                                                 h->path, ri->request_method),
                            NULL, arena_printf(h->arena, "Allow: %s\r\n", allow));
    metrics_request_route(c->m.route);
    /* Decoded once, checked for the route (answered after authentication:
     * an id that cannot exist is a 404 as for one that does not). The audit
     * names exactly these values. */
    bool params_ok = routes_decode_params(h->arena, &c->m) == 0;
    if (params_ok && c->m.n_params > 0) c->record_id = c->m.params[c->m.n_params - 1].text;

    /* The request id is the gateway's own; a valid one the client sent is
     * kept beside it. Failed authentications are audited (not a missing key). */
    c->client_request_id = mg_get_header(h->conn, "X-Request-Id");
    if (!request_id_is_valid(c->client_request_id)) c->client_request_id = NULL;
    auth_client_address(ri->remote_addr, mg_get_header(h->conn, "X-Forwarded-For"), c->address);
    c->client_address = c->address;
    if (backend_hold(t, gw_config.backend_wait_ms) != 0) return at_capacity(h);
    auth_identity_t who;
    bool keyless = routes_keyless(c->m.route);
    if (keyless) {
        keyless_identity(h->arena, &who);
        if (who.principal == NULL) return http_problem(h, 500, "out of memory", NULL, NULL);
    } else {
        auth_result_t ar = auth_check(t->db, h->arena, mg_get_header(h->conn, "Authorization"), c->address, &who);
        if (ar != AUTH_OK) {
            if (ar != AUTH_MISSING && ar != AUTH_UNAVAILABLE) c->audit_principal = who.claimed;
            return unauthorized(h, ar, who.retry_after_s);
        }
    }
    c->audit_principal = who.principal;
    http_ctx_t hl; /* h with the RateLimit headers: every answer from here on carries them */
    /* A keyless request is limited by the address it comes from (a feed's
     * token guessed at is limited like any client). */
    const char *limit_key = keyless ? arena_printf(h->arena, "feed:%s", c->address) : who.principal->client_id;
    int limited = ratelimit_apply(t->kv, h, limit_key, who.roles, &hl);
    if (limited != 0) return limited;
    h = c->h = &hl;
    c->who = who;
    if (!keyless && (who.roles & c->m.route->roles) == 0)
        return http_problem_as(h, BUS_PROBLEM_FORBIDDEN, NULL, NULL, NULL);
    c->md = routes_method(c->m.route);
    if (c->md == NULL) return http_problem(h, 500, "route misconfigured", NULL, NULL);
    if (!params_ok) return http_problem_as(h, BUS_PROBLEM_NOT_FOUND, NULL, NULL, NULL);

    char *body = NULL;
    size_t body_len = 0;
    bool has_body = strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "DELETE") != 0;
    if (has_body) {
        if (!request_is_json(mg_get_header(h->conn, "Content-Type")))
            return http_problem(h, 415, "send application/json; charset=utf-8", NULL, NULL);
        /* The client may be slow: it must not hold a backend meanwhile. */
        backend_release(t);
        int st = read_body(h, &body, &body_len);
        if (st == 413) return http_problem(h, 413, "the body is larger than 1 MiB", NULL, NULL);
        if (st == 408)
            return http_problem(h, 408, arena_printf(h->arena, "the whole body must arrive within %d ms",
                                                     gw_config.body_timeout_ms), NULL, NULL);
        if (st != 0) return http_problem(h, st, NULL, NULL, NULL);
        if (backend_hold(t, gw_config.backend_wait_ms) != 0) return at_capacity(h);
    }

    /* From here every answer is recorded: for replay when an
     * Idempotency-Key is given. */
    http_record_t record = {0};
    http_ctx_t hr = *h;
    hr.record = &record;
    c->h = &hr;
    const char *key = mg_get_header(h->conn, "Idempotency-Key");
    idem_t idem = {0};
    int status = 0;
    idem_request_t irq = {ri->request_method, ri->local_uri, ri->query_string, body, body_len, c->m.route->rpc};
    if (key != NULL && strcmp(ri->request_method, "POST") == 0)
        status = idem_begin(t->db, &hr, who.principal, key, &irq, &idem);
    if (status == 0) status = call(c, ri, body, body_len);
    idem_finish(t->db, &idem, &record);
    return status;
}

static int serve_api(gw_thread_t *t, const http_ctx_t *h, const struct mg_request_info *ri) {
    call_t c = {.t = t, .h = h};
    int status = pipeline(&c, ri);
    /* One row for every request that names a client, whatever answered it:
     * the service's (or Admin handler's), else this one, written after the
     * answer with synchronous_commit off (refusals, failures, replays). */
    if (c.audit_principal == NULL || c.audited) return status;
    if (t->db == NULL && backend_hold(t, gw_config.backend_wait_ms) != 0) {
        log_error(h->request_id, "audit row not written: no database connection free");
        return status;
    }
    audit_entry_t e = {&c.m,   c.audit_principal, h->request_id,    c.record_id, c.authority_id,
                       status, c.client_address,  c.client_request_id};
    audit_record(t->db, h->arena, &e);
    return status;
}

/* A browser's preflight: allowed origins get the methods and headers. */
static int cors_preflight(http_ctx_t *h, const char *origin) {
    if (!cors_allowed(origin)) return http_problem_as(h, BUS_PROBLEM_ORIGIN_NOT_ALLOWED, NULL, NULL, NULL);
    h->extra_headers = cors_preflight_headers(h->arena, origin);
    return http_send(h, 204, "text/plain", "", 0);
}

/* The path as it may be shown (problem "instance", logs): bytes outside
 * printable ASCII percent-encoded, at most 512 bytes of it. */
static const char *shown_path(arena_t *a, const char *raw) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = raw ? strnlen(raw, 512) : 0;
    char *out = arena_alloc(a, n * 3 + 1), *w = out;
    if (out == NULL) return "";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)raw[i];
        if (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            *w++ = (char)ch;
        } else {
            *w++ = '%';
            *w++ = hex[ch >> 4];
            *w++ = hex[ch & 15];
        }
    }
    *w = '\0';
    return out;
}

/* Every request comes here first (CivetWeb's begin_request callback), so
 * nothing of CivetWeb's own handling (files, websockets, its CORS) ever runs.
 * Returns the HTTP status: the request is answered. */
int gw_handle(struct mg_connection *conn) {
    const struct mg_request_info *ri = mg_get_request_info(conn);
    gw_thread_t *t = mg_get_thread_pointer(conn);
    arena_t *fallback = NULL;
    if (t == NULL) fallback = arena_new();
    arena_t *a = t ? t->arena : fallback;
    if (a == NULL) {
        mg_disable_connection_keep_alive(conn);
        return 500;
    }

    /* Always the gateway's own id: a client's X-Request-Id is never trusted
     * as one (it is logged and audited beside it, when valid). */
    char *rid = arena_alloc(a, IDS_UUID_LEN + 1);
    ids_uuid_new(rid);
    const char *client_rid = mg_get_header(conn, "X-Request-Id");
    if (!request_id_is_valid(client_rid)) client_rid = NULL;
    /* A body that is declared and not read to its end is never drained: the
     * answer closes the connection instead (read_body clears this). */
    bool close_after = http_guard_has_body(ri) != 0;
    const char *path = shown_path(a, ri->local_uri);
    http_ctx_t h = {conn, a, rid, path, NULL, NULL, &close_after};
    int64_t t0 = clock_mono_ms();
    metrics_request_begin();
    int status;
    http_guard_t guard = http_guard_check(ri);
    if (guard.status != 0) {
        close_after = true;
        status = http_problem(&h, guard.status, guard.detail, NULL, NULL);
    } else {
        const char *origin = mg_get_header(conn, "Origin");
        if (origin != NULL) h.extra_headers = cors_headers(a, origin);
        if (t == NULL) status = http_problem(&h, 503, "this gateway thread could not start", NULL, "Retry-After: 1\r\n");
        else if (strcmp(ri->request_method, "OPTIONS") == 0) status = cors_preflight(&h, origin);
        else if (strcmp(ri->local_uri, "/healthz") == 0) status = health_live(&h);
        else if (strcmp(ri->local_uri, "/readyz") == 0)
            status = backend_hold(t, gw_config.backend_wait_ms) == 0 ? health_ready(t, &h) : at_capacity(&h);
        else if (strcmp(ri->local_uri, "/v1/openapi.json") == 0) status = openapi_serve(&h, ri->request_method);
        else if (docs_owns(ri->local_uri)) status = docs_serve(&h, ri->request_method, ri->local_uri);
        else if (strcmp(ri->local_uri, "/metrics") == 0) status = metrics_serve(&h);
        else if (strncmp(ri->local_uri, "/v1/", 4) == 0) status = serve_api(t, &h, ri);
        else status = http_problem_as(&h, BUS_PROBLEM_NO_ROUTE, NULL, NULL, NULL);
    }
    if (t != NULL) backend_release(t);
    metrics_request_end(ri->request_method, ri->local_uri, status);
    log_request(LOG_LEVEL_INFO, rid, client_rid, "%s %s %d %lldms", ri->request_method, path, status,
                (long long)(clock_mono_ms() - t0));
    /* Nothing of this request outlives it: the arena shrinks back now, not
     * when the thread's next request comes (which may be never). */
    if (t != NULL) arena_reset(t->arena);
    arena_destroy(&fallback);
    return status;
}
