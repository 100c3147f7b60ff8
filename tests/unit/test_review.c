/* When a leaflet is next due for review (services/intake/review.h), and
 * the order of deadlines across cases (deadline_key, deadlines.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "services/intake/review.h"
#include "svc/svc.h"

#define K(x) PARLEY__INTAKE__V1__DEADLINE_KIND__DEADLINE_KIND_##x
#define S(x) PARLEY__INTAKE__V1__SEN_STAGE__SEN_STAGE_##x

static int64_t day(const char *s) {
    int64_t d;
    if (!svc_parse_date(s, &d)) fail_msg("bad date in test: %s", s);
    return d;
}

static void assert_next(const char *reviewed, int months, const char *want) {
    char got[11];
    deadline_format(review_next_due(day(reviewed), months), got);
    if (strcmp(got, want) != 0) fail_msg("%s + %d months: got %s, want %s", reviewed, months, got, want);
}

static void next_review_is_the_corresponding_date_months_on(void **state) {
    (void)state;
    assert_next("2024-01-15", 12, "2025-01-15");
    assert_next("2024-03-31", 6, "2024-09-30");   /* September has 30 days */
    assert_next("2024-08-31", 6, "2025-02-28");
    assert_next("2023-08-31", 6, "2024-02-29");   /* a leap year */
    assert_next("2024-02-29", 12, "2025-02-28");
    assert_next("2024-02-29", 48, "2028-02-29");
    assert_next("2024-12-31", 1, "2025-01-31");   /* into the next year */
    assert_next("2024-11-30", 60, "2029-11-30");
}

static void an_absent_interval_is_twelve_months_and_only_1_to_60_are_valid(void **state) {
    (void)state;
    assert_int_equal(review_interval(0), 12);
    assert_int_equal(review_interval(3), 3);
    assert_false(review_interval_is_valid(0));
    assert_true(review_interval_is_valid(1));
    assert_true(review_interval_is_valid(60));
    assert_false(review_interval_is_valid(61));
    assert_false(review_interval_is_valid(-1));
}

static deadline_t dl(const char *due, int kind, const char *starts, int from) {
    return (deadline_t){.kind = kind, .starts_from = from, .starts_on = day(starts), .due_on = day(due)};
}

static void deadlines_across_cases_sort_by_due_date_then_kind_start_and_stage(void **state) {
    (void)state;
    deadline_t a = dl("2024-03-04", K(FINAL_PLAN), "2023-10-16", S(ASSESSMENT_REQUESTED));
    deadline_t b = dl("2024-03-05", K(ASSESSMENT_DECISION), "2024-01-22", S(ASSESSMENT_REQUESTED));
    deadline_t c = dl("2024-03-05", K(FINAL_PLAN), "2023-10-17", S(ASSESSMENT_REQUESTED));
    deadline_t d = dl("2024-03-05", K(FINAL_PLAN), "2023-10-18", S(ASSESSMENT_REQUESTED));
    deadline_t e = dl("2024-03-05", K(APPEAL), "2024-01-05", S(ASSESSMENT_REFUSED));
    deadline_t f = dl("2024-03-05", K(APPEAL), "2024-01-05", S(FINAL_PLAN_ISSUED));
    assert_true(deadline_key(&a) < deadline_key(&b));     /* an earlier due date first, whatever the kind */
    assert_true(deadline_key(&b) < deadline_key(&c));     /* then by kind */
    assert_true(deadline_key(&c) < deadline_key(&d));     /* then by start */
    assert_true(deadline_key(&e) < deadline_key(&f));     /* then by the stage it starts from */
    /* Far dates keep their order and stay positive. */
    deadline_t early = dl("1900-02-01", K(APPEAL), "1900-01-01", S(ASSESSMENT_REFUSED));
    deadline_t late = dl("9999-12-31", K(ASSESSMENT_DECISION), "9999-11-01", S(ASSESSMENT_REQUESTED));
    assert_true(deadline_key(&early) > 0);
    assert_true(deadline_key(&early) < deadline_key(&a) && deadline_key(&d) < deadline_key(&late));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(next_review_is_the_corresponding_date_months_on),
        cmocka_unit_test(an_absent_interval_is_twelve_months_and_only_1_to_60_are_valid),
        cmocka_unit_test(deadlines_across_cases_sort_by_due_date_then_kind_start_and_stage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
