/* The letter's layout maths and address checks (services/notify/letter_layout.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "services/notify/letter_layout.h"

/* Noto Sans's ascent + descent, in em: the height Pango gives a line of it. */
#define NOTO_SANS_LINE_EM 1.362

static void assert_postcode(const char *in, const char *want) {
    char out[9] = "";
    assert_int_equal(letter_postcode_normalise(in, out), 0);
    assert_string_equal(out, want);
}

static void test_uk_postcodes_are_normalised(void **state) {
    (void)state;
    assert_postcode("CF10 1AA", "CF10 1AA");
    assert_postcode("cf101aa", "CF10 1AA");
    assert_postcode("SW1A 2AA", "SW1A 2AA"); /* AA9A */
    assert_postcode("w1a0ax", "W1A 0AX");    /* A9A */
    assert_postcode("M1 1AE", "M1 1AE");     /* A9 */
    assert_postcode("B33 8TH", "B33 8TH");   /* A99 */
    assert_postcode("LS1 4AB", "LS1 4AB");   /* AA9 */
    assert_postcode("GIR 0AA", "GIR 0AA");
}

static void test_what_is_not_a_postcode_is_refused(void **state) {
    (void)state;
    const char *bad[] = {"",          "ZZ1 1ZZ" /* Z second */, "Q1 1AA" /* Q first */, "CF10 1AC" /* C inward */,
                         "CF10  1AA", "CF1 01AA" /* the space inside the outward code */, " CF10 1AA", "CF10 1A",
                         "CF1000 1AA", "CF10-1AA", "1F10 1AA", "W1I 0AX" /* I third */, "EC1Z 1BB" /* Z fourth */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[9];
        if (letter_postcode_normalise(bad[i], out) == 0) fail_msg("took \"%s\" as a postcode", bad[i]);
    }
    char out[9];
    assert_int_equal(letter_postcode_normalise(NULL, out), -1);
}

static void test_a_full_address_fits_the_envelope_window(void **state) {
    (void)state;
    /* Every line and the postcode, at 9 pt in Noto Sans, inside the window less its inset. */
    int n = LETTER_MAX_LINES + 1;
    assert_true(letter_address_line_top_mm(0) >= LETTER_WINDOW_TOP_MM + LETTER_ADDRESS_INSET_MM - 1e-9);
    assert_true(letter_address_bottom_mm(n, NOTO_SANS_LINE_EM) <= LETTER_WINDOW_BOTTOM_MM - LETTER_ADDRESS_INSET_MM);
    /* Lines do not overlap their ink: the pitch is at least the type size. */
    assert_true(LETTER_ADDRESS_PITCH_MM * LETTER_PT_PER_MM >= LETTER_ADDRESS_PT);
    /* The window, the body and the footer are inside Notify's printable border. */
    assert_true(LETTER_WINDOW_LEFT_MM >= LETTER_BORDER_SIDE_MM);
    assert_true(LETTER_BODY_LEFT_MM >= LETTER_BORDER_SIDE_MM);
    assert_true(LETTER_BODY_RIGHT_MM <= LETTER_PAGE_WIDTH_MM - LETTER_BORDER_SIDE_MM);
    assert_true(LETTER_FOOTER_TOP_MM + 16 * NOTO_SANS_LINE_EM / LETTER_PT_PER_MM <=
                LETTER_PAGE_HEIGHT_MM - LETTER_BORDER_BOTTOM_MM);
    /* The date is in the sender's area, right of the window and above the body. */
    assert_true(LETTER_DATE_LEFT_MM > LETTER_WINDOW_RIGHT_MM && LETTER_DATE_TOP_MM < LETTER_BODY_TOP_FIRST_MM);
}

static void test_type_sizes_follow_the_format(void **state) {
    (void)state;
    assert_int_equal(letter_body_pt(true), 16);
    assert_int_equal(letter_body_pt(false), 12);
    assert_true(letter_heading_pt(true) > letter_body_pt(true));
    assert_true(letter_heading_pt(false) > letter_body_pt(false));
}

static void test_page_one_starts_below_the_window_and_later_pages_at_the_top(void **state) {
    (void)state;
    assert_true(letter_body_top_mm(0) == LETTER_BODY_TOP_FIRST_MM);
    assert_true(letter_body_top_mm(1) == LETTER_BODY_TOP_MM && letter_body_top_mm(5) == LETTER_BODY_TOP_MM);
}

