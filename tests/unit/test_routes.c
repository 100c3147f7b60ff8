/* The gateway's pure parts: route matching, request checks, keys, status
 * mapping and roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/http.h"
#include "gateway/keys.h"
#include "gateway/request.h"
#include "gateway/roles.h"
#include "gateway/routes.h"

static const route_t table[] = {
    {"POST", "/v1/cases", "intake", NULL, "CreateCase", ROLE_CASEWORKER, 201},
    {"GET", "/v1/cases", "intake", NULL, "ListCases", ROLE_CASEWORKER, 200},
    {"GET", "/v1/cases/{id}", "intake", NULL, "GetCase", ROLE_CASEWORKER, 200},
    {"POST", "/v1/cases/{id}/stages", "intake", NULL, "AddStage", ROLE_CASEWORKER, 201},
};
#define N (sizeof table / sizeof table[0])

static void test_exact_path_matches_its_method(void **state) {
    (void)state;
    route_match_t m;
    char allow[64];
    assert_int_equal(routes_match(table, N, "GET", "/v1/cases", &m, allow, sizeof allow), 0);
    assert_string_equal(m.route->rpc, "ListCases");
    assert_int_equal(m.n_params, 0);
    assert_int_equal(routes_match(table, N, "POST", "/v1/cases", &m, allow, sizeof allow), 0);
    assert_string_equal(m.route->rpc, "CreateCase");
}

static void test_parameter_is_captured(void **state) {
    (void)state;
    route_match_t m;
    char allow[64];
    assert_int_equal(routes_match(table, N, "GET", "/v1/cases/abc-123", &m, allow, sizeof allow), 0);
    assert_string_equal(m.route->rpc, "GetCase");
    assert_int_equal(m.n_params, 1);
    assert_int_equal(m.params[0].name_len, 2);
    assert_memory_equal(m.params[0].name, "id", 2);
    assert_int_equal(m.params[0].value_len, 7);
    assert_memory_equal(m.params[0].value, "abc-123", 7);
    assert_int_equal(routes_match(table, N, "POST", "/v1/cases/x/stages", &m, allow, sizeof allow), 0);
    assert_string_equal(m.route->rpc, "AddStage");
}

static void test_unknown_paths_are_404(void **state) {
    (void)state;
    route_match_t m;
    char allow[64];
    assert_int_equal(routes_match(table, N, "GET", "/v1/case", &m, allow, sizeof allow), -1);
    assert_int_equal(routes_match(table, N, "GET", "/v1/cases/a/b", &m, allow, sizeof allow), -1);
    assert_int_equal(routes_match(table, N, "GET", "/v1/cases/", &m, allow, sizeof allow), -1);
    assert_int_equal(routes_match(table, N, "GET", "/v1/cases//stages", &m, allow, sizeof allow), -1);
    assert_int_equal(routes_match(table, N, "GET", "/v2/cases", &m, allow, sizeof allow), -1);
}

static void test_wrong_method_is_405_with_allow(void **state) {
    (void)state;
    route_match_t m;
    char allow[64];
    assert_int_equal(routes_match(table, N, "DELETE", "/v1/cases", &m, allow, sizeof allow), -2);
    assert_string_equal(allow, "POST, GET");
    assert_int_equal(routes_match(table, N, "PUT", "/v1/cases/1", &m, allow, sizeof allow), -2);
    assert_string_equal(allow, "GET");
}

static void test_builtin_table_resolves_every_rpc(void **state) {
    (void)state;
    size_t n;
    const route_t *t = routes_table(&n);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(routes_method(&t[i]));
        assert_true(t[i].roles != 0);
        assert_true(t[i].path[0] == '/');
    }
}

/* A path parameter is percent-decoded exactly once and must be well formed
 * for its name; "%2500" is "%00" after one decoding, never a NUL. */
