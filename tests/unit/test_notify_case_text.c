/* The values of the case events' templates: a window's last day across
 * month and year ends, the signposted agencies as lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "services/notify/case_text.h"

static const char *plus(const char *ymd, int days) {
    static char out[11];
    if (case_text_add_days(ymd, days, out) != 0) return NULL;
    return out;
}

static void test_fifteen_days_cross_month_year_and_leap_day(void **state) {
    (void)state;
    assert_string_equal(plus("2026-03-10", 15), "2026-03-25");
    assert_string_equal(plus("2026-01-20", 15), "2026-02-04");
    assert_string_equal(plus("2026-12-20", 15), "2027-01-04");
    assert_string_equal(plus("2028-02-20", 15), "2028-03-06"); /* 2028 is a leap year */
    assert_string_equal(plus("2026-02-20", 15), "2026-03-07");
    /* The spring clock change (29 March 2026 in London) takes no day away. */
    assert_string_equal(plus("2026-03-20", 15), "2026-04-04");
}

static void test_a_date_that_is_not_real_is_refused(void **state) {
    (void)state;
    assert_null(plus("2026-02-30", 15));
    assert_null(plus("2026-13-01", 15));
    assert_null(plus("2026-1-01", 15));
    assert_null(plus("2026-01-01x", 15));
    assert_null(plus("", 15));
    assert_null(plus(NULL, 15));
    assert_null(plus("9999-12-31", 15));
}

static void test_agencies_in_the_family_language_come_first_and_are_marked(void **state) {
    (void)state;
    arena_t *a = arena_new();
    json_t *s = json_loads("[{\"agencyName\": \"Autism Hub\", \"agencyKind\": \"social_care\", \"servesLanguage\": false,"
                           "  \"contact\": {\"email\": \"hub@example.org\", \"phone\": \"020 7946 0000\"}},"
                           " {\"agencyName\": \"Polska Pomoc\", \"agencyKind\": \"charity\", \"servesLanguage\": true,"
                           "  \"contact\": {\"website\": \"https://pomoc.example\", \"address\": \"1 High St\\nLondon\"}},"
                           " {\"agencyKind\": \"health\"}]",
                           0, NULL);
    size_t n = 0;
    char *lines = case_text_agencies(a, s, &n);
    assert_int_equal(n, 2);
    assert_string_equal(lines, "\xE2\x9C\x93 Polska Pomoc (charity): https://pomoc.example, 1 High St London\n"
                               "\xE2\x80\x93 Autism Hub (social care): hub@example.org, 020 7946 0000");
    json_decref(s);
    arena_destroy(&a);
}

static void test_no_agency_lists_nothing_and_many_are_bounded(void **state) {
    (void)state;
    arena_t *a = arena_new();
    size_t n = 7;
    json_t *none = json_array();
    assert_null(case_text_agencies(a, none, &n));
    assert_int_equal(n, 0);
    assert_null(case_text_agencies(a, NULL, &n));
    json_t *many = json_array();
    char name[400];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    for (int i = 0; i < 40; i++) json_array_append_new(many, json_pack("{s:s, s:b}", "agencyName", name, "servesLanguage", 0));
    char *lines = case_text_agencies(a, many, &n);
    assert_int_equal(n, CASE_TEXT_MAX_AGENCIES);
    assert_true(strlen(lines) <= CASE_TEXT_MAX_AGENCIES * (CASE_TEXT_MAX_FIELD + 5));
    json_decref(none);
    json_decref(many);
    arena_destroy(&a);
}

static void test_a_long_name_is_cut_before_a_character(void **state) {
    (void)state;
    arena_t *a = arena_new();
    json_t *s = json_pack("[{s:s}]", "agencyName", "\xC5\x82\xC5\x82");
    size_t n;
    assert_string_equal(case_text_agencies(a, s, &n), "\xE2\x80\x93 \xC5\x82\xC5\x82");
    json_decref(s);
    char odd[CASE_TEXT_MAX_FIELD + 4] = "a";
    for (int i = 0; i < CASE_TEXT_MAX_FIELD / 2 + 1; i++) strcat(odd, "\xC5\x82");
    s = json_pack("[{s:s}]", "agencyName", odd);
    char *line = case_text_agencies(a, s, &n);
    /* "– " (4 bytes), then "a" and 149 whole characters: 299 bytes, not 300. */
    assert_int_equal(strlen(line), 4 + 1 + 2 * (CASE_TEXT_MAX_FIELD / 2 - 1));
    json_decref(s);
    arena_destroy(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifteen_days_cross_month_year_and_leap_day),
        cmocka_unit_test(test_a_date_that_is_not_real_is_refused),
        cmocka_unit_test(test_agencies_in_the_family_language_come_first_and_are_marked),
        cmocka_unit_test(test_no_agency_lists_nothing_and_many_are_bounded),
        cmocka_unit_test(test_a_long_name_is_cut_before_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
