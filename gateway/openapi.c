#include "gateway/openapi.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "gateway/openapi_schemas.h"
#include "gateway/problems.h"
#include "gateway/roles.h"
#include "pb/pb.h"

#define NAME_LEN 256

/* The error statuses an operation may document, in the order listed. */
static const int error_statuses[] = {400, 401, 403, 404, 408, 409, 412, 413, 415, 422, 428, 429, 500, 503, 504};
#define N_ERRORS (sizeof error_statuses / sizeof error_statuses[0])

/* What one build has used, so that only used components are written. */
typedef struct {
    oas_schemas_t *schemas;
    const json_t *overlay;
    bool response_used[N_ERRORS];
    bool idempotency_key, if_match, if_match_required, etag, location, content_etag;
} build_t;

static bool has_body(const char *method) {
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
}

/* overlay[section][key] as an object or string, or NULL. */
static json_t *overlay_get(const build_t *b, const char *section, const char *key) {
    return json_object_get(json_object_get(b->overlay, section), key);
}

/* The path's {parameters}, borrowed into names (at most ROUTES_MAX_PARAMS)
 * as NUL-terminated copies in buf. Returns how many. */
static size_t path_params(const char *path, char names[][NAME_LEN], size_t max) {
    size_t n = 0;
    for (const char *p = strchr(path, '{'); p != NULL && n < max; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (end == NULL || (size_t)(end - p - 1) >= NAME_LEN) break;
        /* routes_match only treats a whole segment as a parameter, or one
         * before a literal suffix ("{id}.ics"). */
        if (p[-1] != '/' || (end[1] != '/' && end[1] != '\0' && end[1] != '.')) continue;
        memcpy(names[n], p + 1, (size_t)(end - p - 1));
        names[n][end - p - 1] = '\0';
        n++;
    }
    return n;
}

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *d, const char *json_name) {
    char buf[NAME_LEN];
    for (unsigned i = 0; i < d->n_fields; i++)
        if (strcmp(pb_json_name(d->fields[i].name, buf, sizeof buf), json_name) == 0) return &d->fields[i];
    return NULL;
}

static json_t *ref(const char *section, const char *name) {
    char buf[NAME_LEN];
    snprintf(buf, sizeof buf, "#/components/%s/%s", section, name);
    return json_pack("{s:s}", "$ref", buf);
}

/* A parameter with its description: the operation's overlay's, else the
 * field's comment in the .proto (which its schema carries), else the
 * overlay's shared one, when any has one. */
static json_t *parameter(build_t *b, const json_t *op_text, const char *name, const char *in, bool required,
                         json_t *schema) {
    if (schema == NULL) schema = json_pack("{s:s, s:i}", "type", "string", "maxLength", 100);
    json_t *field_text = json_incref(json_object_get(schema, "description"));
    json_object_del(schema, "description");
    json_t *p = json_pack("{s:s, s:s, s:b, s:o}", "name", name, "in", in, "required", required, "schema", schema);
    const json_t *d = json_object_get(json_object_get(op_text, "parameters"), name);
    if (!json_is_string(d)) d = field_text;
    if (!json_is_string(d)) d = overlay_get(b, "parameters", name);
    if (json_is_string(d)) json_object_set(p, "description", (json_t *)d);
    json_decref(field_text);
    return p;
}

/* Whether the operation's overlay lists status among the answers its
 * handler gives beyond what its method and path imply ("statuses": [412]
 * for a POST that honours If-Match, [404] for a body naming an object). */
static bool overlay_lists(const json_t *op_text, int status) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(op_text, "statuses"), i, v) if (json_integer_value(v) == status) return true;
    return false;
}