static void test_path_parameters_are_decoded_once_and_checked(void **state) {
    (void)state;
    arena_t *a = arena_new();
    static const route_t t[] = {{"GET", "/v1/cases/{id}/stages/{stageId}", "intake", NULL, "X", ROLE_CASEWORKER, 200},
                                {"PUT", "/v1/templates/{key}", "notify", NULL, "Y", ROLE_CASEWORKER, 200}};
    route_match_t m;
    char allow[64];
    const char *id = "0f8e2c3a-1b2c-4d5e-8f90-123456789abc";
    char path[256];
    snprintf(path, sizeof path, "/v1/cases/0F8E2C3A%%2D1B2C-4d5e-8f90-123456789ABC/stages/%s", id);
    assert_int_equal(routes_match(t, 2, "GET", path, &m, allow, sizeof allow), 0);
    assert_int_equal(routes_decode_params(a, &m), 0);
    assert_string_equal(m.params[0].text, id); /* decoded and lower-cased */
    assert_string_equal(m.params[1].text, id);
    const char *bad[] = {"%2500junk", "%00", "%2565", "%", "%4", "%zz", "x", "%0d%0aSet-Cookie"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/v1/cases/%s%s/stages/%s", i < 3 ? id : "", bad[i], id);
        assert_int_equal(routes_match(t, 2, "GET", path, &m, allow, sizeof allow), 0);
        assert_int_equal(routes_decode_params(a, &m), -1);
    }
    assert_int_equal(routes_match(t, 2, "PUT", "/v1/templates/case.opened%2Dv2", &m, allow, sizeof allow), 0);
    assert_int_equal(routes_decode_params(a, &m), 0);
    assert_string_equal(m.params[0].text, "case.opened-v2");
    assert_int_equal(routes_match(t, 2, "PUT", "/v1/templates/a%20b", &m, allow, sizeof allow), 0);
    assert_int_equal(routes_decode_params(a, &m), -1);
    arena_destroy(&a);
}

/* ics: "{id}.ics" takes the text before the suffix as the id, decoded once. */
static void test_a_parameter_before_a_suffix(void **state) {
    (void)state;
    arena_t *a = arena_new();
    static const route_t t[] = {{"GET", "/v1/appointments/{id}.ics", "scheduling", NULL, "X", ROLE_CASEWORKER, 200},
                                {"GET", "/v1/appointments/{id}", "scheduling", NULL, "Y", ROLE_CASEWORKER, 200}};
    route_match_t m;
    char allow[64];
    const char *id = "0f8e2c3a-1b2c-4d5e-8f90-123456789abc";
    char path[256];
    snprintf(path, sizeof path, "/v1/appointments/0F8E2C3A%%2D1b2c-4d5e-8f90-123456789abc.ics");
    assert_int_equal(routes_match(t, 2, "GET", path, &m, allow, sizeof allow), 0);
    assert_string_equal(m.route->rpc, "X");
    assert_int_equal(routes_decode_params(a, &m), 0);
    assert_string_equal(m.params[0].text, id);
    /* Without the suffix, the plain route. */
    snprintf(path, sizeof path, "/v1/appointments/%s", id);
    assert_int_equal(routes_match(t, 2, "GET", path, &m, allow, sizeof allow), 0);
    assert_string_equal(m.route->rpc, "Y");
    /* The suffix alone, or an id that keeps a suffix or an escaped one, is no id. */
    assert_int_equal(routes_match(t, 1, "GET", "/v1/appointments/.ics", &m, allow, sizeof allow), -1);
    const char *bad[] = {".ics.ics", "%2Eics", ".ics%00", "%2500.ics"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/v1/appointments/%s%s", id, bad[i]);
        int rc = routes_match(t, 2, "GET", path, &m, allow, sizeof allow);
        assert_true(rc == -1 || routes_decode_params(a, &m) == -1);
    }
    assert_int_equal(routes_match(t, 1, "GET", "/v1/appointments/x.ics/y", &m, allow, sizeof allow), -1);
    arena_destroy(&a);
}

static void test_json_content_types(void **state) {
    (void)state;
    assert_true(request_is_json("application/json"));
    assert_true(request_is_json("application/json; charset=utf-8"));
    assert_true(request_is_json("Application/JSON;charset=UTF-8"));
    assert_false(request_is_json("application/json; charset=latin1"));
    assert_false(request_is_json("text/plain"));
    assert_false(request_is_json("application/jsonx"));
    assert_false(request_is_json(NULL));
}

static void test_request_ids(void **state) {
    (void)state;
    assert_true(request_id_is_valid("abc-123_x.y:z"));
    assert_false(request_id_is_valid(""));
    assert_false(request_id_is_valid("has space"));
    assert_false(request_id_is_valid("quote\"d"));
    char long_id[80];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[79] = '\0';
    assert_false(request_id_is_valid(long_id));
}

