/* Scheduling's time arithmetic: Europe/London across the UK clock changes
 * of 2026-2028 (the missing and the repeated hour), read from the system's
 * tzfile, and free slots from weekly local hours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "services/scheduling/slots.h"
#include "services/scheduling/tz.h"

static const tz_t *london(void) {
    const tz_t *z = tz_get("Europe/London");
    assert_non_null(z);
    return z;
}

/* UTC seconds of y-m-d h:mi:00Z. */
static int64_t utc(int y, int m, int d, int h, int mi) { return tz_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60; }

/* The UK changes: 01:00Z on the last Sunday of March and of October. */
static const struct {
    int y, m, d;
} changes[] = {{2026, 3, 29}, {2026, 10, 25}, {2027, 3, 28}, {2027, 10, 31}, {2028, 3, 26}, {2028, 10, 29}};

static void test_offsets_change_at_01z_on_each_uk_change_2026_to_2028(void **state) {
    (void)state;
    const tz_t *z = london();
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        int64_t at = utc(changes[i].y, changes[i].m, changes[i].d, 1, 0);
        bool spring = changes[i].m == 3;
        assert_int_equal(tz_offset_at(z, at - 1), spring ? 0 : 3600);
        assert_int_equal(tz_offset_at(z, at), spring ? 3600 : 0);
    }
    /* Midsummer and midwinter. */
    assert_int_equal(tz_offset_at(z, utc(2027, 7, 1, 12, 0)), 3600);
    assert_int_equal(tz_offset_at(z, utc(2028, 1, 15, 12, 0)), 0);
}

static void test_the_missing_hour_is_a_gap_read_past_it(void **state) {
    (void)state;
    const tz_t *z = london();
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i += 2) {
        int64_t day = tz_days_from_civil(changes[i].y, changes[i].m, changes[i].d);
        int64_t u;
        /* 01:30 local does not exist: read as 02:30 BST, 01:30Z. */
        assert_int_equal(tz_local_to_utc(z, day * 86400 + 5400, &u, NULL), TZ_GAP);
        assert_int_equal(u, day * 86400 + 5400);
        /* 00:59 GMT and 02:00 BST exist once each. */
        assert_int_equal(tz_local_to_utc(z, day * 86400 + 3540, &u, NULL), TZ_EXACT);
        assert_int_equal(u, day * 86400 + 3540);
        assert_int_equal(tz_local_to_utc(z, day * 86400 + 7200, &u, NULL), TZ_EXACT);
        assert_int_equal(u, day * 86400 + 3600);
    }
}

static void test_the_repeated_hour_has_two_instants(void **state) {
    (void)state;
    const tz_t *z = london();
    for (size_t i = 1; i < sizeof changes / sizeof changes[0]; i += 2) {
        int64_t day = tz_days_from_civil(changes[i].y, changes[i].m, changes[i].d);
        int64_t a, b;
        /* 01:30 local happens at 00:30Z (BST) and again at 01:30Z (GMT). */
        assert_int_equal(tz_local_to_utc(z, day * 86400 + 5400, &a, &b), TZ_REPEATED);
        assert_int_equal(a, day * 86400 + 1800);
        assert_int_equal(b, day * 86400 + 5400);
        assert_int_equal(tz_local_to_utc(z, day * 86400 + 7200, &a, &b), TZ_EXACT);
        assert_int_equal(a, day * 86400 + 7200);
    }
}

static void test_a_weekly_10am_slot_is_10z_before_the_march_change_and_09z_after(void **state) {
    (void)state;
    const tz_t *z = london();
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        int64_t day = tz_days_from_civil(changes[i].y, changes[i].m, changes[i].d);
        int64_t before, after;
        assert_int_equal(tz_local_to_utc(z, (day - 7) * 86400 + 36000, &before, NULL), TZ_EXACT);
        assert_int_equal(tz_local_to_utc(z, (day + 7) * 86400 + 36000, &after, NULL), TZ_EXACT);
        bool spring = changes[i].m == 3;
        assert_int_equal(before - (day - 7) * 86400, spring ? 36000 : 32400);
        assert_int_equal(after - (day + 7) * 86400, spring ? 32400 : 36000);
    }
}