static json_t *parameters(build_t *b, const route_t *r, const ProtobufCMessageDescriptor *in, const json_t *op_text,
                          char names[][NAME_LEN], size_t n_path) {
    json_t *list = json_array();
    for (size_t i = 0; i < n_path; i++) {
        const ProtobufCFieldDescriptor *f = field_named(in, names[i]);
        json_array_append_new(list, parameter(b, op_text, names[i], "path", true,
                                              f ? oas_schemas_field(b->schemas, in, f) : NULL));
    }
    if (!has_body(r->http_method)) {
        char buf[NAME_LEN];
        for (unsigned i = 0; i < in->n_fields; i++) {
            const char *name = pb_json_name(in->fields[i].name, buf, sizeof buf);
            bool bound = false;
            for (size_t k = 0; k < n_path; k++) bound |= strcmp(names[k], name) == 0;
            if (bound || !oas_field_is_queryable(&in->fields[i])) continue;
            json_array_append_new(list, parameter(b, op_text, name, "query", oas_field_is_required(in, &in->fields[i]),
                                                  oas_schemas_field(b->schemas, in, &in->fields[i])));
        }
    }
    if (strcmp(r->http_method, "POST") == 0) {
        b->idempotency_key = true;
        json_array_append_new(list, ref("parameters", "Idempotency-Key"));
    }
    if (routes_if_match_required(r)) {
        b->if_match_required = true;
        json_array_append_new(list, ref("parameters", "If-Match-Required"));
    } else if ((has_body(r->http_method) && strcmp(r->http_method, "POST") != 0) || overlay_lists(op_text, 412)) {
        b->if_match = true;
        json_array_append_new(list, ref("parameters", "If-Match"));
    }
    return list;
}

/* A media type object: the schema, and an example when there is one. */
static json_t *media(json_t *schema, json_t *example) {
    json_t *m = json_pack("{s:o}", "schema", schema);
    if (example != NULL) json_object_set_new(m, "example", example);
    return m;
}

/* The input message as the body, less the fields the path binds, with an
 * example made of its fields' examples (lib/pb/rules.h). */
static json_t *request_body(build_t *b, const ProtobufCMessageDescriptor *in, char names[][NAME_LEN], size_t n_path) {
    const char *skip[ROUTES_MAX_PARAMS];
    for (size_t i = 0; i < n_path; i++) skip[i] = names[i];
    json_t *schema = n_path == 0 ? oas_schemas_ref(b->schemas, in) : oas_schemas_body(b->schemas, in, skip, n_path);
    json_t *example = oas_schemas_example(in, skip, n_path);
    return json_pack("{s:b, s:{s:o}}", "required", true, "content", "application/json; charset=utf-8",
                     media(schema, example));
}

/* The name of the response component for status ("NotFound"). */
static const char *response_name(int status, char *buf, size_t cap) {
    const char *reason = http_reason(status);
    size_t n = 0;
    for (; *reason != '\0' && n + 1 < cap; reason++)
        if (*reason != ' ') buf[n++] = *reason;
    buf[n] = '\0';
    return buf;
}

static bool error_applies(const route_t *r, const json_t *op_text, int status, size_t n_path) {
    const char *m = r->http_method;
    if (overlay_lists(op_text, status)) return true;
    switch (status) {
    case 401: return !routes_keyless(r);
    case 403: return !routes_keyless(r) && (r->roles & ROLE_ALL) != ROLE_ALL;
    case 404: return n_path > 0;
    case 408:
    case 409:
    case 413:
    case 415: return has_body(m);
    case 412: return strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
    case 422: return strcmp(m, "POST") == 0;
    case 428: return routes_if_match_required(r);
    default: return true;
    }
}

/* Every authenticated answer carries the client's rate limit (gateway/ratelimit.h). */
static const char *const rate_limit_headers[] = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                                                 "RateLimit-Policy"};

static void add_rate_limit_refs(json_t *headers) {
    for (size_t i = 0; i < sizeof rate_limit_headers / sizeof rate_limit_headers[0]; i++)
        json_object_set_new(headers, rate_limit_headers[i], ref("headers", rate_limit_headers[i]));
}