static void test_keys_round_trip_and_reject_forgeries(void **state) {
    (void)state;
    const char *client = "0f8fad5b-d9cb-469f-a165-70867728950e";
    char key[KEYS_LEN + 1], id[37];
    assert_int_equal(keys_generate(client, key), 0);
    assert_int_equal(strlen(key), KEYS_LEN);
    assert_int_equal(keys_parse(key, id), 0);
    assert_string_equal(id, client);
    char other[KEYS_LEN + 1];
    assert_int_equal(keys_generate(client, other), 0);
    assert_string_not_equal(key, other);
    key[10] = 'Z'; /* hex part must be lowercase hex */
    assert_int_equal(keys_parse(key, id), -1);
    assert_int_equal(keys_parse("pk_short", id), -1);
    assert_int_equal(keys_generate("not-a-uuid", key), -1);
}

static void test_key_hash_depends_on_secret_and_key(void **state) {
    (void)state;
    unsigned char s1[32] = {1}, s2[32] = {2}, h1[32], h2[32], h3[32];
    assert_int_equal(keys_hash(s1, 32, "pk_a", h1), 0);
    assert_int_equal(keys_hash(s2, 32, "pk_a", h2), 0);
    assert_int_equal(keys_hash(s1, 32, "pk_b", h3), 0);
    assert_false(keys_hash_equal(h1, h2));
    assert_false(keys_hash_equal(h1, h3));
    assert_int_equal(keys_hash(s1, 32, "pk_a", h2), 0);
    assert_true(keys_hash_equal(h1, h2));
    unsigned char out[64];
    assert_int_equal(keys_secret_from_hex("00", out, sizeof out), -1);
    char hex[65];
    memset(hex, 'a', 64);
    hex[64] = '\0';
    assert_int_equal(keys_secret_from_hex(hex, out, sizeof out), 32);
    hex[3] = 'g';
    assert_int_equal(keys_secret_from_hex(hex, out, sizeof out), -1);
}

static void test_status_codes_map_as_grpc_gateway(void **state) {
    (void)state;
    assert_int_equal(http_status_for_code(0), 200);
    assert_int_equal(http_status_for_code(3), 400);
    assert_int_equal(http_status_for_code(4), 504);
    assert_int_equal(http_status_for_code(5), 404);
    assert_int_equal(http_status_for_code(6), 409);
    assert_int_equal(http_status_for_code(7), 403);
    assert_int_equal(http_status_for_code(8), 429);
    assert_int_equal(http_status_for_code(9), 412);
    assert_int_equal(http_status_for_code(10), 409);
    assert_int_equal(http_status_for_code(13), 500);
    assert_int_equal(http_status_for_code(14), 503);
    assert_int_equal(http_status_for_code(16), 401);
}

static void test_roles_by_name(void **state) {
    (void)state;
    char *names[] = {"caseworker", "analyst"};
    const char *unknown;
    assert_int_equal(roles_from_names(names, 2, &unknown), ROLE_CASEWORKER | ROLE_ANALYST);
    assert_null(unknown);
    char *bad[] = {"caseworker", "root"};
    roles_from_names(bad, 2, &unknown);
    assert_string_equal(unknown, "root");
    assert_string_equal(roles_name(ROLE_PARTNER_AGENCY), "partner_agency");
    assert_int_equal(roles_from_name("trainer"), ROLE_TRAINER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_path_matches_its_method),
        cmocka_unit_test(test_parameter_is_captured),
        cmocka_unit_test(test_unknown_paths_are_404),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_builtin_table_resolves_every_rpc),
        cmocka_unit_test(test_path_parameters_are_decoded_once_and_checked),
        cmocka_unit_test(test_json_content_types),
        cmocka_unit_test(test_request_ids),
        cmocka_unit_test(test_keys_round_trip_and_reject_forgeries),
        cmocka_unit_test(test_key_hash_depends_on_secret_and_key),
        cmocka_unit_test(test_status_codes_map_as_grpc_gateway),
        cmocka_unit_test(test_roles_by_name),
        cmocka_unit_test(test_a_parameter_before_a_suffix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
