/* The OpenAPI document: generated from the route table both ways, every
 * operation documented by the overlay, and schemas that say what lib/pb
 * really writes. Run from the repository's root (as make test does), where
 * the overlay is gateway/openapi/overlay.json. With PARLEY_OPENAPI_DUMP set,
 * the built-in table's document is also written to that file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/openapi.h"
#include "gateway/openapi_schemas.h"
#include "gateway/problems.h"
#include "gateway/roles.h"
#include "gateway/routes.h"
#include "parley/test/v1/kinds.pb-c.h"
#include "pb/pb.h"

static json_t *overlay;
static json_t *doc; /* the built-in table's document */

/* A service over the test-only Kinds message, to reach every field kind. */
static const ProtobufCMethodDescriptor kinds_methods[] = {
    {"Echo", &parley__test__v1__kinds__descriptor, &parley__test__v1__kinds__descriptor},
};
static const unsigned kinds_method_index[] = {0};
static const ProtobufCServiceDescriptor kinds_service = {
    PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC, "parley.test.v1.KindsService", "KindsService",
    "Parley__Test__V1__KindsService", "parley.test.v1", 1, kinds_methods, kinds_method_index};
static const route_t kinds_table[] = {
    {"GET", "/v1/kinds/{aString}", "test", &kinds_service, "Echo", ROLE_CASEWORKER, 200},
    {"POST", "/v1/kinds/{aString}", "test", &kinds_service, "Echo", ROLE_ALL, 201},
};

static int setup(void **state) {
    (void)state;
    json_error_t err;
    overlay = json_load_file(OPENAPI_OVERLAY_DEFAULT, JSON_REJECT_DUPLICATES, &err);
    if (overlay == NULL) {
        fprintf(stderr, "cannot read %s: %s (line %d)\n", OPENAPI_OVERLAY_DEFAULT, err.text, err.line);
        return -1;
    }
    size_t n;
    const route_t *table = routes_table(&n);
    char why[256] = "";
    doc = openapi_build(table, n, overlay, why, sizeof why);
    if (doc == NULL) {
        fprintf(stderr, "openapi_build: %s\n", why);
        return -1;
    }
    const char *dump = getenv("PARLEY_OPENAPI_DUMP");
    if (dump != NULL && *dump != '\0') json_dump_file(doc, dump, JSON_INDENT(2));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    json_decref(doc);
    json_decref(overlay);
    return 0;
}

static const char *lower(const char *s, char *buf, size_t cap) {
    size_t n = 0;
    for (; s[n] != '\0' && n + 1 < cap; n++) buf[n] = (char)tolower((unsigned char)s[n]);
    buf[n] = '\0';
    return buf;
}

static json_t *operation(const json_t *d, const char *path, const char *method) {
    char m[16];
    return json_object_get(json_object_get(json_object_get(d, "paths"), path), lower(method, m, sizeof m));
}

static json_t *schema(const json_t *d, const char *name) {
    return json_object_get(json_object_get(json_object_get(d, "components"), "schemas"), name);
}

static json_t *property(const json_t *d, const char *name, const char *prop) {
    return json_object_get(json_object_get(schema(d, name), "properties"), prop);
}

static void test_every_route_is_documented_with_its_method(void **state) {
    (void)state;
    size_t n;
    const route_t *table = routes_table(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        if (operation(doc, table[i].path, table[i].http_method) == NULL)
            fail_msg("%s %s is routed but not in the document", table[i].http_method, table[i].path);
    }
}

static void test_every_documented_operation_is_routed(void **state) {
    (void)state;
    size_t n, count = 0;
    const route_t *table = routes_table(&n);
    const char *path, *method;
    json_t *item, *op;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            bool routed = false;
            char m[16];
            for (size_t i = 0; i < n; i++)
                routed |= strcmp(table[i].path, path) == 0 &&
                          strcmp(lower(table[i].http_method, m, sizeof m), method) == 0;
            if (!routed) fail_msg("%s %s is in the document but not routed", method, path);
            count++;
        }
    }
    assert_int_equal(count, n);
}