static void test_a_meeting_across_the_change_has_its_real_length(void **state) {
    (void)state;
    const tz_t *z = london();
    int64_t day = tz_days_from_civil(2027, 10, 31);
    int64_t s, e, ignored;
    /* 00:30 to 03:30 local on the autumn change is four hours. */
    tz_local_to_utc(z, day * 86400 + 1800, &s, &ignored);
    tz_local_to_utc(z, day * 86400 + 12600, &e, &ignored);
    assert_int_equal(e - s, 4 * 3600);
    day = tz_days_from_civil(2027, 3, 28);
    tz_local_to_utc(z, day * 86400 + 1800, &s, &ignored);
    tz_local_to_utc(z, day * 86400 + 12600, &e, &ignored);
    assert_int_equal(e - s, 2 * 3600);
}

/* A zone past its last transition follows its footer's rule: a file holding
 * London's 2026 changes only, and the rule. */
static void test_the_footer_rule_carries_on_after_the_last_transition(void **state) {
    (void)state;
    unsigned char buf[512];
    size_t n = 0;
    memset(buf, 0, sizeof buf);
    /* version 1 block: empty (all counts 0 but one type). */
    memcpy(buf, "TZif2", 5);
    buf[20 + 4 * 4 + 3] = 1; /* typecnt */
    buf[20 + 5 * 4 + 3] = 4; /* charcnt */
    n = 44;
    memset(buf + n, 0, 6);
    n += 6;
    memcpy(buf + n, "GMT", 4);
    n += 4;
    memcpy(buf + n, "TZif2", 5);
    buf[n + 20 + 3 * 4 + 3] = 2; /* timecnt */
    buf[n + 20 + 4 * 4 + 3] = 2; /* typecnt */
    buf[n + 20 + 5 * 4 + 3] = 8; /* charcnt */
    n += 44;
    int64_t t[2] = {utc(2026, 3, 29, 1, 0), utc(2026, 10, 25, 1, 0)};
    for (int i = 0; i < 2; i++, n += 8)
        for (int b = 0; b < 8; b++) buf[n + b] = (unsigned char)(t[i] >> (56 - 8 * b));
    buf[n++] = 1;
    buf[n++] = 0;
    const unsigned char types[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x0e, 0x10, 1, 4};
    memcpy(buf + n, types, 12);
    n += 12;
    memcpy(buf + n, "GMT\0BST\0", 8);
    n += 8;
    const char *footer = "\nGMT0BST,M3.5.0/1,M10.5.0\n";
    memcpy(buf + n, footer, strlen(footer));
    n += strlen(footer);
    tz_t *z = test_malloc(sizeof *z);
    assert_int_equal(tz_parse(buf, n, "Test/London", z), 0);
    assert_int_equal(z->n_transitions, 2);
    for (size_t i = 2; i < sizeof changes / sizeof changes[0]; i++) {
        int64_t at = utc(changes[i].y, changes[i].m, changes[i].d, 1, 0);
        bool spring = changes[i].m == 3;
        assert_int_equal(tz_offset_at(z, at - 1), spring ? 0 : 3600);
        assert_int_equal(tz_offset_at(z, at), spring ? 3600 : 0);
    }
    test_free(z);
}

static void test_malformed_files_and_names_are_refused(void **state) {
    (void)state;
    tz_t *z = test_malloc(sizeof *z);
    unsigned char junk[100] = "TZif2";
    assert_int_equal(tz_parse(junk, sizeof junk, "x", z), -1);
    assert_int_equal(tz_parse((const unsigned char *)"nope", 4, "x", z), -1);
    test_free(z);
    assert_false(tz_name_ok("../etc/passwd"));
    assert_false(tz_name_ok("/etc/passwd"));
    assert_false(tz_name_ok("Europe//London"));
    assert_false(tz_name_ok("Europe/.hidden"));
    assert_false(tz_name_ok(""));
    assert_true(tz_name_ok("Europe/London"));
    assert_true(tz_name_ok("America/Port-au-Prince"));
    assert_null(tz_get("Europe/Nowhere"));
    assert_null(tz_get("../../etc/passwd"));
}

static const slots_window_t mornings[] = {{1, 600, 720}, {2, 600, 720}, {3, 600, 720}, {4, 600, 720}, {5, 600, 720}};

static slots_calendar_t weekdays(void) {
    return (slots_calendar_t){.zone = london(), .windows = mornings, .n_windows = 5};
}

