/* Young people as clients: aged 16 to 25 on the date in Europe/London. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/intake/young_age.h"
#include "svc/svc.h"

static int64_t day(const char *s) {
    int64_t d;
    if (!svc_parse_date(s, &d)) fail_msg("bad date in test: %s", s);
    return d;
}

/* Unix seconds of a UTC date and time. */
static int64_t utc(const char *date, int h, int m) { return day(date) * 86400 + h * 3600 + m * 60; }

static void test_a_year_older_on_the_birthday_not_the_day_before(void **state) {
    (void)state;
    assert_int_equal(young_age_years(day("2009-06-15"), day("2025-06-14")), 15);
    assert_int_equal(young_age_years(day("2009-06-15"), day("2025-06-15")), 16);
    assert_int_equal(young_age_years(day("2009-06-15"), day("2025-06-16")), 16);
    assert_int_equal(young_age_years(day("2009-06-15"), day("2025-05-31")), 15); /* earlier month, later day */
    assert_int_equal(young_age_years(day("2009-06-15"), day("2025-07-01")), 16); /* later month, earlier day */
    assert_int_equal(young_age_years(day("2009-06-15"), day("2009-06-15")), 0);
    assert_int_equal(young_age_years(day("2009-06-15"), day("2009-06-14")), -1);
}

static void test_sixteen_to_twenty_five_inclusive(void **state) {
    (void)state;
    int64_t on = day("2025-09-01");
    assert_false(young_age_in_range(day("2009-09-02"), on)); /* 15, 16 tomorrow */
    assert_true(young_age_in_range(day("2009-09-01"), on));  /* 16 today */
    assert_true(young_age_in_range(day("1999-09-02"), on));  /* 25, 26 tomorrow */
    assert_false(young_age_in_range(day("1999-09-01"), on)); /* 26 today */
    assert_false(young_age_in_range(day("2026-01-01"), on)); /* not born yet */
}

static void test_born_on_29_february_a_year_older_on_1_march_in_other_years(void **state) {
    (void)state;
    int64_t leapling = day("2008-02-29");
    assert_int_equal(young_age_years(leapling, day("2025-02-28")), 16);
    assert_int_equal(young_age_years(leapling, day("2024-02-28")), 15);
    assert_int_equal(young_age_years(leapling, day("2024-02-29")), 16); /* a leap year: the day itself */
    assert_int_equal(young_age_years(day("2009-02-28"), day("2025-02-28")), 16);
    /* Born 29 February 2008: 15 on 28 February 2024, 16 on the 29th. */
    assert_false(young_age_in_range(leapling, day("2024-02-28")));
    assert_true(young_age_in_range(leapling, day("2024-02-29")));
    /* Born 29 February 2012: in 2029 (no 29 February) still 16 on 28
     * February, 17 on 1 March. */
    assert_int_equal(young_age_years(day("2012-02-29"), day("2029-02-28")), 16);
    assert_int_equal(young_age_years(day("2012-02-29"), day("2029-03-01")), 17);
    /* 26 (too old) on 1 March 2034, still 25 on 28 February. */
    assert_true(young_age_in_range(leapling, day("2034-02-28")));
    assert_false(young_age_in_range(leapling, day("2034-03-01")));
    assert_int_equal(young_age_years(day("2004-02-29"), day("2021-02-28")), 16);
    assert_int_equal(young_age_years(day("2004-02-29"), day("2021-03-01")), 17);
}

static void test_the_london_date_runs_an_hour_ahead_in_summer_time(void **state) {
    (void)state;
    /* Summer: 23:30 UTC is 00:30 BST the next day. */
    assert_int_equal(young_age_london_day(utc("2025-06-14", 23, 30)), day("2025-06-15"));
    assert_int_equal(young_age_london_day(utc("2025-06-14", 22, 59)), day("2025-06-14"));
    /* Winter: London is on UTC. */
    assert_int_equal(young_age_london_day(utc("2025-12-14", 23, 30)), day("2025-12-14"));
    assert_int_equal(young_age_london_day(utc("2025-12-15", 0, 0)), day("2025-12-15"));
    /* 2025: BST from 01:00 UTC on 30 March to 01:00 UTC on 26 October. */
    assert_int_equal(young_age_london_day(utc("2025-03-29", 23, 30)), day("2025-03-29")); /* still GMT */
    assert_int_equal(young_age_london_day(utc("2025-10-25", 23, 30)), day("2025-10-26")); /* still BST */
    assert_int_equal(young_age_london_day(utc("2025-10-26", 23, 30)), day("2025-10-26")); /* GMT again */
    assert_int_equal(young_age_london_day(utc("2024-03-31", 0, 59)), day("2024-03-31"));
    /* Before 1970 too. */
    assert_int_equal(young_age_london_day(utc("1969-07-20", 23, 30)), day("1969-07-21"));
}

static void test_a_birthday_that_starts_in_london_before_it_does_in_utc(void **state) {
    (void)state;
    /* 16 at 00:30 BST on 15 June 2025, when UTC still says 14 June. */
    int64_t born = day("2009-06-15");
    int64_t now = utc("2025-06-14", 23, 30);
    assert_false(young_age_in_range(born, now / 86400));
    assert_true(young_age_in_range(born, young_age_london_day(now)));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_year_older_on_the_birthday_not_the_day_before),
        cmocka_unit_test(test_sixteen_to_twenty_five_inclusive),
        cmocka_unit_test(test_born_on_29_february_a_year_older_on_1_march_in_other_years),
        cmocka_unit_test(test_the_london_date_runs_an_hour_ahead_in_summer_time),
        cmocka_unit_test(test_a_birthday_that_starts_in_london_before_it_does_in_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