static void test_every_operation_has_a_summary_from_the_overlay(void **state) {
    (void)state;
    const char *path, *method;
    json_t *item, *op;
    json_t *texts = json_object_get(overlay, "operations");
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            assert_non_null(id);
            const char *summary = json_string_value(json_object_get(json_object_get(texts, id), "summary"));
            if (summary == NULL || *summary == '\0')
                fail_msg("%s %s (operationId %s) has no summary: add \"%s\": {\"summary\": ..., \"description\": "
                         "...} to operations in %s",
                         method, path, id, id, OPENAPI_OVERLAY_DEFAULT);
            assert_string_equal(json_string_value(json_object_get(op, "summary")), summary);
            assert_non_null(strstr(json_string_value(json_object_get(op, "description")), "**Roles:**"));
        }
    }
}

static void test_operation_ids_are_unique(void **state) {
    (void)state;
    json_t *seen = json_object();
    const char *path, *method;
    json_t *item, *op;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            if (json_object_get(seen, id) != NULL) fail_msg("operationId %s is used twice", id);
            json_object_set_new(seen, id, json_true());
        }
    }
    json_decref(seen);
}

static void test_every_tag_has_a_description(void **state) {
    (void)state;
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(doc, "tags"), i, tag) {
        const char *d = json_string_value(json_object_get(tag, "description"));
        if (d == NULL || *d == '\0')
            fail_msg("tag (service) %s has no description in %s", json_string_value(json_object_get(tag, "name")),
                     OPENAPI_OVERLAY_DEFAULT);
    }
}

/* The overlay may document rpcs not routed yet, but names nothing else; it
 * holds no schema text, which lives beside each field in the .proto files. */
static void test_overlay_names_only_known_operations_and_holds_no_schema_text(void **state) {
    (void)state;
    size_t n;
    const route_t *table = routes_table(&n);
    const char *id;
    json_t *v;
    json_object_foreach(json_object_get(overlay, "operations"), id, v) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = protobuf_c_service_descriptor_get_method_by_name(table[i].proto, id) != NULL;
        if (!known) fail_msg("overlay operation %s is no rpc of a routed service", id);
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(v, "statuses"), k, st) {
            int code = (int)json_integer_value(st);
            if (problems_find(code) == NULL || code < 400) fail_msg("overlay operation %s lists status %d", id, code);
        }
    }
    if (json_object_get(overlay, "schemas") != NULL)
        fail_msg("%s has a \"schemas\" section: describe fields by their comments in the .proto files",
                 OPENAPI_OVERLAY_DEFAULT);
}

static void test_path_parameters_are_fields_of_the_input(void **state) {
    (void)state;
    size_t n;
    const route_t *table = routes_table(&n);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMethodDescriptor *md = routes_method(&table[i]);
        if (md == NULL) fail_msg("%s %s names rpc %s, which its proto lacks", table[i].http_method, table[i].path,
                                 table[i].rpc);
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(operation(doc, table[i].path, table[i].http_method), "parameters"), k, p) {
            const char *in = json_string_value(json_object_get(p, "in"));
            if (in == NULL || strcmp(in, "path") != 0) continue;
            const char *name = json_string_value(json_object_get(p, "name"));
            bool found = false;
            char buf[256];
            for (unsigned f = 0; f < md->input->n_fields; f++)
                found |= strcmp(pb_json_name(md->input->fields[f].name, buf, sizeof buf), name) == 0;
            if (!found) fail_msg("%s %s: {%s} is no field of %s", table[i].http_method, table[i].path, name,
                                 md->input->name);
        }
    }
}

static void test_enum_schemas_list_words_not_unspecified(void **state) {
    (void)state;
    json_t *source = schema(doc, "CaseSource");
    assert_non_null(source);
    assert_string_equal(json_string_value(json_object_get(source, "type")), "string");
    json_t *words = json_object_get(source, "enum");
    assert_int_equal(json_array_size(words), 7);
    assert_string_equal(json_string_value(json_array_get(words, 1)), "school");
    assert_string_equal(json_string_value(json_array_get(words, 4)), "social_care");
    const char *name;
    json_t *s;
    json_object_foreach(json_object_get(json_object_get(doc, "components"), "schemas"), name, s) {
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(s, "enum"), i, w) {
            const char *word = json_string_value(w);
            if (strstr(word, "unspecified") != NULL) fail_msg("%s lists %s", name, word);
            for (const char *c = word; *c; c++)
                if (isupper((unsigned char)*c)) fail_msg("%s lists %s, which is no word", name, word);
        }
    }
}