/* Every answer to a browser origin in PARLEY_CORS_ORIGINS (gateway/cors.c). */
static void add_cors_refs(json_t *headers) {
    json_object_set_new(headers, "Access-Control-Allow-Origin", ref("headers", "Access-Control-Allow-Origin"));
    json_object_set_new(headers, "Access-Control-Expose-Headers", ref("headers", "Access-Control-Expose-Headers"));
}

static json_t *responses(build_t *b, const route_t *r, const json_t *op_text, const ProtobufCMessageDescriptor *out,
                         size_t n_path) {
    json_t *headers = json_pack("{s:o}", "X-Request-Id", ref("headers", "X-Request-Id"));
    add_rate_limit_refs(headers);
    add_cors_refs(headers);
    const routes_raw_t *raw = routes_raw_answer(r);
    if (raw != NULL) {
        /* ics: the text of one string field of the reply, as it is. */
        b->content_etag = true;
        json_object_set_new(headers, "ETag", ref("headers", "ContentETag"));
        const ProtobufCFieldDescriptor *f = field_named(out, raw->field);
        json_t *schema = f ? oas_schemas_field(b->schemas, out, f) : json_pack("{s:s}", "type", "string");
        json_object_del(schema, "description");
        static const char example[] =
            "BEGIN:VCALENDAR\r\nPRODID:-//Parley//Scheduling//EN\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n"
            "UID:2c34fdfe-5157-4276-858f-9f9301a60385@parley\r\nSEQUENCE:0\r\nDTSTAMP:20270301T120000Z\r\n"
            "DTSTART:20270322T100000Z\r\nDTEND:20270322T110000Z\r\nSUMMARY:Annual review\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n";
        json_t *ok = json_pack("{s:s, s:o, s:{s:{s:o, s:s}}}", "description", http_reason(r->success_status), "headers",
                               headers, "content", raw->media_type, "schema", schema, "example", example);
        /* If-None-Match naming the text's ETag: unchanged, no body. */
        json_t *same_headers = json_pack("{s:o, s:o}", "X-Request-Id", ref("headers", "X-Request-Id"), "ETag",
                                         ref("headers", "ContentETag"));
        add_rate_limit_refs(same_headers);
        add_cors_refs(same_headers);
        json_t *same = json_pack("{s:s, s:o}", "description", http_reason(304), "headers", same_headers);
        json_t *all = json_pack("{s:o, s:o}", "200", ok, "304", same);
        char code[8], name[64];
        for (size_t i = 0; i < N_ERRORS; i++) {
            if (!error_applies(r, op_text, error_statuses[i], n_path)) continue;
            b->response_used[i] = true;
            snprintf(code, sizeof code, "%d", error_statuses[i]);
            json_object_set_new(all, code, ref("responses", response_name(error_statuses[i], name, sizeof name)));
        }
        return all;
    }
    if (field_named(out, "version") != NULL) {
        b->etag = true;
        json_object_set_new(headers, "ETag", ref("headers", "ETag"));
    }
    if ((r->success_status == 201 || r->success_status == 202) && field_named(out, "id") != NULL) {
        b->location = true;
        json_object_set_new(headers, "Location", ref("headers", "Location"));
    }
    json_t *ok = json_pack("{s:s, s:o}", "description", http_reason(r->success_status), "headers", headers);
    if (r->success_status != 204)
        json_object_set_new(ok, "content", json_pack("{s:o}", "application/json; charset=utf-8",
                                                     media(oas_schemas_ref(b->schemas, out),
                                                           oas_schemas_example(out, NULL, 0))));
    char code[8], name[64];
    snprintf(code, sizeof code, "%d", r->success_status);
    json_t *all = json_object();
    json_object_set_new(all, code, ok);
    for (size_t i = 0; i < N_ERRORS; i++) {
        if (!error_applies(r, op_text, error_statuses[i], n_path)) continue;
        b->response_used[i] = true;
        snprintf(code, sizeof code, "%d", error_statuses[i]);
        json_object_set_new(all, code, ref("responses", response_name(error_statuses[i], name, sizeof name)));
    }
    return all;
}

