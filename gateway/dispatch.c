/* The request pipeline: request id, route, authentication, role, body,
 * request message, bus call, reply or problem. */
#include <civetweb.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/health.h"
#include "gateway/http.h"
#include "gateway/request.h"
#include "gateway/roles.h"
#include "gateway/routes.h"

/* Reads the body (at most REQUEST_MAX_BODY bytes). Returns 0, or the HTTP
 * status to answer: 413 when it is larger. */
static int read_body(struct mg_connection *conn, arena_t *a, char **body, size_t *len) {
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (ri->content_length > REQUEST_MAX_BODY) return 413;
    size_t cap = ri->content_length >= 0 ? (size_t)ri->content_length : REQUEST_MAX_BODY + 1;
    char *buf = arena_alloc(a, cap + 1);
    if (buf == NULL) return 500;
    size_t n = 0;
    while (n < cap) {
        int k = mg_read(conn, buf + n, cap - n);
        if (k <= 0) break;
        n += (size_t)k;
    }
    if (n > REQUEST_MAX_BODY) return 413;
    *body = buf;
    *len = n;
    return 0;
}

static int unauthorized(const http_ctx_t *h, auth_result_t r) {
    if (r == AUTH_UNAVAILABLE)
        return http_problem(h, 503, "credentials cannot be checked right now", NULL, "Retry-After: 1\r\n");
    const char *detail = r == AUTH_MISSING ? "an API key is required: Authorization: Bearer <key>"
                                           : "the API key is not valid";
    const char *challenge = r == AUTH_MISSING ? "WWW-Authenticate: Bearer realm=\"parley\"\r\n"
                                              : "WWW-Authenticate: Bearer realm=\"parley\", error=\"invalid_token\"\r\n";
    return http_problem(h, 401, detail, NULL, challenge);
}

