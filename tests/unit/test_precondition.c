/* If-Match against an object's version (strong comparison, RFC 9110). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "svc/precondition.h"

static const char *versions(arena_t *a, const char *header) {
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.if_match = (char *)header;
    bus_request_t req = {.header = &h};
    return svc_if_match(a, &req);
}

static void test_no_header_or_a_star_means_no_check(void **state) {
    (void)state;
    arena_t *a = arena_new();
    assert_null(versions(a, NULL));
    assert_null(versions(a, ""));
    assert_null(versions(a, "*"));
    assert_null(versions(a, " \"3\", *"));
    arena_destroy(&a);
}

static void test_strong_tags_name_versions(void **state) {
    (void)state;
    arena_t *a = arena_new();
    assert_string_equal(versions(a, "\"3\""), "{3}");
    assert_string_equal(versions(a, "\"3\", \"12\""), "{3,12}");
    assert_string_equal(versions(a, "  \"7\"  "), "{7}");
    arena_destroy(&a);
}

static void test_weak_or_foreign_tags_match_nothing(void **state) {
    (void)state;
    arena_t *a = arena_new();
    assert_string_equal(versions(a, "W/\"3\""), "{}");
    assert_string_equal(versions(a, "3"), "{}");
    assert_string_equal(versions(a, "\"abc\""), "{}");
    assert_string_equal(versions(a, "\"3"), "{}");
    assert_string_equal(versions(a, "\"12345678901\""), "{}"); /* beyond an int */
    assert_string_equal(versions(a, "W/\"3\", \"4\""), "{4}");
    arena_destroy(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_header_or_a_star_means_no_check),
        cmocka_unit_test(test_strong_tags_name_versions),
        cmocka_unit_test(test_weak_or_foreign_tags_match_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
