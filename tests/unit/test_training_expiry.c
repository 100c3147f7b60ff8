/* Training's expiry arithmetic (services/training/expiry.c): month ends,
 * leap days, validity none, late and back-dated completions, the London
 * date, and the standing of a person from their courses'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "services/training/expiry.h"

#define DAY(y, m, d) expiry_days_from_civil(y, m, d)

static void assert_day(int64_t got, int y, int m, int d) {
    char a[11], b[11];
    expiry_format(got, a);
    expiry_format(DAY(y, m, d), b);
    assert_string_equal(a, b);
}

static void test_month_end_clamps_to_the_shorter_month(void **state) {
    (void)state;
    assert_day(expiry_add_months(DAY(2025, 1, 31), 1), 2025, 2, 28);
    assert_day(expiry_add_months(DAY(2024, 1, 31), 1), 2024, 2, 29);
    assert_day(expiry_add_months(DAY(2025, 3, 31), 1), 2025, 4, 30);
    assert_day(expiry_add_months(DAY(2025, 8, 31), 6), 2026, 2, 28);
    /* The day of the month is kept when the month has it. */
    assert_day(expiry_add_months(DAY(2025, 1, 15), 1), 2025, 2, 15);
    assert_day(expiry_add_months(DAY(2025, 11, 30), 3), 2026, 2, 28);
    assert_day(expiry_add_months(DAY(2025, 12, 31), 12), 2026, 12, 31);
}

static void test_leap_days(void **state) {
    (void)state;
    /* 29 February + 12 months: no 29th in 2025. */
    assert_day(expiry_add_months(DAY(2024, 2, 29), 12), 2025, 2, 28);
    assert_day(expiry_add_months(DAY(2024, 2, 29), 48), 2028, 2, 29);
    /* 2100 is not a leap year, 2000 was. */
    assert_day(expiry_add_months(DAY(2100, 1, 29), 1), 2100, 2, 28);
    assert_day(expiry_add_months(DAY(2000, 1, 29), 1), 2000, 2, 29);
}

static void test_validity_none_never_expires(void **state) {
    (void)state;
    bool expires = true;
    int64_t on = -1;
    assert_int_equal(expiry_state(true, DAY(1999, 1, 1), 0, DAY(2040, 1, 1), 60, &expires, &on), EXPIRY_COMPLIANT);
    assert_false(expires);
    assert_int_equal(expiry_state(false, 0, 0, DAY(2040, 1, 1), 60, &expires, NULL), EXPIRY_MISSING);
}

static void test_expired_from_the_expiry_day_on_and_expiring_within_the_window(void **state) {
    (void)state;
    bool expires;
    int64_t on;
    int64_t done = DAY(2025, 1, 31);
    /* In date up to 27 February 2026 (12 months: 31 January 2026 ... the expiry is 2026-01-31). */
    assert_int_equal(expiry_state(true, done, 12, DAY(2026, 1, 30), 60, &expires, &on), EXPIRY_EXPIRING);
    assert_true(expires);
    assert_day(on, 2026, 1, 31);
    assert_int_equal(expiry_state(true, done, 12, DAY(2026, 1, 31), 60, NULL, NULL), EXPIRY_EXPIRED);
    /* 60 days before the expiry is within the window; 61 is not. */
    assert_int_equal(expiry_state(true, done, 12, DAY(2026, 1, 31) - 60, 60, NULL, NULL), EXPIRY_EXPIRING);
    assert_int_equal(expiry_state(true, done, 12, DAY(2026, 1, 31) - 61, 60, NULL, NULL), EXPIRY_COMPLIANT);
    /* A window of 0: expiring never, expired on the day. */
    assert_int_equal(expiry_state(true, done, 12, DAY(2026, 1, 30), 0, NULL, NULL), EXPIRY_COMPLIANT);
}

static void test_a_back_dated_or_late_completion_counts_from_the_day_it_was_completed(void **state) {
    (void)state;
    /* Completed 1 March 2025, recorded a year later on 5 March 2026, valid
     * 12 months: expired already when it is recorded (on 1 March 2026),
     * not in date until March 2027. */
    int64_t on;
    assert_int_equal(expiry_state(true, DAY(2025, 3, 1), 12, DAY(2026, 3, 5), 60, NULL, &on), EXPIRY_EXPIRED);
    assert_day(on, 2026, 3, 1);
    /* Completed 1 March 2026, recorded 5 March 2026: in date. */
    assert_int_equal(expiry_state(true, DAY(2026, 3, 1), 12, DAY(2026, 3, 5), 60, NULL, NULL), EXPIRY_COMPLIANT);
}

static int64_t utc(int y, int m, int d, int hh, int mm) { return DAY(y, m, d) * 86400 + hh * 3600 + mm * 60; }

static void test_the_london_date(void **state) {
    (void)state;
    /* Winter: GMT. */
    assert_day(expiry_london_day(utc(2026, 1, 10, 23, 30)), 2026, 1, 10);
    /* Summer: BST, an hour ahead: 23:30 UTC is already tomorrow. */
    assert_day(expiry_london_day(utc(2026, 7, 10, 23, 30)), 2026, 7, 11);
    assert_day(expiry_london_day(utc(2026, 7, 10, 22, 59)), 2026, 7, 10);
    /* 2026: BST from 01:00 UTC on 29 March to 01:00 UTC on 25 October. */
    assert_day(expiry_london_day(utc(2026, 3, 28, 23, 30)), 2026, 3, 28);
    assert_day(expiry_london_day(utc(2026, 3, 29, 23, 30)), 2026, 3, 30);
    assert_day(expiry_london_day(utc(2026, 10, 24, 23, 30)), 2026, 10, 25);
    assert_day(expiry_london_day(utc(2026, 10, 25, 23, 30)), 2026, 10, 25);
    /* New Year's Eve in London is New Year's Eve in UTC. */
    assert_day(expiry_london_day(utc(2025, 12, 31, 23, 59)), 2025, 12, 31);
}

static void test_a_persons_standing_is_the_worst_of_their_courses(void **state) {
    (void)state;
    expiry_state_t a[] = {EXPIRY_COMPLIANT, EXPIRY_EXPIRING};
    assert_int_equal(expiry_overall(a, 2), EXPIRY_EXPIRING);
    expiry_state_t b[] = {EXPIRY_EXPIRING, EXPIRY_MISSING, EXPIRY_COMPLIANT};
    assert_int_equal(expiry_overall(b, 3), EXPIRY_MISSING);
    expiry_state_t c[] = {EXPIRY_MISSING, EXPIRY_EXPIRED};
    assert_int_equal(expiry_overall(c, 2), EXPIRY_EXPIRED);
    assert_int_equal(expiry_overall(NULL, 0), EXPIRY_COMPLIANT);
    assert_true(expiry_lapsed(EXPIRY_EXPIRED));
    assert_true(expiry_lapsed(EXPIRY_MISSING));
    assert_false(expiry_lapsed(EXPIRY_EXPIRING));
    assert_false(expiry_lapsed(EXPIRY_COMPLIANT));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_month_end_clamps_to_the_shorter_month),
        cmocka_unit_test(test_leap_days),
        cmocka_unit_test(test_validity_none_never_expires),
        cmocka_unit_test(test_expired_from_the_expiry_day_on_and_expiring_within_the_window),
        cmocka_unit_test(test_a_back_dated_or_late_completion_counts_from_the_day_it_was_completed),
        cmocka_unit_test(test_the_london_date),
        cmocka_unit_test(test_a_persons_standing_is_the_worst_of_their_courses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