static void test_timestamps_are_date_time_and_output_only_fields_read_only(void **state) {
    (void)state;
    json_t *created = property(doc, "Case", "createdAt");
    assert_non_null(created);
    assert_string_equal(json_string_value(json_object_get(created, "type")), "string");
    assert_string_equal(json_string_value(json_object_get(created, "format")), "date-time");
    assert_true(json_is_true(json_object_get(created, "readOnly")));
    assert_true(json_is_true(json_object_get(property(doc, "Case", "id"), "readOnly")));
    assert_true(json_is_true(json_object_get(property(doc, "Case", "status"), "readOnly")));
    assert_null(json_object_get(property(doc, "Case", "summary"), "readOnly"));
    /* Nested: when consent was given is Parley's, who gave it the caller's. */
    assert_true(json_is_true(json_object_get(property(doc, "Consent", "givenAt"), "readOnly")));
    assert_null(json_object_get(property(doc, "Consent", "givenBy"), "readOnly"));
    /* A parent's id is not read-only: PATCH /v1/families/{id} matches the
     * parents it is sent by it, so a client that strips read-only fields
     * keeps it (and every parent keeps its id). */
    assert_null(json_object_get(property(doc, "Parent", "id"), "readOnly"));
    assert_null(json_object_get(property(doc, "Parent", "givenName"), "readOnly"));
    /* An input is never read-only. */
    assert_null(json_object_get(property(doc, "CreateCaseRequest", "summary"), "readOnly"));
}

static void test_list_parameters_and_success_headers(void **state) {
    (void)state;
    json_t *list = operation(doc, "/v1/cases", "GET");
    json_t *names = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(list, "parameters"), i, p) {
        assert_string_equal(json_string_value(json_object_get(p, "in")), "query");
        json_object_set(names, json_string_value(json_object_get(p, "name")), json_object_get(p, "schema"));
    }
    assert_string_equal(json_string_value(json_object_get(json_object_get(names, "pageSize"), "format")), "int32");
    assert_string_equal(json_string_value(json_object_get(json_object_get(names, "status"), "$ref")),
                        "#/components/schemas/CaseStatus");
    assert_non_null(json_object_get(names, "pageToken"));
    json_decref(names);
    json_t *created = json_object_get(json_object_get(operation(doc, "/v1/cases", "POST"), "responses"), "201");
    assert_non_null(json_object_get(json_object_get(created, "headers"), "Location"));
    assert_non_null(json_object_get(json_object_get(created, "headers"), "ETag"));
    assert_non_null(json_object_get(json_object_get(created, "headers"), "X-Request-Id"));
    json_t *get = json_object_get(operation(doc, "/v1/cases/{id}", "GET"), "responses");
    for (const char *const *c = (const char *const[]){"200", "400", "401", "403", "404", "429", "503", NULL}; *c; c++)
        if (json_object_get(get, *c) == NULL) fail_msg("GET /v1/cases/{id} does not document %s", *c);
    assert_null(json_object_get(get, "413"));
}

/* Every "$ref" in v names something the document has. */
static void check_refs(const json_t *d, const json_t *v) {
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) check_refs(d, e);
        return;
    }
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e) {
        if (strcmp(k, "$ref") == 0) {
            char section[64], name[256];
            if (sscanf(json_string_value(e), "#/components/%63[^/]/%255s", section, name) != 2 ||
                json_object_get(json_object_get(json_object_get(d, "components"), section), name) == NULL)
                fail_msg("%s does not resolve", json_string_value(e));
        } else {
            check_refs(d, e);
        }
    }
}

static void test_every_reference_resolves(void **state) {
    (void)state;
    check_refs(doc, doc);
}

