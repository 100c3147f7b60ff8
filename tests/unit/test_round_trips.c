/* Round trips, unit by unit: what a PATCH or PUT body carries beyond its
 * input (gateway/request.c: its members' paths, the read-only members sent
 * back, the path's ids), the comparison of those with the stored object
 * (lib/svc/read_only.c), If-Match as a list, and page tokens bound to their
 * filters (gateway/cursor.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gateway/auth.h"
#include "gateway/cursor.h"
#include "gateway/request.h"
#include "gateway/routes.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

#define FAMILY "0b8a2c1e-5a4e-4f55-9a43-6b0a6f0b1c2d"
#define PARENT "7d1e5f9a-2c3b-4d8e-9f10-a1b2c3d4e5f6"
#define CASE "3c1f0e2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
#define STAGE "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170"

/* Matches method path against the route table and decodes its ids. */
static route_match_t match(arena_t *a, const char *method, const char *path) {
    size_t n;
    const route_t *table = routes_table(&n);
    route_match_t m;
    char allow[64];
    assert_int_equal(routes_match(table, n, method, path, &m, allow, sizeof allow), 0);
    assert_int_equal(routes_decode_params(a, &m), 0);
    return m;
}

static int build(arena_t *a, const char *method, const char *path, const char *body, request_patch_t *patch,
                 ProtobufCMessage **out, pb_errors_t *errs) {
    route_match_t m = match(a, method, path);
    const ProtobufCMethodDescriptor *md = routes_method(m.route);
    patch->reply = md->output;
    pb_errors_init(errs, a);
    return request_build(a, md->input, body, strlen(body), &m, NULL, NULL, NULL, patch, out, errs);
}

static bool has_path(const request_patch_t *p, const char *path) {
    for (size_t i = 0; i < p->n_fields; i++)
        if (strcmp(p->fields[i], path) == 0) return true;
    return false;
}

static void test_a_patch_body_says_which_members_it_sent_and_gives_back_the_read_only_ones(void **state) {
    (void)state;
    arena_t *a = arena_new();
    request_patch_t p = {0};
    ProtobufCMessage *in;
    pb_errors_t errs;
    const char *body = "{\"id\": \"" FAMILY "\", \"version\": 3, \"createdAt\": \"2024-01-01T10:00:00Z\","
                       " \"authorityId\": \"x\", \"parents\": [{\"id\": \"" PARENT "\", \"email\": null,"
                       " \"address\": {\"town\": \"Leeds\"}}]}";
    assert_int_equal(build(a, "PATCH", "/v1/families/" FAMILY, body, &p, &in, &errs), 0);
    const Parley__Intake__V1__PatchFamilyRequest *f = (const void *)in;
    assert_string_equal(f->id, FAMILY);
    assert_int_equal(f->n_parents, 1);
    assert_string_equal(f->parents[0]->id, PARENT);
    assert_true(has_path(&p, "parents"));
    assert_true(has_path(&p, "parents[0].email")); /* sent as null: removed */
    assert_true(has_path(&p, "parents[0].address"));
    assert_true(has_path(&p, "parents[0].address.town"));
    assert_false(has_path(&p, "parents[0].phone"));
    assert_false(has_path(&p, "parents[0].address.line1"));
    json_t *ro = json_loads(p.read_only_json, 0, NULL);
    assert_non_null(ro);
    assert_int_equal(json_object_size(ro), 3); /* not id: the path's */
    assert_int_equal(json_integer_value(json_object_get(ro, "version")), 3);
    assert_string_equal(json_string_value(json_object_get(ro, "createdAt")), "2024-01-01T10:00:00Z");
    assert_string_equal(json_string_value(json_object_get(ro, "authorityId")), "x");
    json_decref(ro);
    arena_destroy(&a);
}

