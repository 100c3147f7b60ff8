/* The SEN process's statutory deadlines: UK calendar arithmetic and each rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "svc/svc.h"

#define S(x) PARLEY__INTAKE__V1__SEN_STAGE__SEN_STAGE_##x
#define K(x) PARLEY__INTAKE__V1__DEADLINE_KIND__DEADLINE_KIND_##x
#define ST(x) PARLEY__INTAKE__V1__DEADLINE_STATUS__DEADLINE_STATUS_##x
#define FAMILY PARLEY__INTAKE__V1__DEADLINE_PARTY__DEADLINE_PARTY_FAMILY
#define AUTHORITY PARLEY__INTAKE__V1__DEADLINE_PARTY__DEADLINE_PARTY_AUTHORITY

static int64_t day(const char *s) {
    int64_t d;
    if (!svc_parse_date(s, &d)) fail_msg("bad date in test: %s", s);
    return d;
}

static const char *text(int64_t d) {
    static char buf[4][11];
    static int k;
    int y, m, md;
    deadline_civil(d, &y, &m, &md);
    char *b = buf[k++ % 4];
    snprintf(b, 11, "%04d-%02d-%02d", y, m, md);
    return b;
}

/* One dated case: start + n units = want. */
typedef struct {
    const char *start;
    char unit; /* 'd', 'w', 'm' */
    int n;
    const char *want;
} dated_t;

static void check_dated(const dated_t *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t s = day(cases[i].start), got;
        if (cases[i].unit == 'd') got = deadline_add_days(s, cases[i].n);
        else if (cases[i].unit == 'w') got = deadline_add_weeks(s, cases[i].n);
        else got = deadline_add_months(s, cases[i].n);
        if (strcmp(text(got), cases[i].want) != 0)
            fail_msg("%s + %d%c: got %s, want %s", cases[i].start, cases[i].n, cases[i].unit, text(got), cases[i].want);
    }
}

static void test_day_numbers_round_trip_through_the_civil_calendar(void **state) {
    (void)state;
    const char *dates[] = {"1970-01-01", "1999-12-31", "2000-02-29", "2024-02-29", "2100-03-01", "1969-07-20"};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) assert_string_equal(text(day(dates[i])), dates[i]);
    assert_int_equal(deadline_day(1970, 1, 1), 0);
    assert_int_equal(deadline_day(2024, 3, 1) - deadline_day(2024, 2, 28), 2);
}

/* Days and weeks are calendar days: no skipping weekends or bank holidays. */
static void test_days_and_weeks_are_calendar_days_across_month_and_year_ends(void **state) {
    (void)state;
    const dated_t cases[] = {
        {"2024-01-17", 'd', 15, "2024-02-01"}, {"2024-02-20", 'd', 15, "2024-03-06"}, /* leap February */
        {"2023-02-20", 'd', 15, "2023-03-07"}, {"2024-12-20", 'd', 15, "2025-01-04"},
        {"2024-01-01", 'w', 6, "2024-02-12"},  {"2024-01-22", 'w', 6, "2024-03-04"}, /* across 29 Feb */
        {"2023-01-23", 'w', 6, "2023-03-06"},  {"2024-09-02", 'w', 20, "2025-01-20"},
        {"2024-10-15", 'w', 20, "2025-03-04"}, {"2023-10-17", 'w', 20, "2024-03-05"},
    };
    check_dated(cases, sizeof cases / sizeof cases[0]);
}

/* Dodds v Walker: the corresponding date, or the month's last day. */
static void test_months_end_on_the_corresponding_date_or_the_last_day_of_a_short_month(void **state) {
    (void)state;
    const dated_t cases[] = {
        {"2023-01-31", 'm', 1, "2023-02-28"},  {"2024-01-31", 'm', 1, "2024-02-29"},
        {"2024-02-29", 'm', 1, "2024-03-29"},  {"2024-02-29", 'm', 12, "2025-02-28"},
        {"2024-02-29", 'm', 48, "2028-02-29"}, {"2023-02-28", 'm', 12, "2024-02-28"},
        {"2024-03-31", 'm', 1, "2024-04-30"},  {"2024-08-31", 'm', 2, "2024-10-31"},
        {"2024-12-31", 'm', 2, "2025-02-28"},  {"2024-11-30", 'm', 3, "2025-02-28"},
        {"2024-10-15", 'm', 2, "2024-12-15"},  {"2024-11-15", 'm', 2, "2025-01-15"},
        {"2099-12-31", 'm', 2, "2100-02-28"}, /* 2100 is not a leap year */
        {"2000-01-31", 'm', 1, "2000-02-29"}, /* 2000 is */
        {"2024-05-31", 'm', -3, "2024-02-29"},
    };
    check_dated(cases, sizeof cases / sizeof cases[0]);
}