/* The operation's description: the overlay's, then who may call it. */
static json_t *description(const json_t *op_text, unsigned roles) {
    const char *text = json_string_value(json_object_get(op_text, "description"));
    char who[256] = "";
    size_t n = 0;
    for (unsigned bit = 1; bit <= ROLE_ALL; bit <<= 1)
        if ((roles & bit) && roles_name(bit) && n < sizeof who)
            n += (size_t)snprintf(who + n, sizeof who - n, "%s`%s`", n ? ", " : "", roles_name(bit));
    char *joined = NULL;
    if (asprintf(&joined, "%s%s**Roles:** %s.", text ? text : "", text ? "\n\n" : "", who) < 0) return NULL;
    json_t *d = json_string(joined);
    free(joined);
    return d;
}

static json_t *roles_list(unsigned roles) {
    json_t *a = json_array();
    for (unsigned bit = 1; bit <= ROLE_ALL; bit <<= 1)
        if ((roles & bit) && roles_name(bit)) json_array_append_new(a, json_string(roles_name(bit)));
    return a;
}

static json_t *operation(build_t *b, const route_t *r, const char *op_id) {
    const ProtobufCMethodDescriptor *md = routes_method(r);
    const json_t *op_text = overlay_get(b, "operations", op_id);
    char names[ROUTES_MAX_PARAMS][NAME_LEN];
    size_t n_path = path_params(r->path, names, ROUTES_MAX_PARAMS);
    json_t *op = json_pack("{s:[s], s:s}", "tags", r->service, "operationId", op_id);
    const json_t *summary = json_object_get(op_text, "summary");
    if (json_is_string(summary)) json_object_set(op, "summary", (json_t *)summary);
    json_object_set_new(op, "description", description(op_text, r->roles));
    json_object_set_new(op, "parameters", parameters(b, r, md->input, op_text, names, n_path));
    if (has_body(r->http_method)) json_object_set_new(op, "requestBody", request_body(b, md->input, names, n_path));
    json_object_set_new(op, "responses", responses(b, r, op_text, md->output, n_path));
    if (routes_keyless(r)) {
        /* ics: no API key; the feed's token (a query parameter) instead. */
        json_object_set_new(op, "security", json_array());
        json_object_set_new(op, "x-parley-roles", json_array());
        const json_t *text = json_object_get(op_text, "description");
        if (json_is_string(text)) json_object_set(op, "description", (json_t *)text);
    } else {
        json_object_set_new(op, "x-parley-roles", roles_list(r->roles));
    }
    return op;
}

/* The problem schemas, as gateway/http.c writes them: every bound is what
 * the gateway can send (a path shown at most 512 bytes, each escaped as
 * 3; at most PB_MAX_ERRORS errors). */
static const char problem_schemas_text[] =
    "{\"Problem\": {\"type\": \"object\", \"description\": \"An RFC 9457 problem (`application/problem+json`).\","
    " \"required\": [\"type\", \"title\", \"status\", \"code\", \"detail\", \"requestId\"], \"properties\": {"
    "  \"code\": {\"type\": \"string\", \"pattern\": \"^[a-z][a-z0-9_]{0,63}$\", \"maxLength\": 64,"
    "   \"description\": \"A stable, machine-readable cause (`child_has_cases`, `stale_version` …): what a "
    "program acts on; each is listed with its meaning at `/docs/problems`.\"},"
    "  \"type\": {\"type\": \"string\", \"format\": \"uri-reference\", \"maxLength\": 100,"
    "   \"description\": \"`/docs/problems#<slug>`: the kind of problem, explained on that page.\"},"
    "  \"title\": {\"type\": \"string\", \"maxLength\": 100, \"description\": \"The status's reason phrase.\"},"
    "  \"status\": {\"type\": \"integer\", \"format\": \"int32\", \"minimum\": 400, \"maximum\": 599,"
    "   \"description\": \"The HTTP status of the answer.\"},"
    "  \"detail\": {\"type\": \"string\", \"maxLength\": 2000, \"description\": \"What went wrong, in words.\"},"
    "  \"instance\": {\"type\": \"string\", \"format\": \"uri-reference\", \"maxLength\": 1536,"
    "   \"description\": \"The request's path.\"},"
    "  \"requestId\": {\"type\": \"string\", \"format\": \"uuid\", \"maxLength\": 36,"
    "   \"description\": \"The request's X-Request-Id, for an operator to find it in the logs.\"},"
    "  \"errors\": {\"type\": \"array\", \"maxItems\": " PB_JSON_STR(PB_MAX_ERRORS) ","
    "   \"items\": {\"$ref\": \"#/components/schemas/ProblemError\"},"
    "   \"description\": \"For a request that is not valid: each field at fault, at most "
    PB_JSON_STR(PB_MAX_ERRORS) ".\"}}},"
    " \"ProblemError\": {\"type\": \"object\", \"required\": [\"field\", \"message\"], \"properties\": {"
    "  \"field\": {\"type\": \"string\", \"maxLength\": 512,"
    "   \"description\": \"The field's JSON path (`parents[0].email`); empty for the body as a whole.\"},"
    "  \"message\": {\"type\": \"string\", \"maxLength\": 2000,"
    "   \"description\": \"What is wrong with it (`is required`, `must be at most 100 characters`).\"}}}}";