/* Every field kind, through a table of its own. */
static void test_field_kinds_follow_the_codec(void **state) {
    (void)state;
    char why[256];
    json_t *d = openapi_build(kinds_table, 2, NULL, why, sizeof why);
    assert_non_null(d);
    check_refs(d, d);
    assert_string_equal(json_string_value(json_object_get(property(d, "Kinds", "anInt64"), "type")), "string");
    assert_string_equal(json_string_value(json_object_get(property(d, "Kinds", "anInt64"), "format")), "int64");
    assert_string_equal(json_string_value(json_object_get(property(d, "Kinds", "someBytes"), "contentEncoding")),
                        "base64");
    assert_string_equal(json_string_value(json_object_get(property(d, "Kinds", "aBool"), "type")), "boolean");
    json_t *labels = property(d, "Kinds", "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "type")), "object");
    assert_string_equal(json_string_value(json_object_get(json_object_get(labels, "additionalProperties"), "type")),
                        "string");
    json_t *maybe = json_object_get(property(d, "Kinds", "maybeString"), "type");
    assert_true(json_is_array(maybe) && json_array_size(maybe) == 2);
    assert_string_equal(json_string_value(json_array_get(maybe, 1)), "null");
    json_t *times = property(d, "Kinds", "times");
    assert_string_equal(json_string_value(json_object_get(json_object_get(times, "items"), "format")), "date-time");
    assert_string_equal(json_string_value(json_object_get(json_object_get(property(d, "Node", "children"), "items"),
                                                          "$ref")),
                        "#/components/schemas/Node");
    json_t *colour = schema(d, "Colour");
    assert_string_equal(json_string_value(json_array_get(json_object_get(colour, "enum"), 1)), "dark_blue");
    /* GET: scalars, enums, timestamps and wrappers as query parameters. */
    json_t *q = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(operation(d, "/v1/kinds/{aString}", "GET"), "parameters"), i, p)
        json_object_set(q, json_string_value(json_object_get(p, "name")), p);
    assert_string_equal(json_string_value(json_object_get(json_object_get(q, "aString"), "in")), "path");
    assert_non_null(json_object_get(q, "colours"));
    assert_non_null(json_object_get(q, "at"));
    assert_non_null(json_object_get(q, "maybeInt32"));
    assert_null(json_object_get(q, "nested"));
    assert_null(json_object_get(q, "labels"));
    json_decref(q);
    /* POST: the body is the input less what the path binds. */
    json_t *post = operation(d, "/v1/kinds/{aString}", "POST");
    json_t *body = json_object_get(json_object_get(json_object_get(json_object_get(post, "requestBody"), "content"),
                                                   "application/json; charset=utf-8"),
                                   "schema");
    assert_non_null(json_object_get(json_object_get(body, "properties"), "anInt32"));
    assert_null(json_object_get(json_object_get(body, "properties"), "aString"));
    assert_non_null(json_object_get(json_object_get(post, "responses"), "415"));
    assert_null(json_object_get(json_object_get(post, "responses"), "403")); /* every role may call it */
    assert_string_equal(json_string_value(json_object_get(post, "operationId")), "Echo2");
    json_decref(d);
}

/* The media type object of a body or a success answer, or NULL; a text
 * answer (ics: text/calendar) is its only media type. */
static json_t *json_media(json_t *holder) {
    json_t *content = json_object_get(holder, "content");
    json_t *m = json_object_get(content, "application/json; charset=utf-8");
    return m != NULL ? m : json_object_get(content, "text/calendar; charset=utf-8");
}

static json_t *success(json_t *op, const char **code) {
    const char *k;
    json_t *r;
    json_object_foreach(json_object_get(op, "responses"), k, r) {
        if (k[0] == '2') {
            *code = k;
            return r;
        }
    }
    return NULL;
}

static void test_every_operation_has_an_example_request_and_answer(void **state) {
    (void)state;
    const char *path, *method, *code = NULL;
    json_t *item, *op;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            json_t *body = json_object_get(op, "requestBody");
            if (body != NULL && !json_is_object(json_object_get(json_media(body), "example")))
                fail_msg("%s %s: its request body has no example (give its fields examples in the .proto)", method,
                         path);
            json_t *ok = success(op, &code);
            assert_non_null(ok);
            if (strcmp(code, "204") != 0 && json_object_get(json_media(ok), "example") == NULL)
                fail_msg("%s %s: its %s answer has no example", method, path, code);
        }
    }
}

