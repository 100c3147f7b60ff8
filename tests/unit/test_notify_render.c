/* Templates rendered safely, the translation chosen for a recipient, and
 * header text encoded per RFC 2047. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "services/notify/render.h"

#define STANDARD 1
#define LARGE_PRINT 2
#define EASY_READ 3

static arena_t *arena;

static int setup(void **state) {
    (void)state;
    arena = arena_new();
    return arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    arena_destroy(&arena);
    return 0;
}

static const render_var_t vars[] = {{"name", "Agnieszka"}, {"ref", "R-12"}, {"evil", "<script>alert('x')</script> & \"q\""},
                                    {"crlf", "Hi\r\nBcc: victim@example.org"}, {"first name", "Sami"}};
#define N_VARS (sizeof vars / sizeof vars[0])

static const char *fill(const char *tmpl, render_mode_t mode, int want) {
    char *out = NULL;
    const char *name = NULL;
    int rc = render_fill(arena, tmpl, vars, N_VARS, mode, &out, &name);
    assert_int_equal(rc, want);
    return rc == RENDER_OK ? out : name;
}

static void test_placeholders_are_filled_once(void **state) {
    (void)state;
    assert_string_equal(fill("Dear ((name)), case ((ref)).", RENDER_PLAIN, RENDER_OK), "Dear Agnieszka, case R-12.");
    assert_string_equal(fill("(( name )) and ((first name))", RENDER_PLAIN, RENDER_OK), "Agnieszka and Sami");
    assert_string_equal(fill("no placeholders", RENDER_PLAIN, RENDER_OK), "no placeholders");
}

static void test_text_that_is_not_a_placeholder_is_kept(void **state) {
    (void)state;
    assert_string_equal(fill("((not closed", RENDER_PLAIN, RENDER_OK), "((not closed");
    assert_string_equal(fill("(((name)))", RENDER_PLAIN, RENDER_OK), "(Agnieszka)");
    assert_string_equal(fill("((a/b)) (()) ", RENDER_PLAIN, RENDER_OK), "((a/b)) (()) ");
}

static void test_a_value_is_not_expanded_again(void **state) {
    (void)state;
    static const render_var_t v[] = {{"a", "((b))"}, {"b", "B"}};
    char *out = NULL;
    const char *name = NULL;
    assert_int_equal(render_fill(arena, "((a))", v, 2, RENDER_PLAIN, &out, &name), RENDER_OK);
    assert_string_equal(out, "((b))");
}

static void test_a_missing_value_is_named(void **state) {
    (void)state;
    assert_string_equal(fill("Dear ((name)), your ((deadline)) is near.", RENDER_PLAIN, RENDER_MISSING), "deadline");
}

static void test_values_are_html_escaped_in_html_only(void **state) {
    (void)state;
    assert_string_equal(fill("<p>((evil))</p>", RENDER_HTML, RENDER_OK),
                        "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>");
    assert_string_equal(fill("((evil))", RENDER_PLAIN, RENDER_OK), "<script>alert('x')</script> & \"q\"");
}

static void test_a_line_break_in_a_subject_value_is_refused(void **state) {
    (void)state;
    assert_string_equal(fill("Re: ((crlf))", RENDER_SUBJECT, RENDER_LINE_BREAK), "crlf");
    assert_string_equal(fill("Re: ((crlf))", RENDER_PLAIN, RENDER_OK), "Re: Hi\r\nBcc: victim@example.org");
    assert_true(render_has_control("a\nb"));
    assert_true(render_has_control("a\rb"));
    assert_false(render_has_control("tab\tis fine"));
}

static void test_output_is_bounded(void **state) {
    (void)state;
    static char big[3000];
    memset(big, 'x', sizeof big - 1);
    render_var_t v[] = {{"x", big}};
    static char tmpl[RENDER_MAX_OUT / 400];
    tmpl[0] = '\0';
    while (strlen(tmpl) + 6 < sizeof tmpl) strcat(tmpl, "((x))");
    char *out = NULL;
    const char *name = NULL;
    assert_int_equal(render_fill(arena, tmpl, v, 1, RENDER_PLAIN, &out, &name), RENDER_TOO_LONG);
}

static void test_the_recipients_language_and_format_are_chosen(void **state) {
    (void)state;
    const render_choice_t t[] = {{"en", STANDARD}, {"pl", STANDARD}, {"pl", LARGE_PRINT}, {"en", EASY_READ},
                                 {"cy-GB", STANDARD}};
    bool lf, ff;
    assert_int_equal(render_choose(t, 5, "pl", STANDARD, STANDARD, &lf, &ff), 1);
    assert_false(lf);
    assert_int_equal(render_choose(t, 5, "pl-PL", LARGE_PRINT, STANDARD, &lf, &ff), 2);
    assert_false(lf);
    assert_false(ff);
    /* cy matches cy-GB by its primary language. */
    assert_int_equal(render_choose(t, 5, "cy", STANDARD, STANDARD, &lf, &ff), 4);
    assert_false(lf);
}