/* Runs the rules over stages; returns the deadline of kind (the first one). */
static size_t run(const deadline_stage_t *st, size_t n, const char *today, deadline_t *out) {
    return deadlines_compute(st, n, day(today), out, 32);
}

static const deadline_t *find(const deadline_t *d, size_t n, int kind, int nth) {
    for (size_t i = 0; i < n; i++)
        if (d[i].kind == kind && nth-- == 0) return &d[i];
    return NULL;
}

static size_t count(const deadline_t *d, size_t n, int kind) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += d[i].kind == kind;
    return k;
}

static void test_decision_on_assessment_is_due_six_weeks_after_the_request(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(ASSESSMENT_REQUESTED), day("2024-01-22")}};
    size_t n = run(st, 1, "2024-02-01", d);
    const deadline_t *x = find(d, n, K(ASSESSMENT_DECISION), 0);
    assert_non_null(x);
    assert_string_equal(text(x->due_on), "2024-03-04");
    assert_int_equal(x->status, ST(UPCOMING));
    assert_int_equal(x->party, AUTHORITY);
    assert_int_equal(x->starts_from, S(ASSESSMENT_REQUESTED));
    /* The day after the due date it is overdue; on the due date it is not. */
    n = run(st, 1, "2024-03-04", d);
    assert_int_equal(find(d, n, K(ASSESSMENT_DECISION), 0)->status, ST(UPCOMING));
    n = run(st, 1, "2024-03-05", d);
    assert_int_equal(find(d, n, K(ASSESSMENT_DECISION), 0)->status, ST(OVERDUE));
    /* Agreeing the assessment meets it, even late. */
    deadline_stage_t met[] = {{S(ASSESSMENT_REQUESTED), day("2024-01-22")}, {S(ASSESSMENT_AGREED), day("2024-03-08")}};
    n = run(met, 2, "2024-04-01", d);
    x = find(d, n, K(ASSESSMENT_DECISION), 0);
    assert_int_equal(x->status, ST(MET));
    assert_string_equal(text(x->met_on), "2024-03-08");
    assert_int_equal(x->met_by, S(ASSESSMENT_AGREED));
}

static void test_final_plan_is_due_twenty_weeks_after_the_request_unless_refused(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(ASSESSMENT_REQUESTED), day("2023-10-17")},
                             {S(ASSESSMENT_AGREED), day("2023-11-20")},
                             {S(FINAL_PLAN_ISSUED), day("2024-03-01")}};
    size_t n = run(st, 3, "2024-06-01", d);
    const deadline_t *x = find(d, n, K(FINAL_PLAN), 0);
    assert_string_equal(text(x->due_on), "2024-03-05"); /* 20 weeks across 29 Feb 2024 */
    assert_int_equal(x->status, ST(MET));
    assert_string_equal(text(x->met_on), "2024-03-01");
    deadline_stage_t refused[] = {{S(ASSESSMENT_REQUESTED), day("2024-01-02")},
                                  {S(ASSESSMENT_REFUSED), day("2024-02-10")}};
    n = run(refused, 2, "2024-06-01", d);
    assert_null(find(d, n, K(FINAL_PLAN), 0));
    assert_int_equal(find(d, n, K(ASSESSMENT_DECISION), 0)->status, ST(MET));
}

static void test_family_has_fifteen_days_to_respond_to_a_draft_plan(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(ASSESSMENT_REQUESTED), day("2023-12-01")}, {S(DRAFT_PLAN_ISSUED), day("2024-02-20")}};
    size_t n = run(st, 2, "2024-03-07", d);
    const deadline_t *x = find(d, n, K(DRAFT_PLAN_RESPONSE), 0);
    assert_string_equal(text(x->due_on), "2024-03-06");
    assert_int_equal(x->party, FAMILY);
    assert_int_equal(x->status, ST(OVERDUE));
}

static void test_family_has_fifteen_days_to_respond_to_a_proposed_statement(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(PROPOSED_STATEMENT_ISSUED), day("2010-12-20")},
                             {S(FINAL_STATEMENT_ISSUED), day("2011-02-01")}};
    size_t n = run(st, 2, "2011-03-01", d);
    const deadline_t *x = find(d, n, K(PROPOSED_STATEMENT_RESPONSE), 0);
    assert_string_equal(text(x->due_on), "2011-01-04");
    assert_int_equal(x->status, ST(MET));
    assert_int_equal(x->met_by, S(FINAL_STATEMENT_ISSUED));
}