static bool is_date_name(const char *n) {
    size_t len = strlen(n);
    return strcmp(n, "on") == 0 || strcmp(n, "dateOfBirth") == 0 || (len > 2 && strcmp(n + len - 2, "On") == 0);
}

static bool is_id_name(const char *n) {
    size_t len = strlen(n);
    return strcmp(n, "id") == 0 || (len > 2 && strcmp(n + len - 2, "Id") == 0) ||
           (len > 3 && strcmp(n + len - 3, "Ids") == 0);
}

/* A date is format: date; an id format: uuid, or has a pattern (a record id,
 * a client's request id); for a list, its items. */
static void check_named(const char *where, const char *name, json_t *sch) {
    if (json_is_string(json_object_get(sch, "$ref"))) return;
    if (json_is_string(json_object_get(sch, "type")) && strcmp(json_string_value(json_object_get(sch, "type")), "array") == 0)
        sch = json_object_get(sch, "items");
    const char *format = json_string_value(json_object_get(sch, "format"));
    if (is_date_name(name) && (format == NULL || strcmp(format, "date") != 0))
        fail_msg("%s.%s is a date by its name but not format: date", where, name);
    if (is_id_name(name) && (format == NULL || strcmp(format, "uuid") != 0) && json_object_get(sch, "pattern") == NULL)
        fail_msg("%s.%s is an id by its name but neither format: uuid nor given a pattern", where, name);
}

static void check_properties(const char *where, json_t *sch) {
    const char *prop;
    json_t *p;
    json_object_foreach(json_object_get(sch, "properties"), prop, p) check_named(where, prop, p);
}

static void test_every_date_and_id_field_and_parameter_is_formatted(void **state) {
    (void)state;
    const char *name, *path, *method;
    json_t *sch, *item, *op;
    size_t n = 0;
    json_object_foreach(json_object_get(json_object_get(doc, "components"), "schemas"), name, sch) {
        check_properties(name, sch);
        n++;
    }
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            check_properties(path, json_object_get(json_media(json_object_get(op, "requestBody")), "schema"));
            size_t i;
            json_t *p;
            json_array_foreach(json_object_get(op, "parameters"), i, p) {
                const char *in = json_string_value(json_object_get(p, "in"));
                if (in != NULL && strcmp(in, "header") != 0)
                    check_named(path, json_string_value(json_object_get(p, "name")), json_object_get(p, "schema"));
            }
        }
    }
    assert_true(n > 20);
}

/* The component of message d (by its local name, else its full name less "parley."). */
static json_t *component_of(const ProtobufCMessageDescriptor *d) {
    json_t *s = schema(doc, d->short_name);
    if (s == NULL && strncmp(d->name, "parley.", 7) == 0) s = schema(doc, d->name + 7);
    return s;
}

static bool lists(json_t *array, const char *name) {
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v) if (strcmp(json_string_value(v), name) == 0) return true;
    return false;
}

/* Every field of d (less skip) that lib/pb requires is in sch's required,
 * and sch allows no other property; so for the messages its fields hold. */
static void check_request(const ProtobufCMessageDescriptor *d, json_t *sch, const char *const *skip, size_t n_skip,
                          int depth) {
    if (sch == NULL || depth > 16) return;
    if (!json_is_false(json_object_get(sch, "additionalProperties")))
        fail_msg("%s is a request schema that allows other properties", d->name);
    char buf[256];
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *name = pb_json_name(f->name, buf, sizeof buf);
        bool skipped = false;
        for (size_t k = 0; k < n_skip; k++) skipped |= strcmp(skip[k], name) == 0;
        if (skipped) continue;
        if (oas_field_is_required(d, f) && !lists(json_object_get(sch, "required"), name))
            fail_msg("%s.%s is required by its rules, but its schema does not say so", d->name, name);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && component_of(f->descriptor) != NULL)
            check_request(f->descriptor, component_of(f->descriptor), NULL, 0, depth + 1);
    }
}