static json_t *problem_schemas(void) { return json_loads(problem_schemas_text, 0, NULL); }

/* A header of the given JSON Schema (as JSON text). */
static json_t *header(const char *description, const char *schema) {
    return json_pack("{s:s, s:o}", "description", description, "schema", json_loads(schema, 0, NULL));
}

/* Every header the document's answers name, by name (all optional: each
 * description says when it is sent). */
static const char *const header_texts[][3] = {
    {"X-Request-Id", "The gateway's id for the request, in the logs and the audit trail (a client's own "
                     "X-Request-Id, when valid, is recorded beside it).",
     "{\"type\": \"string\", \"format\": \"uuid\", \"maxLength\": 36}"},
    {"RateLimit-Limit", "Requests the client may make in the policy's window (its burst). On every answer to an "
                        "authenticated client.",
     "{\"type\": \"integer\", \"format\": \"int32\", \"minimum\": 1, \"maximum\": 1000000}"},
    {"RateLimit-Remaining", "Requests left before the limit answers 429. On every answer to an authenticated client.",
     "{\"type\": \"integer\", \"format\": \"int32\", \"minimum\": 0, \"maximum\": 1000000}"},
    {"RateLimit-Reset", "Seconds until the full allowance is back. On every answer to an authenticated client.",
     "{\"type\": \"integer\", \"format\": \"int32\", \"minimum\": 0, \"maximum\": 86400}"},
    {"RateLimit-Policy", "The client's policy: `<limit>;w=<seconds>`, with `;burst=<n>` when the burst differs. On "
                         "every answer to an authenticated client.",
     "{\"type\": \"string\", \"maxLength\": 100, \"pattern\": \"^[0-9]+;w=[0-9]+(;burst=[0-9]+)?$\"}"},
    {"Access-Control-Allow-Origin", "The request's `Origin`, when it is one of the browser origins the gateway "
                                    "admits (`PARLEY_CORS_ORIGINS`); absent for any other origin and without one.",
     "{\"type\": \"string\", \"format\": \"uri\", \"maxLength\": 2048}"},
    {"Access-Control-Expose-Headers", "With Access-Control-Allow-Origin: the headers a browser script may read.",
     "{\"type\": \"string\", \"maxLength\": 500}"},
    {"WWW-Authenticate", "`Bearer realm=\"parley\"`, with `error=\"invalid_token\"` for a bad key.",
     "{\"type\": \"string\", \"maxLength\": 200}"},
    {"Retry-After", "Seconds to wait before trying again.",
     "{\"type\": \"integer\", \"format\": \"int32\", \"minimum\": 1, \"maximum\": 86400}"},
    {"ETag", "The object's version, quoted (`\"3\"`): send it back in If-Match to change it.",
     "{\"type\": \"string\", \"maxLength\": 20, \"pattern\": \"^\\\"[0-9]+\\\"$\"}"},
    {"Location", "The path of the new object.", "{\"type\": \"string\", \"format\": \"uri-reference\", \"maxLength\": 200}"},
};