static void test_free_slots_follow_local_hours_across_the_march_change(void **state) {
    (void)state;
    slots_calendar_t c = weekdays();
    slots_span_t out[200];
    size_t n;
    /* Friday 2027-03-26 and Monday 2027-03-29, either side of the change. */
    assert_int_equal(slots_free(&c, utc(2027, 3, 26, 0, 0), utc(2027, 3, 30, 0, 0), 60, out, 200, &n), 0);
    assert_int_equal(n, 2 * 5); /* 10:00, 10:15 ... 11:00 each day */
    assert_int_equal(out[0].start, utc(2027, 3, 26, 10, 0));
    assert_int_equal(out[4].end, utc(2027, 3, 26, 12, 0));
    assert_int_equal(out[5].start, utc(2027, 3, 29, 9, 0));
    assert_int_equal(out[9].end, utc(2027, 3, 29, 11, 0));
}

static void test_bookings_buffers_closed_days_and_caps_take_slots_away(void **state) {
    (void)state;
    slots_calendar_t c = weekdays();
    slots_span_t out[200];
    size_t n;
    int64_t mon = tz_days_from_civil(2026, 6, 1); /* a Monday, BST */
    slots_span_t busy[] = {{utc(2026, 6, 1, 9, 30), utc(2026, 6, 1, 10, 0)}};
    c.busy = busy;
    c.n_busy = 1;
    c.buffer_after = 15 * 60;
    assert_int_equal(slots_free(&c, mon * 86400, (mon + 1) * 86400, 30, out, 200, &n), 0);
    /* 10:00-12:00 BST is 09:00-11:00Z; busy 09:30-10:00Z plus 15 minutes after. */
    assert_int_equal(n, 3);
    assert_int_equal(out[0].start, utc(2026, 6, 1, 9, 0));
    assert_int_equal(out[1].start, utc(2026, 6, 1, 10, 15));
    assert_int_equal(out[2].start, utc(2026, 6, 1, 10, 30));
    c.max_per_day = 1;
    assert_int_equal(slots_free(&c, mon * 86400, (mon + 1) * 86400, 30, out, 200, &n), 0);
    assert_int_equal(n, 0);
    c.max_per_day = 0;
    c.max_per_week = 1;
    assert_int_equal(slots_free(&c, mon * 86400, (mon + 7) * 86400, 30, out, 200, &n), 0);
    assert_int_equal(n, 0);
    c.max_per_week = 2;
    int64_t closed[] = {mon + 1};
    c.closed_days = closed;
    c.n_closed = 1;
    assert_int_equal(slots_free(&c, mon * 86400, (mon + 3) * 86400, 30, out, 200, &n), 0);
    assert_int_equal(n, 3 + 7); /* Monday's three, none on Tuesday, Wednesday's seven */
    assert_int_equal(out[3].start, utc(2026, 6, 3, 9, 0));
    assert_int_equal(slots_free(&c, mon * 86400, (mon + 3) * 86400, 30, out, 4, &n), 1);
    assert_int_equal(n, 4);
}

/* ics: a booking checked against weekly hours across the March change,
 * the missing hour, closed days and the caps counted by local day. */