static void test_every_request_schema_declares_what_the_codec_requires(void **state) {
    (void)state;
    size_t n, checked = 0;
    const route_t *table = routes_table(&n);
    for (size_t i = 0; i < n; i++) {
        json_t *op = operation(doc, table[i].path, table[i].http_method);
        json_t *body = json_object_get(op, "requestBody");
        if (body == NULL) continue;
        const ProtobufCMethodDescriptor *md = routes_method(&table[i]);
        const char *skip[ROUTES_MAX_PARAMS];
        size_t n_skip = 0;
        json_t *p;
        size_t k;
        json_array_foreach(json_object_get(op, "parameters"), k, p) {
            const char *in = json_string_value(json_object_get(p, "in"));
            if (in != NULL && strcmp(in, "path") == 0 && n_skip < ROUTES_MAX_PARAMS)
                skip[n_skip++] = json_string_value(json_object_get(p, "name"));
        }
        json_t *sch = json_object_get(json_media(body), "schema");
        if (json_object_get(sch, "$ref") != NULL) sch = component_of(md->input);
        check_request(md->input, sch, skip, n_skip, 0);
        checked++;
    }
    assert_true(checked > 10);
    /* The case a partner's generated client must not be able to send empty.
     * Its client is a family's child (familyId, childId) or a young person
     * (youngPersonId): exactly one, checked by intake, so neither is
     * required by the schema, and each is there. */
    json_t *required = json_object_get(schema(doc, "CreateCaseRequest"), "required");
    for (const char *const *f = (const char *const[]){"authorityId", "source", "needs", "consent", NULL}; *f; f++)
        if (!lists(required, *f)) fail_msg("CreateCaseRequest does not require %s", *f);
    json_t *props = json_object_get(schema(doc, "CreateCaseRequest"), "properties");
    for (const char *const *f = (const char *const[]){"familyId", "childId", "youngPersonId", NULL}; *f; f++)
        if (json_object_get(props, *f) == NULL) fail_msg("CreateCaseRequest has no %s", *f);
}

static void test_reply_schemas_require_what_every_reply_holds(void **state) {
    (void)state;
    json_t *req = json_object_get(schema(doc, "Case"), "required");
    /* Declared always present, or always written by lib/pb (numbers, bools, lists). */
    for (const char *const *f = (const char *const[]){"id", "authorityId", "createdAt", "version",
                                                      "wantsSupporter", "needs", NULL};
         *f; f++)
        if (!lists(req, *f)) fail_msg("Case does not require %s", *f);
    /* A partner agency's answer has no family, and once consent is
     * withdrawn no status: not required. */
    assert_false(lists(req, "familyId"));
    assert_false(lists(req, "status"));
    assert_false(lists(req, "summary"));
    assert_true(lists(json_object_get(schema(doc, "ListCasesResponse"), "required"), "items"));
    assert_false(lists(json_object_get(schema(doc, "ListCasesResponse"), "required"), "nextPageToken"));
    /* A reply's schema lets new fields come: only requests are closed. */
    assert_null(json_object_get(schema(doc, "Case"), "additionalProperties"));
    /* A message in both (Preferences) requires only what a request must give. */
    assert_null(json_object_get(schema(doc, "Preferences"), "required"));
}