static json_t *header_named(const char *name) {
    for (size_t i = 0; i < sizeof header_texts / sizeof header_texts[0]; i++)
        if (strcmp(header_texts[i][0], name) == 0) return header(header_texts[i][1], header_texts[i][2]);
    return NULL;
}

static json_t *components(build_t *b) {
    json_t *schemas = oas_schemas_components(b->schemas);
    json_t *problem = problem_schemas();
    json_object_update(schemas, problem);
    json_decref(problem);
    json_t *resp = json_object(), *headers = json_object(), *params = json_object();
    char name[64];
    static const char *const always[] = {"X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                                         "RateLimit-Policy", "Access-Control-Allow-Origin",
                                         "Access-Control-Expose-Headers"};
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        json_object_set_new(headers, always[i], header_named(always[i]));
    for (size_t i = 0; i < N_ERRORS; i++) {
        if (!b->response_used[i]) continue;
        int st = error_statuses[i];
        const problem_kind_t *k = problems_find(st);
        json_t *h = json_pack("{s:o}", "X-Request-Id", ref("headers", "X-Request-Id"));
        /* After authentication every answer carries the client's limit. */
        add_rate_limit_refs(h);
        add_cors_refs(h);
        if (st == 401) {
            json_object_set_new(h, "WWW-Authenticate", ref("headers", "WWW-Authenticate"));
            json_object_set_new(headers, "WWW-Authenticate", header_named("WWW-Authenticate"));
        }
        if (st == 429 || st == 503) {
            json_object_set_new(h, "Retry-After", ref("headers", "Retry-After"));
            json_object_set_new(headers, "Retry-After", header_named("Retry-After"));
        }
        json_object_set_new(resp, response_name(st, name, sizeof name),
                            json_pack("{s:s, s:o, s:{s:{s:o}}}", "description", k ? k->when : http_reason(st),
                                      "headers", h, "content", "application/problem+json", "schema",
                                      ref("schemas", "Problem")));
    }
    if (b->etag) json_object_set_new(headers, "ETag", header_named("ETag"));
    if (b->content_etag)
        json_object_set_new(headers, "ContentETag",
                            header("A hash of the text, quoted: send it back in If-None-Match to be answered 304 "
                                   "when it has not changed.",
                                   "{\"type\": \"string\", \"maxLength\": 40, \"pattern\": \"^\\\"[0-9a-f]{32}\\\"$\"}"));
    if (b->location) json_object_set_new(headers, "Location", header_named("Location"));
    if (b->idempotency_key)
        json_object_set_new(params, "Idempotency-Key",
                            json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}}", "name", "Idempotency-Key", "in",
                                      "header", "required", false, "description",
                                      "Makes a retry safe: the same key and body within 24 hours replays the first "
                                      "answer (with `Idempotent-Replayed: true`); the same key with another body is "
                                      "422; while the first is in flight, 409.",
                                      "schema", "type", "string", "minLength", 1, "maxLength", 255));
    if (b->if_match)
        json_object_set_new(params, "If-Match",
                            json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i}}", "name", "If-Match", "in", "header",
                                      "required", false, "description",
                                      "The ETag last read: the change is refused with 412 if the object has changed "
                                      "since.",
                                      "schema", "type", "string", "maxLength", 200));
    if (b->if_match_required)
        json_object_set_new(params, "If-Match-Required",
                            json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i}}", "name", "If-Match", "in", "header",
                                      "required", true, "description",
                                      "The ETag last read: required (428 without it); the change is refused with "
                                      "412 if the object has changed since.",
                                      "schema", "type", "string", "maxLength", 200));
    json_t *c = json_pack("{s:o, s:o, s:o, s:{s:{s:s, s:s, s:s, s:s}}}", "schemas", schemas, "responses", resp,
                          "headers", headers, "securitySchemes", "bearer", "type", "http", "scheme", "bearer",
                          "bearerFormat", "pk_<id>_<secret>", "description",
                          "An API key issued by a consortium admin (`POST /v1/clients`), sent as "
                          "`Authorization: Bearer pk_<id>_<secret>`. The key is shown once and stored only hashed.");
    if (json_object_size(params) > 0) json_object_set_new(c, "parameters", params);
    else json_decref(params);
    return c;
}

