/* The times in the templates of scheduling's and matching's events: an
 * instant as London's wall-clock time on both sides of the UK clock
 * changes of 2027 (28 March, 31 October), and matching's RFC 3339 text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "services/notify/event_time.h"

static int64_t at(const char *text) {
    int64_t s = 0;
    assert_int_equal(event_time_parse(text, &s), 0);
    return s;
}

static void test_london_wall_clock_across_the_2027_changes(void **state) {
    (void)state;
    arena_t *a = arena_new();
    const char *z = "Europe/London";
    /* Before and after 01:00Z on 28 March 2027, when clocks go forward. */
    assert_string_equal(event_time_local(a, at("2027-03-28T00:59:00Z"), z), "2027-03-28 00:59");
    assert_string_equal(event_time_local(a, at("2027-03-28T01:00:00Z"), z), "2027-03-28 02:00");
    assert_string_equal(event_time_local(a, at("2027-06-15T17:00:00Z"), z), "2027-06-15 18:00");
    /* 31 October 2027: 01:30 BST, then 01:30 GMT an hour later. */
    assert_string_equal(event_time_local(a, at("2027-10-31T00:30:00Z"), z), "2027-10-31 01:30");
    assert_string_equal(event_time_local(a, at("2027-10-31T01:30:00Z"), z), "2027-10-31 01:30");
    assert_string_equal(event_time_local(a, at("2027-12-31T23:59:00Z"), z), "2027-12-31 23:59");
    /* Another zone, and one that is not. */
    assert_string_equal(event_time_local(a, at("2027-01-05T12:00:00Z"), "Asia/Karachi"), "2027-01-05 17:00");
    assert_null(event_time_local(a, 0, "Not/AZone"));
    assert_null(event_time_local(a, 0, "../../etc/passwd"));
    assert_null(event_time_local(a, 0, NULL));
    arena_destroy(&a);
}

static void test_matching_s_instants_are_read_and_others_refused(void **state) {
    (void)state;
    int64_t s;
    assert_int_equal(at("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(at("2026-12-01T10:00:00Z"), 1796119200);
    assert_int_equal(at("2026-12-01T10:00:00.855360Z"), 1796119200);
    const char *bad[] = {"2026-12-01T10:00:00+01:00", "2026-12-01 10:00:00Z", "2026-02-30T10:00:00Z",
                         "2026-12-01T24:00:00Z", "2026-12-01T10:00:00", "2026-12-01T10:00:00Zx", "", NULL,
                         "2026-12-01T10:00:00.000000000000000000000000000000Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(event_time_parse(bad[i], &s), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_london_wall_clock_across_the_2027_changes),
        cmocka_unit_test(test_matching_s_instants_are_read_and_others_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