static void test_appeal_is_due_two_months_after_a_decision(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(ASSESSMENT_REQUESTED), day("2023-11-20")},
                             {S(ASSESSMENT_REFUSED), day("2023-12-31")}};
    size_t n = run(st, 2, "2024-01-10", d);
    const deadline_t *x = find(d, n, K(APPEAL), 0);
    assert_string_equal(text(x->due_on), "2024-02-29"); /* 31 Dec + 2 months, leap year */
    assert_int_equal(x->starts_from, S(ASSESSMENT_REFUSED));
    assert_int_equal(x->party, FAMILY);
    assert_int_equal(x->status, ST(UPCOMING));
}

static void test_appeal_is_due_one_month_after_a_later_mediation_certificate(void **state) {
    (void)state;
    deadline_t d[32];
    /* Decision 15 Jan: 2 months is 15 Mar; certificate 1 Mar + 1 month = 1 Apr, later, so it wins. */
    deadline_stage_t later[] = {{S(FINAL_PLAN_ISSUED), day("2024-01-15")}, {S(MEDIATION), day("2024-03-01")}};
    size_t n = run(later, 2, "2024-03-02", d);
    assert_string_equal(text(find(d, n, K(APPEAL), 0)->due_on), "2024-04-01");
    /* Certificate 31 Jan + 1 month = 29 Feb, before 15 Mar: the 2 months stand. */
    deadline_stage_t earlier[] = {{S(FINAL_PLAN_ISSUED), day("2024-01-15")}, {S(MEDIATION), day("2024-01-31")}};
    n = run(earlier, 2, "2024-02-01", d);
    assert_string_equal(text(find(d, n, K(APPEAL), 0)->due_on), "2024-03-15");
    /* An appeal lodged meets it. */
    deadline_stage_t appealed[] = {{S(FINAL_PLAN_ISSUED), day("2024-01-15")},
                                   {S(MEDIATION), day("2024-03-01")},
                                   {S(TRIBUNAL_APPEAL), day("2024-03-20")}};
    n = run(appealed, 3, "2024-05-01", d);
    assert_int_equal(find(d, n, K(APPEAL), 0)->status, ST(MET));
}

static void test_each_decision_opens_its_own_appeal_window(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(ASSESSMENT_REFUSED), day("2023-03-10")},
                             {S(MEDIATION), day("2023-04-20")},
                             {S(TRIBUNAL_APPEAL), day("2023-05-01")},
                             {S(FINAL_PLAN_ISSUED), day("2024-01-31")}};
    size_t n = run(st, 4, "2024-02-05", d);
    assert_int_equal(count(d, n, K(APPEAL)), 2);
    const deadline_t *first = find(d, n, K(APPEAL), 0), *second = find(d, n, K(APPEAL), 1);
    assert_string_equal(text(first->due_on), "2023-05-20"); /* certificate 20 Apr + 1 month */
    assert_int_equal(first->status, ST(MET));
    assert_string_equal(text(second->due_on), "2024-03-31"); /* 31 Jan + 2 months */
    assert_int_equal(second->status, ST(UPCOMING));          /* the 2023 appeal does not meet it */
}

static void test_annual_review_is_due_twelve_months_after_the_plan_then_each_review(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(FINAL_PLAN_ISSUED), day("2024-02-29")}, {S(ANNUAL_REVIEW), day("2025-02-20")}};
    size_t n = run(st, 2, "2025-03-01", d);
    assert_int_equal(count(d, n, K(ANNUAL_REVIEW)), 2);
    const deadline_t *first = find(d, n, K(ANNUAL_REVIEW), 0), *next = find(d, n, K(ANNUAL_REVIEW), 1);
    assert_string_equal(text(first->due_on), "2025-02-28"); /* 29 Feb + 12 months */
    assert_int_equal(first->status, ST(MET));
    assert_string_equal(text(first->met_on), "2025-02-20");
    assert_string_equal(text(next->due_on), "2026-02-20");
    assert_int_equal(next->starts_from, S(ANNUAL_REVIEW));
    assert_int_equal(next->status, ST(UPCOMING));
    /* A statement is reviewed the same way, and can be overdue. */
    deadline_stage_t stmt[] = {{S(FINAL_STATEMENT_ISSUED), day("2012-01-31")}};
    n = run(stmt, 1, "2013-02-01", d);
    assert_string_equal(text(find(d, n, K(ANNUAL_REVIEW), 0)->due_on), "2013-01-31");
    assert_int_equal(find(d, n, K(ANNUAL_REVIEW), 0)->status, ST(OVERDUE));
}