static void test_a_body_id_must_be_the_objects_own_as_in_the_path(void **state) {
    (void)state;
    arena_t *a = arena_new();
    request_patch_t p = {0};
    ProtobufCMessage *in;
    pb_errors_t errs;
    /* Upper case is the same UUID. */
    char body[256];
    snprintf(body, sizeof body, "{\"id\": \"%s\"}", "0B8A2C1E-5A4E-4F55-9A43-6B0A6F0B1C2D");
    assert_int_equal(build(a, "PATCH", "/v1/families/" FAMILY, body, &p, &in, &errs), 0);
    assert_int_equal(build(a, "PATCH", "/v1/families/" FAMILY, "{\"id\": \"" PARENT "\"}", &p, &in, &errs), -1);
    assert_int_equal(p.cause, BUS_PROBLEM_READ_ONLY_FIELD);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0].field, "id");
    /* A stage's id is the path's last id, not the case's. */
    assert_int_equal(build(a, "PATCH", "/v1/cases/" CASE "/stages/" STAGE,
                           "{\"id\": \"" STAGE "\", \"caseId\": \"" CASE "\", \"on\": \"2024-01-10\"}", &p, &in, &errs),
                     0);
    const Parley__Intake__V1__MoveStageRequest *m = (const void *)in;
    assert_string_equal(m->id, CASE);
    assert_string_equal(m->stage_id, STAGE);
    assert_string_equal(m->on, "2024-01-10");
    assert_non_null(strstr(p.read_only_json, "caseId"));
    assert_int_equal(build(a, "PATCH", "/v1/cases/" CASE "/stages/" STAGE, "{\"id\": \"" CASE "\"}", &p, &in, &errs),
                     -1);
    assert_int_equal(p.cause, BUS_PROBLEM_READ_ONLY_FIELD);
    /* With another mistake too, the request is simply not valid. */
    assert_int_equal(build(a, "PATCH", "/v1/families/" FAMILY, "{\"id\": \"" PARENT "\", \"nope\": 1}", &p, &in, &errs),
                     -1);
    assert_int_equal(p.cause, BUS_PROBLEM_INVALID_REQUEST);
    assert_int_equal(errs.count, 2);
    arena_destroy(&a);
}

static void test_a_patch_body_is_bounded(void **state) {
    (void)state;
    arena_t *a = arena_new();
    size_t cap = 40 * (REQUEST_MAX_PATCH_FIELDS + 10);
    char *body = arena_alloc(a, cap);
    size_t n = (size_t)snprintf(body, cap, "{\"parents\": [");
    for (int i = 0; i < REQUEST_MAX_PATCH_FIELDS + 5; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"givenName\": \"x\"}", i ? "," : "");
    snprintf(body + n, cap - n, "]}");
    request_patch_t p = {0};
    ProtobufCMessage *in;
    pb_errors_t errs;
    assert_int_equal(build(a, "PATCH", "/v1/families/" FAMILY, body, &p, &in, &errs), -1);
    assert_non_null(strstr(errs.items[0].message, "at most"));
    arena_destroy(&a);
}

static bus_request_t request_with(bus_header_t *h, const char *read_only_json) {
    *h = (bus_header_t)PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h->read_only_json = (char *)(read_only_json ? read_only_json : "");
    return (bus_request_t){.header = h};
}

static Parley__Intake__V1__Family *stored(arena_t *a) {
    Parley__Intake__V1__Family *f = arena_alloc(a, sizeof *f);
    parley__intake__v1__family__init(f);
    f->id = FAMILY;
    f->authority_id = CASE;
    f->version = 3;
    f->created_at = svc_timestamp(a, 1704103200123456LL); /* 2024-01-01T10:00:00.123456Z */
    f->updated_at = svc_timestamp(a, 1704103200123456LL);
    return f;
}

static int check(arena_t *a, const char *sent, bus_response_t *res, const char *const *ignore) {
    bus_header_t h;
    bus_request_t req = request_with(&h, sent);
    *res = (bus_response_t){.arena = a};
    parley__common__v1__status__init(&res->status);
    return svc_check_read_only(&req, res, &stored(a)->base, ignore);
}