static void test_field_rules_and_comments_reach_the_document(void **state) {
    (void)state;
    json_t *cap = property(doc, "CreateSupporterRequest", "capacity");
    assert_int_equal(json_integer_value(json_object_get(cap, "minimum")), 0);
    assert_int_equal(json_integer_value(json_object_get(cap, "maximum")), 50);
    assert_string_equal(json_string_value(json_object_get(property(doc, "ChildInput", "dateOfBirth"), "format")),
                        "date");
    assert_int_equal(json_integer_value(json_object_get(property(doc, "ParentInput", "givenName"), "maxLength")), 100);
    assert_int_equal(json_integer_value(json_object_get(property(doc, "ParentInput", "givenName"), "minLength")), 1);
    json_t *needs = property(doc, "CreateCaseRequest", "needs");
    assert_int_equal(json_integer_value(json_object_get(needs, "maxItems")), 10);
    assert_int_equal(json_integer_value(json_object_get(needs, "minItems")), 1);
    json_t *languages = property(doc, "CreateSupporterRequest", "languages");
    assert_non_null(json_object_get(json_object_get(languages, "items"), "pattern"));
    assert_string_equal(json_string_value(json_object_get(property(doc, "AgencyContact", "website"), "format")),
                        "uri");
    assert_string_equal(json_string_value(json_object_get(property(doc, "School", "urn"), "pattern")),
                        "^[0-9]{6}$");
    /* A reply's field shows the limits of the request field that sets it. */
    assert_int_equal(json_integer_value(json_object_get(property(doc, "Parent", "givenName"), "maxLength")), 100);
    assert_int_equal(json_integer_value(json_object_get(property(doc, "Supporter", "capacity"), "maximum")), 50);
    /* Descriptions: a field's comment, each enum value's. */
    assert_non_null(strstr(json_string_value(json_object_get(property(doc, "ChildInput", "needs"), "description")),
                           "supporters' needs"));
    const char *stages = json_string_value(json_object_get(schema(doc, "SenStage"), "description"));
    assert_non_null(stages);
    assert_non_null(strstr(stages, "- `statutory_assessment`: 2001 code"));
    assert_non_null(strstr(json_string_value(json_object_get(schema(doc, "Specialism"), "description")), "`semh`"));
    assert_non_null(strstr(json_string_value(json_object_get(schema(doc, "AgencyKind"), "description")),
                           "`parent_carer_forum`"));
    /* A path parameter is described by its field's comment. */
    size_t i;
    json_t *p;
    bool found = false;
    json_array_foreach(json_object_get(operation(doc, "/v1/cases/{id}/stages", "POST"), "parameters"), i, p) {
        if (!json_is_string(json_object_get(p, "name")) || strcmp(json_string_value(json_object_get(p, "name")), "id") != 0) continue;
        assert_string_equal(json_string_value(json_object_get(p, "description")), "The case's id.");
        assert_string_equal(json_string_value(json_object_get(json_object_get(p, "schema"), "format")), "uuid");
        found = true;
    }
    assert_true(found);
}

static void test_problem_slugs_follow_the_reason_phrase(void **state) {
    (void)state;
    char buf[64];
    assert_string_equal(problems_slug(404, buf, sizeof buf), "not-found");
    assert_string_equal(problems_slug(413, buf, sizeof buf), "content-too-large");
    size_t n;
    const problem_kind_t *k = problems_table(&n);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(http_reason(k[i].status), "Unknown");
        assert_true(strlen(k[i].when) > 10);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_is_documented_with_its_method),
        cmocka_unit_test(test_every_documented_operation_is_routed),
        cmocka_unit_test(test_every_operation_has_a_summary_from_the_overlay),
        cmocka_unit_test(test_operation_ids_are_unique),
        cmocka_unit_test(test_every_tag_has_a_description),
        cmocka_unit_test(test_overlay_names_only_known_operations_and_holds_no_schema_text),
        cmocka_unit_test(test_path_parameters_are_fields_of_the_input),
        cmocka_unit_test(test_enum_schemas_list_words_not_unspecified),
        cmocka_unit_test(test_timestamps_are_date_time_and_output_only_fields_read_only),
        cmocka_unit_test(test_list_parameters_and_success_headers),
        cmocka_unit_test(test_every_reference_resolves),
        cmocka_unit_test(test_field_kinds_follow_the_codec),
        cmocka_unit_test(test_problem_slugs_follow_the_reason_phrase),
        cmocka_unit_test(test_every_operation_has_an_example_request_and_answer),
        cmocka_unit_test(test_every_date_and_id_field_and_parameter_is_formatted),
        cmocka_unit_test(test_every_request_schema_declares_what_the_codec_requires),
        cmocka_unit_test(test_reply_schemas_require_what_every_reply_holds),
        cmocka_unit_test(test_field_rules_and_comments_reach_the_document),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