static void test_statutory_assessment_follows_the_2001_code_timings(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(STATUTORY_ASSESSMENT), day("2008-09-01")},
                             {S(ASSESSMENT_AGREED), day("2008-10-06")},
                             {S(PROPOSED_STATEMENT_ISSUED), day("2009-01-12")}};
    size_t n = run(st, 3, "2009-02-01", d);
    assert_string_equal(text(find(d, n, K(STATUTORY_ASSESSMENT_DECISION), 0)->due_on), "2008-10-13");
    assert_int_equal(find(d, n, K(STATUTORY_ASSESSMENT_DECISION), 0)->status, ST(MET));
    assert_string_equal(text(find(d, n, K(PROPOSED_STATEMENT), 0)->due_on), "2009-01-05");
    assert_int_equal(find(d, n, K(PROPOSED_STATEMENT), 0)->status, ST(MET)); /* late, but met */
    assert_string_equal(text(find(d, n, K(PROPOSED_STATEMENT), 0)->met_on), "2009-01-12");
    assert_string_equal(text(find(d, n, K(FINAL_STATEMENT), 0)->due_on), "2009-03-02");
    assert_int_equal(find(d, n, K(FINAL_STATEMENT), 0)->status, ST(UPCOMING));
    assert_string_equal(text(find(d, n, K(PROPOSED_STATEMENT_RESPONSE), 0)->due_on), "2009-01-27");
}

static void test_a_moved_request_date_moves_its_deadlines(void **state) {
    (void)state;
    deadline_t d[32];
    deadline_stage_t st[] = {{S(ASSESSMENT_REQUESTED), day("2024-01-31")}};
    size_t n = run(st, 1, "2024-02-01", d);
    assert_string_equal(text(find(d, n, K(FINAL_PLAN), 0)->due_on), "2024-06-19");
    st[0].on = day("2024-01-10");
    n = run(st, 1, "2024-02-01", d);
    assert_string_equal(text(find(d, n, K(FINAL_PLAN), 0)->due_on), "2024-05-29");
    assert_string_equal(text(find(d, n, K(ASSESSMENT_DECISION), 0)->due_on), "2024-02-21");
}

static void test_deadlines_come_in_due_date_order_and_nothing_without_stages(void **state) {
    (void)state;
    deadline_t d[32];
    assert_int_equal(run(NULL, 0, "2024-01-01", d), 0);
    deadline_stage_t sen[] = {{S(SEN_SUPPORT), day("2023-09-01")}};
    assert_int_equal(run(sen, 1, "2024-01-01", d), 0);
    deadline_stage_t st[] = {{S(DRAFT_PLAN_ISSUED), day("2024-04-01")}, {S(ASSESSMENT_REQUESTED), day("2024-01-02")}};
    size_t n = run(st, 2, "2024-01-03", d);
    assert_int_equal(n, 3);
    for (size_t i = 1; i < n; i++) assert_true(d[i - 1].due_on <= d[i].due_on);
    /* cap: the count is still the whole number */
    assert_int_equal(deadlines_compute(st, 2, day("2024-01-03"), d, 1), 3);
    assert_true(strlen(deadline_rule(K(APPEAL))) > 0);
    assert_string_equal(deadline_rule(0), "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_numbers_round_trip_through_the_civil_calendar),
        cmocka_unit_test(test_days_and_weeks_are_calendar_days_across_month_and_year_ends),
        cmocka_unit_test(test_months_end_on_the_corresponding_date_or_the_last_day_of_a_short_month),
        cmocka_unit_test(test_decision_on_assessment_is_due_six_weeks_after_the_request),
        cmocka_unit_test(test_final_plan_is_due_twenty_weeks_after_the_request_unless_refused),
        cmocka_unit_test(test_family_has_fifteen_days_to_respond_to_a_draft_plan),
        cmocka_unit_test(test_family_has_fifteen_days_to_respond_to_a_proposed_statement),
        cmocka_unit_test(test_appeal_is_due_two_months_after_a_decision),
        cmocka_unit_test(test_appeal_is_due_one_month_after_a_later_mediation_certificate),
        cmocka_unit_test(test_each_decision_opens_its_own_appeal_window),
        cmocka_unit_test(test_annual_review_is_due_twelve_months_after_the_plan_then_each_review),
        cmocka_unit_test(test_statutory_assessment_follows_the_2001_code_timings),
        cmocka_unit_test(test_a_moved_request_date_moves_its_deadlines),
        cmocka_unit_test(test_deadlines_come_in_due_date_order_and_nothing_without_stages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