static void test_a_missing_translation_falls_back_to_english_and_says_so(void **state) {
    (void)state;
    const render_choice_t t[] = {{"en", STANDARD}, {"pl", STANDARD}, {"en", EASY_READ}};
    bool lf, ff;
    assert_int_equal(render_choose(t, 3, "so", STANDARD, STANDARD, &lf, &ff), 0);
    assert_true(lf);
    assert_false(ff);
    /* Somali Easy Read: English Easy Read, a language fallback only. */
    assert_int_equal(render_choose(t, 3, "so", EASY_READ, STANDARD, &lf, &ff), 2);
    assert_true(lf);
    assert_false(ff);
    /* Polish large print: Polish standard, a format fallback only. */
    assert_int_equal(render_choose(t, 3, "pl", LARGE_PRINT, STANDARD, &lf, &ff), 1);
    assert_false(lf);
    assert_true(ff);
    /* No language given: English. */
    assert_int_equal(render_choose(t, 3, NULL, STANDARD, STANDARD, &lf, &ff), 0);
    assert_false(lf);
    const render_choice_t none[] = {{"pl", STANDARD}};
    assert_int_equal(render_choose(none, 1, "so", STANDARD, STANDARD, &lf, &ff), -1);
}

static void test_header_text_is_encoded_per_rfc2047_when_not_ascii(void **state) {
    (void)state;
    assert_string_equal(render_header_text(arena, "Plain subject"), "Plain subject");
    /* "Otrzymaliśmy" */
    assert_string_equal(render_header_text(arena, "Otrzymali\xC5\x9Bmy"), "=?UTF-8?B?T3RyenltYWxpxZtteQ==?=");
    /* A long Urdu subject: several words, each at most 75 characters, none
     * splitting a character, folded onto continuation lines. */
    char urdu[600] = "";
    for (int i = 0; i < 20; i++) strcat(urdu, "\xD8\xAF\xD8\xB1\xD8\xAE\xD9\x88\xD8\xA7\xD8\xB3\xD8\xAA ");
    char *h = render_header_text(arena, urdu);
    assert_non_null(h);
    int words = 0;
    for (char *w = strtok(h, "\r\n "); w; w = strtok(NULL, "\r\n ")) {
        words++;
        assert_true(strlen(w) <= 75);
        assert_memory_equal(w, "=?UTF-8?B?", 10);
        assert_string_equal(w + strlen(w) - 2, "?=");
    }
    assert_true(words >= 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholders_are_filled_once),
        cmocka_unit_test(test_text_that_is_not_a_placeholder_is_kept),
        cmocka_unit_test(test_a_value_is_not_expanded_again),
        cmocka_unit_test(test_a_missing_value_is_named),
        cmocka_unit_test(test_values_are_html_escaped_in_html_only),
        cmocka_unit_test(test_a_line_break_in_a_subject_value_is_refused),
        cmocka_unit_test(test_output_is_bounded),
        cmocka_unit_test(test_the_recipients_language_and_format_are_chosen),
        cmocka_unit_test(test_a_missing_translation_falls_back_to_english_and_says_so),
        cmocka_unit_test(test_header_text_is_encoded_per_rfc2047_when_not_ascii),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