static void test_read_only_fields_sent_back_as_read_are_accepted(void **state) {
    (void)state;
    arena_t *a = arena_new();
    bus_response_t res;
    assert_int_equal(check(a, NULL, &res, NULL), 0);
    assert_int_equal(check(a, "{\"version\": 3, \"createdAt\": \"2024-01-01T10:00:00.123456Z\"}", &res, NULL), 0);
    /* At a client's precision, in another offset; absent and empty agree. */
    assert_int_equal(check(a, "{\"createdAt\": \"2024-01-01T10:00:00.123Z\"}", &res, NULL), 0);
    assert_int_equal(check(a, "{\"createdAt\": \"2024-01-01T11:00:00.123+01:00\"}", &res, NULL), 0);
    assert_int_equal(check(a, "{\"createdAt\": \"2024-01-01T10:00:00Z\"}", &res, NULL), 0);
    assert_int_equal(check(a, "{\"externalReference\": null, \"parents\": []}", &res, NULL), 0);
    assert_int_equal(check(a, "{\"version\": 3.0}", &res, NULL), 0);
    arena_destroy(&a);
}

static void test_read_only_fields_sent_back_changed_are_refused(void **state) {
    (void)state;
    arena_t *a = arena_new();
    bus_response_t res;
    assert_int_equal(check(a, "{\"createdAt\": \"2024-01-01T10:00:00.124Z\", \"authorityId\": \"" FAMILY "\"}", &res,
                           NULL),
                     -1);
    assert_int_equal(res.status.code, PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT);
    assert_string_equal(res.status.reason, "read_only_field");
    assert_int_equal(res.status.n_violations, 2);
    assert_string_equal(res.status.violations[0]->field, "createdAt");
    assert_string_equal(res.status.violations[1]->field, "authorityId");
    assert_int_equal(check(a, "{\"externalReference\": \"mine\"}", &res, NULL), -1);
    assert_int_equal(check(a, "{\"createdAt\": \"yesterday\"}", &res, NULL), -1);
    /* Another version is stale, as If-Match would say. */
    assert_int_equal(check(a, "{\"version\": 2, \"createdAt\": \"2001-01-01T00:00:00Z\"}", &res, NULL), -1);
    assert_int_equal(res.status.code, PARLEY__COMMON__V1__CODE__CODE_FAILED_PRECONDITION);
    assert_string_equal(res.status.reason, "stale_version");
    /* A derived field is taken back whatever it says. */
    static const char *const derived[] = {"updatedAt", NULL};
    assert_int_equal(check(a, "{\"updatedAt\": \"2001-01-01T00:00:00Z\"}", &res, derived), 0);
    arena_destroy(&a);
}

static void test_json_sameness(void **state) {
    (void)state;
    json_t *x = json_loads("{\"a\": [1, {\"b\": \"\"}], \"t\": \"2024-05-01T10:00:00.5Z\"}", 0, NULL);
    json_t *y = json_loads("{\"a\": [1, {}], \"t\": \"2024-05-01T10:00:00.500001Z\", \"c\": null}", 0, NULL);
    json_t *z = json_loads("{\"a\": [1], \"t\": \"2024-05-01T10:00:00.5Z\"}", 0, NULL);
    assert_true(svc_json_same(x, y, 8));
    assert_false(svc_json_same(x, z, 8));
    assert_false(svc_json_same(x, y, 1)); /* the depth bound: deeper is not the same */
    json_t *s1 = json_string("2024-05-01T10:00:00Z"), *s2 = json_string("2024-05-01T10:00:01Z");
    assert_false(svc_json_same(s1, s2, 8));
    json_t *b1 = json_string("2024-02-30T10:00:00Z");
    assert_false(svc_json_same(b1, json_object_get(x, "t"), 8));
    json_decref(x);
    json_decref(y);
    json_decref(z);
    json_decref(s1);
    json_decref(s2);
    json_decref(b1);
}

