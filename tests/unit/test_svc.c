/* Service-side checks: calendar dates, language tags, emails, page tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "svc/page_token.h"
#include "svc/svc.h"

static void test_dates_follow_the_gregorian_calendar(void **state) {
    (void)state;
    int64_t d;
    assert_true(svc_parse_date("1970-01-01", &d));
    assert_int_equal(d, 0);
    assert_true(svc_parse_date("2024-02-29", &d)); /* leap year */
    assert_false(svc_parse_date("2023-02-29", NULL));
    assert_false(svc_parse_date("1900-02-29", NULL)); /* century, not leap */
    assert_true(svc_parse_date("2000-02-29", NULL));  /* 400-year leap */
    assert_false(svc_parse_date("2024-04-31", NULL));
    assert_false(svc_parse_date("2024-13-01", NULL));
    assert_false(svc_parse_date("2024-1-01", NULL));
    assert_false(svc_parse_date("24-01-01xx", NULL));
    int64_t a, b;
    assert_true(svc_parse_date("2024-02-28", &a));
    assert_true(svc_parse_date("2024-03-01", &b));
    assert_int_equal(b - a, 2);
}

static void test_language_tags(void **state) {
    (void)state;
    assert_true(svc_is_language_tag("en"));
    assert_true(svc_is_language_tag("cy"));
    assert_true(svc_is_language_tag("pt-BR"));
    assert_true(svc_is_language_tag("sr-Latn-RS"));
    assert_false(svc_is_language_tag("e"));
    assert_false(svc_is_language_tag("english"));
    assert_false(svc_is_language_tag("en-"));
    assert_false(svc_is_language_tag("en_GB"));
}

static void test_emails(void **state) {
    (void)state;
    assert_true(svc_is_email("amina@example.org"));
    assert_false(svc_is_email("amina@"));
    assert_false(svc_is_email("@example.org"));
    assert_false(svc_is_email("a b@example.org"));
    assert_false(svc_is_email("a@b@example.org"));
    assert_false(svc_is_email("amina@example"));
}

static void test_page_tokens_round_trip_and_reject_junk(void **state) {
    (void)state;
    arena_t *a = arena_new();
    page_cursor_t cur = {.valid = true, .micros = 1732412345678901LL};
    strcpy(cur.id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    char *tok = page_token_encode(a, &cur);
    assert_non_null(tok);
    assert_null(strchr(tok, '='));
    page_cursor_t back = {0};
    assert_int_equal(page_token_decode(tok, &back), 0);
    assert_true(back.valid);
    assert_int_equal(back.micros, cur.micros);
    assert_string_equal(back.id, cur.id);
    assert_int_equal(page_token_decode("not-a-token", &back), -1);
    assert_int_equal(page_token_decode("", &back), -1);
    assert_int_equal(page_token_decode("YWJj", &back), -1); /* "abc" */
    arena_destroy(&a);
    assert_null(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates_follow_the_gregorian_calendar),
        cmocka_unit_test(test_language_tags),
        cmocka_unit_test(test_emails),
        cmocka_unit_test(test_page_tokens_round_trip_and_reject_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