static void test_lines_break_onto_pages_and_never_past_the_frame(void **state) {
    (void)state;
    enum { N = 200 };
    double h[N], top[N];
    int page[N];
    for (int i = 0; i < N; i++) h[i] = 8.0;
    /* Page 1 holds (272 - 95 - 10) / 8 = 20 lines, later pages (272 - 20) / 8 = 31. */
    int pages = letter_paginate(h, N, 10.0, LETTER_MAX_PAGES, page, top);
    assert_int_equal(pages, 7);
    assert_int_equal(page[19], 0);
    assert_int_equal(page[20], 1);
    assert_true(top[0] == 105.0);
    assert_true(top[20] == LETTER_BODY_TOP_MM);
    assert_int_equal(page[50], 1);
    assert_int_equal(page[51], 2);
    for (int i = 0; i < N; i++) assert_true(top[i] + h[i] <= LETTER_BODY_BOTTOM_MM);
    for (int i = 1; i < N; i++) assert_true(page[i] == page[i - 1] || page[i] == page[i - 1] + 1);
}

static void test_a_body_past_the_page_limit_is_refused(void **state) {
    (void)state;
    enum { N = 400 };
    double h[N], top[N];
    int page[N];
    for (int i = 0; i < N; i++) h[i] = 8.0;
    /* 20 + 9 x 31 = 299 lines fit in 10 pages. */
    assert_int_equal(letter_paginate(h, 299, 10.0, LETTER_MAX_PAGES, page, top), 10);
    assert_int_equal(letter_paginate(h, 300, 10.0, LETTER_MAX_PAGES, page, top), -1);
    assert_int_equal(letter_paginate(h, N, 10.0, LETTER_MAX_PAGES, page, top), -1);
    /* An empty body is one page. */
    assert_int_equal(letter_paginate(h, 0, 0.0, LETTER_MAX_PAGES, page, top), 1);
}

static void test_a_line_taller_than_a_frame_gets_a_page_of_its_own(void **state) {
    (void)state;
    double h[] = {5.0, 300.0, 5.0}, top[3];
    int page[3];
    assert_int_equal(letter_paginate(h, 3, 0.0, LETTER_MAX_PAGES, page, top), 3);
    assert_int_equal(page[0], 0);
    assert_int_equal(page[1], 1);
    assert_int_equal(page[2], 2);
}

static void test_address_lines_are_one_printable_line_of_45_characters(void **state) {
    (void)state;
    char line[4 * 50] = "";
    for (int i = 0; i < 45; i++) strcat(line, "ŵ"); /* two bytes each: characters are counted */
    assert_true(letter_line_ok(line));
    strcat(line, "a");
    assert_false(letter_line_ok(line));
    assert_true(letter_line_ok("12 Heol y Frenhines"));
    assert_true(letter_line_ok("ul. Łódzka 5/7"));
    assert_false(letter_line_ok(""));
    assert_false(letter_line_ok("   "));
    assert_false(letter_line_ok("Agnieszka\nNowak"));
    assert_false(letter_line_ok("tab\there"));
    assert_false(letter_line_ok("\xC2\x85next line")); /* U+0085 */
    assert_false(letter_line_ok("a\xE2\x80\xA8" "b"));  /* U+2028 */
    assert_false(letter_line_ok("\xC3("));             /* not UTF-8 */
    assert_false(letter_line_ok("\xC0\xAF"));           /* overlong */
    assert_false(letter_line_ok(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uk_postcodes_are_normalised),
        cmocka_unit_test(test_what_is_not_a_postcode_is_refused),
        cmocka_unit_test(test_a_full_address_fits_the_envelope_window),
        cmocka_unit_test(test_type_sizes_follow_the_format),
        cmocka_unit_test(test_page_one_starts_below_the_window_and_later_pages_at_the_top),
        cmocka_unit_test(test_lines_break_onto_pages_and_never_past_the_frame),
        cmocka_unit_test(test_a_body_past_the_page_limit_is_refused),
        cmocka_unit_test(test_a_line_taller_than_a_frame_gets_a_page_of_its_own),
        cmocka_unit_test(test_address_lines_are_one_printable_line_of_45_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