static void test_a_booking_is_checked_against_local_hours_days_and_caps(void **state) {
    (void)state;
    const slots_window_t mondays[] = {{1, 10 * 60, 12 * 60}, {7, 60, 180}}; /* Mon 10-12, Sun 01-03 */
    slots_calendar_t c = {.zone = london(), .windows = mondays, .n_windows = 2};
    /* Monday 22 March 2027 (GMT): 10:30Z-11:30Z is 10:30-11:30 local, inside. */
    assert_int_equal(slots_check(&c, utc(2027, 3, 22, 10, 30), utc(2027, 3, 22, 11, 30), true, NULL), SLOTS_FITS);
    /* Monday 29 March (BST): the same instants are 11:30-12:30 local, past 12:00. */
    assert_int_equal(slots_check(&c, utc(2027, 3, 29, 10, 30), utc(2027, 3, 29, 11, 30), true, NULL),
                     SLOTS_OUTSIDE_HOURS);
    assert_int_equal(slots_check(&c, utc(2027, 3, 29, 9, 0), utc(2027, 3, 29, 11, 0), true, NULL), SLOTS_FITS);
    assert_int_equal(slots_check(&c, utc(2027, 3, 29, 8, 45), utc(2027, 3, 29, 9, 45), true, NULL),
                     SLOTS_OUTSIDE_HOURS);
    /* Sunday 28 March, the change: 01:00-03:00 local is 01:00Z-02:00Z (01:00-02:00 does not exist). */
    assert_int_equal(slots_check(&c, utc(2027, 3, 28, 1, 0), utc(2027, 3, 28, 2, 0), true, NULL), SLOTS_FITS);
    assert_int_equal(slots_check(&c, utc(2027, 3, 28, 0, 30), utc(2027, 3, 28, 1, 30), true, NULL),
                     SLOTS_OUTSIDE_HOURS);
    /* Outside hours allowed: only the caps are checked. */
    assert_int_equal(slots_check(&c, utc(2027, 3, 24, 18, 0), utc(2027, 3, 24, 19, 0), false, NULL), SLOTS_FITS);
    /* A closed day (Easter Monday 29 March): refused inside its hours, named. */
    int64_t closed[] = {tz_days_from_civil(2027, 3, 29)}, day = 0;
    c.closed_days = closed;
    c.n_closed = 1;
    assert_int_equal(slots_check(&c, utc(2027, 3, 29, 9, 0), utc(2027, 3, 29, 10, 0), true, &day), SLOTS_CLOSED_DAY);
    assert_int_equal(day, closed[0]);
    /* Caps count bookings by the local day they start on: 23:30Z on Monday
     * 7 June is 00:30 BST on Tuesday 8 June. */
    const slots_window_t all_week[] = {{1, 0, 1440}, {2, 0, 1440}, {3, 0, 1440}};
    slots_span_t busy[] = {{utc(2027, 6, 7, 23, 30), utc(2027, 6, 8, 0, 30)}};
    slots_calendar_t cap = {.zone = london(), .windows = all_week, .n_windows = 3, .busy = busy, .n_busy = 1,
                            .max_per_day = 1};
    assert_int_equal(slots_check(&cap, utc(2027, 6, 7, 9, 0), utc(2027, 6, 7, 10, 0), true, NULL), SLOTS_FITS);
    assert_int_equal(slots_check(&cap, utc(2027, 6, 8, 9, 0), utc(2027, 6, 8, 10, 0), true, NULL), SLOTS_DAY_CAP);
    assert_int_equal(slots_check(&cap, utc(2027, 6, 8, 9, 0), utc(2027, 6, 8, 10, 0), false, NULL), SLOTS_DAY_CAP);
    /* The week's cap: Monday 7 to Sunday 13 June, local. */
    cap.max_per_day = 0;
    cap.max_per_week = 1;
    assert_int_equal(slots_check(&cap, utc(2027, 6, 9, 9, 0), utc(2027, 6, 9, 10, 0), true, NULL), SLOTS_WEEK_CAP);
    assert_int_equal(slots_check(&cap, utc(2027, 6, 14, 9, 0), utc(2027, 6, 14, 10, 0), true, NULL), SLOTS_FITS);
    /* Sunday 6 June 23:30Z is Monday 7 June local: in that week. */
    slots_span_t sunday_night[] = {{utc(2027, 6, 6, 23, 30), utc(2027, 6, 7, 0, 0)}};
    cap.busy = sunday_night;
    assert_int_equal(slots_check(&cap, utc(2027, 6, 9, 9, 0), utc(2027, 6, 9, 10, 0), true, NULL), SLOTS_WEEK_CAP);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_change_at_01z_on_each_uk_change_2026_to_2028),
        cmocka_unit_test(test_the_missing_hour_is_a_gap_read_past_it),
        cmocka_unit_test(test_the_repeated_hour_has_two_instants),
        cmocka_unit_test(test_a_weekly_10am_slot_is_10z_before_the_march_change_and_09z_after),
        cmocka_unit_test(test_a_meeting_across_the_change_has_its_real_length),
        cmocka_unit_test(test_the_footer_rule_carries_on_after_the_last_transition),
        cmocka_unit_test(test_malformed_files_and_names_are_refused),
        cmocka_unit_test(test_free_slots_follow_local_hours_across_the_march_change),
        cmocka_unit_test(test_bookings_buffers_closed_days_and_caps_take_slots_away),
        cmocka_unit_test(test_a_booking_is_checked_against_local_hours_days_and_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