static json_t *tags(const build_t *b, const route_t *table, size_t n) {
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++) seen |= strcmp(table[j].service, table[i].service) == 0;
        if (seen) continue;
        json_t *tag = json_pack("{s:s}", "name", table[i].service);
        json_t *t = overlay_get(b, "tags", table[i].service);
        if (json_is_string(t)) json_object_set(tag, "description", t);
        else if (json_is_object(t)) json_object_update(tag, t);
        json_array_append_new(list, tag);
    }
    return list;
}

/* The rpc name, numbered from the second route that calls the same rpc. */
static void operation_id(const route_t *table, size_t i, char *buf, size_t cap) {
    int k = 1;
    for (size_t j = 0; j < i; j++) k += strcmp(table[j].rpc, table[i].rpc) == 0;
    if (k == 1) snprintf(buf, cap, "%s", table[i].rpc);
    else snprintf(buf, cap, "%s%d", table[i].rpc, k);
}

static json_t *lowercase(const char *s) {
    char buf[16];
    size_t n = 0;
    for (; s[n] != '\0' && n + 1 < sizeof buf; n++) buf[n] = (char)tolower((unsigned char)s[n]);
    buf[n] = '\0';
    return json_string(buf);
}

/* Registers what the route's parameters and body refer to: the input itself
 * only when it is the body whole, so that no component goes unused. */
static int register_input(build_t *b, const route_t *r, const ProtobufCMessageDescriptor *in) {
    char names[ROUTES_MAX_PARAMS][NAME_LEN];
    size_t n_path = path_params(r->path, names, ROUTES_MAX_PARAMS);
    if (has_body(r->http_method) && n_path == 0) return oas_schemas_add(b->schemas, in, OAS_REQUEST);
    for (unsigned i = 0; i < in->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &in->fields[i];
        if ((has_body(r->http_method) || oas_field_is_queryable(f)) &&
            oas_schemas_add_field(b->schemas, f, OAS_REQUEST) != 0)
            return -1;
    }
    return 0;
}

/* Registers every route's messages and learns which fields are read-only. */
static int register_messages(build_t *b, const route_t *table, size_t n, char *err, size_t cap) {
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMethodDescriptor *md = routes_method(&table[i]);
        if (md == NULL) {
            snprintf(err, cap, "route %s %s names %s, which its service descriptor lacks", table[i].http_method,
                     table[i].path, table[i].rpc);
            return -1;
        }
        /* A raw answer (routes_raw_answer) sends one field's text, not the message. */
        bool raw = routes_raw_answer(&table[i]) != NULL;
        if (register_input(b, &table[i], md->input) != 0 ||
            (!raw && oas_schemas_add(b->schemas, md->output, OAS_REPLY) != 0)) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!has_body(table[i].http_method)) continue;
        const ProtobufCMethodDescriptor *md = routes_method(&table[i]);
        char names[ROUTES_MAX_PARAMS][NAME_LEN];
        const char *skip[ROUTES_MAX_PARAMS];
        size_t n_path = path_params(table[i].path, names, ROUTES_MAX_PARAMS);
        for (size_t k = 0; k < n_path; k++) skip[k] = names[k];
        oas_schemas_pair(b->schemas, md->output, md->input, skip, n_path);
    }
    return 0;
}