static void test_sent_members(void **state) {
    (void)state;
    arena_t *a = arena_new();
    char *fields[] = {"parents", "parents[0].phone"};
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.body_fields = fields;
    h.n_body_fields = 2;
    bus_request_t req = {.header = &h};
    assert_true(svc_sent(&req, "parents[0].phone"));
    assert_true(svc_sentf(&req, a, "parents[%d].%s", 0, "phone"));
    assert_false(svc_sent(&req, "parents[0].email"));
    assert_false(svc_sent(&req, "parents[0]"));
    arena_destroy(&a);
}

static bool allows(arena_t *a, const char *if_match, int version) {
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.if_match = (char *)if_match;
    bus_request_t req = {.header = &h};
    return svc_if_match_allows(a, &req, version);
}

static void test_if_match_lines_joined_are_one_list(void **state) {
    (void)state;
    arena_t *a = arena_new();
    assert_true(allows(a, NULL, 3));
    assert_true(allows(a, "*", 3));
    assert_true(allows(a, "\"3\"", 3));
    assert_false(allows(a, "\"4\"", 3));
    /* Two header lines, as the gateway joins them. */
    assert_true(allows(a, "\"4\", \"3\"", 3));
    assert_true(allows(a, "\"12\", \"3\"", 12));
    assert_false(allows(a, "\"31\", \"13\"", 3));
    assert_false(allows(a, "W/\"3\"", 3));
    arena_destroy(&a);
}

static void test_a_page_token_is_bound_to_its_filters(void **state) {
    (void)state;
    arena_t *a = arena_new();
    assert_int_equal(auth_init("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0);
    Parley__Intake__V1__ListCasesRequest q = PARLEY__INTAKE__V1__LIST_CASES_REQUEST__INIT;
    q.status = PARLEY__INTAKE__V1__CASE_STATUS__CASE_STATUS_OPEN;
    char open[CURSOR_FILTERS_LEN + 1], other[CURSOR_FILTERS_LEN + 1], again[CURSOR_FILTERS_LEN + 1];
    assert_int_equal(cursor_filters(&q.base, open), 0);
    /* The page's own fields are not filters, and are left as they were. */
    q.page_size = 7;
    q.page_token = "tok";
    assert_int_equal(cursor_filters(&q.base, again), 0);
    assert_string_equal(open, again);
    assert_int_equal(q.page_size, 7);
    assert_string_equal(q.page_token, "tok");
    q.status = PARLEY__INTAKE__V1__CASE_STATUS__CASE_STATUS_CLOSED;
    assert_int_equal(cursor_filters(&q.base, other), 0);
    assert_string_not_equal(open, other);
    Parley__Intake__V1__GetCaseRequest g = PARLEY__INTAKE__V1__GET_CASE_REQUEST__INIT;
    assert_int_equal(cursor_filters(&g.base, other), -1); /* not a list */

    char *w = cursor_wrap(a, CASE, "/v1/cases", open, "c1|token");
    assert_non_null(w);
    assert_string_equal(cursor_unwrap(a, CASE, "/v1/cases", open, w), "c1|token");
    assert_null(cursor_unwrap(a, CASE, "/v1/cases", other, w)); /* status=closed */
    assert_null(cursor_unwrap(a, FAMILY, "/v1/cases", open, w));
    assert_null(cursor_unwrap(a, CASE, "/v1/referrals", open, w));
    arena_destroy(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_patch_body_says_which_members_it_sent_and_gives_back_the_read_only_ones),
        cmocka_unit_test(test_a_body_id_must_be_the_objects_own_as_in_the_path),
        cmocka_unit_test(test_a_patch_body_is_bounded),
        cmocka_unit_test(test_read_only_fields_sent_back_as_read_are_accepted),
        cmocka_unit_test(test_read_only_fields_sent_back_changed_are_refused),
        cmocka_unit_test(test_json_sameness),
        cmocka_unit_test(test_sent_members),
        cmocka_unit_test(test_if_match_lines_joined_are_one_list),
        cmocka_unit_test(test_a_page_token_is_bound_to_its_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