/* Answers from the service's reply. */
static int reply(const http_ctx_t *h, const route_match_t *m, const ProtobufCMethodDescriptor *md,
                 const bus_reply_t *rep) {
    bus_status_t *st = rep->status;
    if (st->code != PARLEY__COMMON__V1__CODE__CODE_OK) {
        int status = http_status_for_code(st->code);
        pb_errors_t errs;
        pb_errors_init(&errs, h->arena);
        for (size_t i = 0; i < st->n_violations; i++)
            pb_errors_add(&errs, st->violations[i]->field, st->violations[i]->description);
        const char *retry = NULL;
        if (status == 503 || status == 429)
            retry = arena_printf(h->arena, "Retry-After: %d\r\n", st->retry_after_seconds > 0 ? st->retry_after_seconds : 1);
        return http_problem(h, status, st->message && *st->message ? st->message : NULL, &errs, retry);
    }
    ProtobufCMessage *out = protobuf_c_message_unpack(md->output, arena_pb_allocator(h->arena), rep->payload_len,
                                                      rep->payload);
    if (out == NULL) {
        log_error(h->request_id, "reply from %s.%s does not unpack", m->route->service, m->route->rpc);
        return http_problem(h, 500, "the service sent a reply that cannot be read", NULL, NULL);
    }
    json_t *j = pb_to_json(out);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    http_ctx_t hx = *h;
    json_t *id = json_object_get(j, "id"), *version = json_object_get(j, "version");
    if (m->route->success_status == 201 && json_is_string(id))
        hx.extra_headers = arena_printf(h->arena, "Location: %s/%s\r\n", h->path, json_string_value(id));
    if (json_is_integer(version))
        hx.extra_headers = arena_printf(h->arena, "%sETag: \"%lld\"\r\n", hx.extra_headers ? hx.extra_headers : "",
                                        (long long)json_integer_value(version));
    json_decref(j);
    if (text == NULL) return http_problem(h, 500, "the reply cannot be encoded", NULL, NULL);
    int rc = http_send(&hx, m->route->success_status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
    return rc;
}

static int serve_api(gw_thread_t *t, const http_ctx_t *h, const struct mg_request_info *ri) {
    size_t n_routes;
    const route_t *table = routes_table(&n_routes);
    route_match_t m;
    char allow[64];
    int rc = routes_match(table, n_routes, ri->request_method, ri->local_uri, &m, allow, sizeof allow);
    if (rc == -1) return http_problem(h, 404, "no such route", NULL, NULL);
    if (rc == -2) return http_problem(h, 405, NULL, NULL, arena_printf(h->arena, "Allow: %s\r\n", allow));

    auth_identity_t who;
    auth_result_t ar = auth_check(t->db, h->arena, mg_get_header(h->conn, "Authorization"), &who);
    if (ar != AUTH_OK) return unauthorized(h, ar);
    if ((who.roles & m.route->roles) == 0)
        return http_problem(h, 403, "this API client's roles do not allow this route", NULL, NULL);

    const ProtobufCMethodDescriptor *md = routes_method(m.route);
    if (md == NULL) return http_problem(h, 500, "route misconfigured", NULL, NULL);

    char *body = NULL;
    size_t body_len = 0;
    bool has_body = strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "DELETE") != 0;
    if (has_body) {
        if (!request_is_json(mg_get_header(h->conn, "Content-Type")))
            return http_problem(h, 415, "send application/json; charset=utf-8", NULL, NULL);
        int st = read_body(h->conn, h->arena, &body, &body_len);
        if (st == 413) return http_problem(h, 413, "the body is larger than 1 MiB", NULL, "Connection: close\r\n");
        if (st != 0) return http_problem(h, st, NULL, NULL, NULL);
    }
    pb_errors_t errs;
    pb_errors_init(&errs, h->arena);
    ProtobufCMessage *in = NULL;
    if (request_build(h->arena, md->input, body, body_len, &m, ri->query_string, &in, &errs) != 0)
        return http_problem(h, 400, "the request is not valid", &errs, NULL);

    size_t len = protobuf_c_message_get_packed_size(in);
    uint8_t *packed = arena_alloc(h->arena, len + 1);
    protobuf_c_message_pack(in, packed);

    bus_header_t header = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    header.request_id = (char *)h->request_id;
    header.method = (char *)m.route->rpc;
    header.principal = who.principal;
    const char *idem = mg_get_header(h->conn, "Idempotency-Key");
    if (idem != NULL) header.idempotency_key = arena_strdup(h->arena, idem);
    const char *if_match = mg_get_header(h->conn, "If-Match");
    if (if_match != NULL) header.if_match = arena_strdup(h->arena, if_match);

    bus_reply_t rep;
    bool idempotent = strcmp(ri->request_method, "GET") == 0;
    int64_t t0 = clock_mono_ms();
    rc = bus_client_call(t->bus, h->arena, m.route->service, &header, packed, len, gw_config.bus_timeout_ms,
                         idempotent, &rep);
    if (rc == -ETIMEDOUT) {
        log_warn(h->request_id, "%s.%s: no reply in %lld ms", m.route->service, m.route->rpc,
                 (long long)(clock_mono_ms() - t0));
        return http_problem(h, 503, arena_printf(h->arena, "the %s service did not answer in time", m.route->service),
                            NULL, "Retry-After: 1\r\n");
    }
    if (rc != 0) return http_problem(h, 503, "the message bus failed", NULL, "Retry-After: 1\r\n");
    return reply(h, &m, md, &rep);
}

int gw_handle(struct mg_connection *conn, void *cbdata) {
    (void)cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    gw_thread_t *t = mg_get_thread_pointer(conn);
    arena_t *fallback = NULL;
    if (t != NULL) arena_reset(t->arena);
    else fallback = arena_new();
    arena_t *a = t ? t->arena : fallback;
    if (a == NULL) return 500;

    char *rid = (char *)mg_get_header(conn, "X-Request-Id");
    if (!request_id_is_valid(rid)) {
        rid = arena_alloc(a, IDS_UUID_LEN + 1);
        ids_uuid_new(rid);
    }
    http_ctx_t h = {conn, a, rid, ri->local_uri, NULL};
    int64_t t0 = clock_mono_ms();
    int status;
    if (t == NULL) status = http_problem(&h, 503, "this gateway thread could not start", NULL, "Retry-After: 1\r\n");
    else if (strcmp(ri->local_uri, "/healthz") == 0) status = health_live(&h);
    else if (strcmp(ri->local_uri, "/readyz") == 0) status = health_ready(t, &h);
    else if (strncmp(ri->local_uri, "/v1/", 4) == 0) status = serve_api(t, &h, ri);
    else status = http_problem(&h, 404, "no such route", NULL, NULL);
    log_info(rid, "%s %s %d %lldms", ri->request_method, ri->local_uri, status, (long long)(clock_mono_ms() - t0));
    arena_destroy(&fallback);
    return status;
}