json_t *openapi_build(const route_t *table, size_t n, const json_t *overlay, char *err, size_t cap) {
    build_t b;
    memset(&b, 0, sizeof b);
    b.overlay = overlay;
    b.schemas = oas_schemas_new();
    json_t *doc = NULL;
    if (b.schemas == NULL || register_messages(&b, table, n, err, cap) != 0) goto cleanup;

    json_t *paths = json_object();
    for (size_t i = 0; i < n; i++) {
        char op_id[NAME_LEN];
        operation_id(table, i, op_id, sizeof op_id);
        json_t *item = json_object_get(paths, table[i].path);
        if (item == NULL) json_object_set_new(paths, table[i].path, item = json_object());
        json_t *method = lowercase(table[i].http_method);
        json_object_set_new(item, json_string_value(method), operation(&b, &table[i], op_id));
        json_decref(method);
    }
    json_t *info = json_deep_copy(json_object_get(overlay, "info"));
    if (!json_is_object(info)) {
        json_decref(info);
        info = json_object();
    }
    if (json_object_get(info, "title") == NULL) json_object_set_new(info, "title", json_string("Parley API"));
    if (json_object_get(info, "version") == NULL) json_object_set_new(info, "version", json_string("1"));
    json_t *servers = json_deep_copy(json_object_get(overlay, "servers"));
    if (!json_is_array(servers)) {
        json_decref(servers);
        servers = json_pack("[{s:s}]", "url", "/");
    }
    doc = json_pack("{s:s, s:o, s:o, s:[{s:[]}], s:o, s:o}", "openapi", "3.1.0", "info", info, "servers", servers,
                    "security", "bearer", "tags", tags(&b, table, n), "paths", paths);
    json_t *comp = components(&b);
    if (doc == NULL || comp == NULL || json_object_set_new(doc, "components", comp) != 0) {
        json_decref(doc);
        doc = NULL;
        snprintf(err, cap, "out of memory");
    }

cleanup:
    if (doc == NULL && b.schemas == NULL) snprintf(err, cap, "out of memory");
    oas_schemas_destroy(&b.schemas);
    return doc;
}

/* The document's text, built once. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static int cache_state; /* 0: not built yet; 1: built; -1: failed */
static char *cache_text;

static int build_text(const char *overlay_path) {
    json_error_t jerr;
    json_t *overlay = json_load_file(overlay_path, JSON_REJECT_DUPLICATES, &jerr);
    if (overlay == NULL) {
        log_error(NULL, "openapi: cannot read the overlay %s: %s (line %d)", overlay_path, jerr.text, jerr.line);
        return -1;
    }
    size_t n;
    const route_t *table = routes_table(&n);
    char err[512] = "";
    json_t *doc = openapi_build(table, n, overlay, err, sizeof err);
    json_decref(overlay);
    if (doc == NULL) {
        log_error(NULL, "openapi: cannot build the document: %s", err);
        return -1;
    }
    cache_text = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);
    if (cache_text == NULL) return -1;
    log_info(NULL, "openapi: the document has %zu routes (%zu bytes)", n, strlen(cache_text));
    return 0;
}

int openapi_init(const char *overlay_path) {
    pthread_mutex_lock(&cache_lock);
    if (cache_state == 0) cache_state = build_text(overlay_path) == 0 ? 1 : -1;
    int rc = cache_state == 1 ? 0 : -1;
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

int openapi_write(FILE *out, const char *overlay_path) {
    if (openapi_init(overlay_path) != 0) return -1;
    if (fputs(cache_text, out) == EOF || fputc('\n', out) == EOF) return -1;
    return fflush(out) == 0 ? 0 : -1;
}

int openapi_serve(const http_ctx_t *h, const char *method) {
    if (strcmp(method, "GET") != 0) return http_problem(h, 405, NULL, NULL, "Allow: GET\r\n");
    if (openapi_init(config_str("PARLEY_OPENAPI_OVERLAY", OPENAPI_OVERLAY_DEFAULT)) != 0)
        return http_problem(h, 503, "the OpenAPI document could not be built: the gateway's log says why", NULL,
                            NULL);
    return http_send(h, 200, "application/json; charset=utf-8", cache_text, strlen(cache_text));
}
