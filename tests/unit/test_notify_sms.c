/* SMS length: GSM-7 and UCS-2, single messages and concatenated parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "services/notify/sms.h"

static sms_length_t count(const char *text) {
    sms_length_t len;
    assert_int_equal(sms_count(text, 100000, &len), 0);
    return len;
}

/* n copies of unit (a UTF-8 character or more) in a static buffer. */
static const char *repeat(const char *unit, int n) {
    static char buf[8][4096];
    static int k;
    char *b = buf[k++ % 8];
    b[0] = '\0';
    for (int i = 0; i < n; i++) strcat(b, unit);
    return b;
}

static void test_plain_english_is_gsm7_one_septet_a_character(void **state) {
    (void)state;
    sms_length_t l = count("Hello Amina, your appointment is on 3 May at 10:00.");
    assert_true(l.gsm7);
    assert_int_equal(l.characters, 51);
    assert_int_equal(l.segments, 1);
}

static void test_gsm7_takes_160_in_one_message_then_parts_of_153(void **state) {
    (void)state;
    assert_int_equal(count(repeat("a", 160)).segments, 1);
    assert_int_equal(count(repeat("a", 161)).segments, 2);
    assert_int_equal(count(repeat("a", 306)).segments, 2);
    assert_int_equal(count(repeat("a", 307)).segments, 3);
}

static void test_extension_characters_count_two_septets(void **state) {
    (void)state;
    sms_length_t l = count("Fee: \xE2\x82\xAC" "5 [approx] {ok} ~ | ^ \\");
    assert_true(l.gsm7);
    /* 20 ordinary characters and 9 from the extension table (2 each). */
    assert_int_equal(l.characters, 20 + 9 * 2);
    /* 80 euro signs: 160 septets, one message; 81 do not fit. */
    assert_int_equal(count(repeat("\xE2\x82\xAC", 80)).segments, 1);
    assert_int_equal(count(repeat("\xE2\x82\xAC", 81)).segments, 2);
}

static void test_an_extension_character_is_not_split_across_parts(void **state) {
    (void)state;
    /* 152 'a' then a euro sign: 154 septets of which the euro's two would
     * straddle the first part's 153, so it starts the second part. */
    char text[400];
    snprintf(text, sizeof text, "%s\xE2\x82\xAC%s", repeat("a", 152), repeat("a", 152));
    sms_length_t l = count(text);
    assert_true(l.gsm7);
    assert_int_equal(l.characters, 306);
    assert_int_equal(l.segments, 3);
}

static void test_gsm_accented_letters_stay_gsm7(void **state) {
    (void)state;
    /* é è à ü ñ Ä Ö are in the default alphabet. */
    sms_length_t l = count("Caf\xC3\xA9 \xC3\xA8 \xC3\xA0 \xC3\xBC \xC3\xB1 \xC3\x84 \xC3\x96");
    assert_true(l.gsm7);
    assert_int_equal(l.characters, 16);
}

static void test_welsh_circumflex_needs_ucs2(void **state) {
    (void)state;
    /* ŵ and ŷ are not in GSM 03.38. */
    sms_length_t l = count("Bore da. Mae eich apwyntiad yn y t\xC5\xB5 ar \xC5\xB7 dydd Llun.");
    assert_false(l.gsm7);
    assert_int_equal(l.characters, 51);
    assert_int_equal(l.segments, 1);
    assert_true(count("Croeso i Gaerdydd").gsm7); /* Welsh without diacritics is plain GSM-7 */
}

static void test_polish_is_ucs2_70_then_67(void **state) {
    (void)state;
    sms_length_t l = count("Dzie\xC5\x84 dobry, otrzymali\xC5\x9Bmy pro\xC5\x9B\x62\xC4\x99.");
    assert_false(l.gsm7);
    assert_int_equal(l.characters, 33);
    assert_int_equal(count(repeat("\xC5\x82", 70)).segments, 1);
    assert_int_equal(count(repeat("\xC5\x82", 71)).segments, 2);
    assert_int_equal(count(repeat("\xC5\x82", 134)).segments, 2);
    assert_int_equal(count(repeat("\xC5\x82", 135)).segments, 3);
}

static void test_urdu_counts_utf16_units(void **state) {
    (void)state;
    /* "آپ کی درخواست" (your request): 13 characters, all in the BMP. */
    sms_length_t l = count("\xD8\xA2\xD9\xBE \xDA\xA9\xDB\x8C \xD8\xAF\xD8\xB1\xD8\xAE\xD9\x88\xD8\xA7\xD8\xB3\xD8\xAA");
    assert_false(l.gsm7);
    assert_int_equal(l.characters, 13);
    assert_int_equal(l.segments, 1);
}

static void test_characters_beyond_the_bmp_count_two_and_are_not_split(void **state) {
    (void)state;
    sms_length_t l = count("\xF0\x9F\x98\x80"); /* an emoji: a surrogate pair */
    assert_false(l.gsm7);
    assert_int_equal(l.characters, 2);
    /* 66 letters and an emoji: 68 units in one message of 70. */
    char text[400];
    snprintf(text, sizeof text, "%s\xF0\x9F\x98\x80", repeat("\xC5\x82", 66));
    assert_int_equal(count(text).segments, 1);
    /* 66 letters, an emoji, 66 letters: 134 units, but the pair would
     * straddle the first part's 67, so three parts. */
    snprintf(text, sizeof text, "%s\xF0\x9F\x98\x80%s", repeat("\xC5\x82", 66), repeat("\xC5\x82", 66));
    assert_int_equal(count(text).characters, 134);
    assert_int_equal(count(text).segments, 3);
}

static void test_empty_text_takes_nothing_and_bad_utf8_is_refused(void **state) {
    (void)state;
    sms_length_t l;
    assert_int_equal(count("").segments, 0);
    assert_int_equal(sms_count("a\xC3", 10, &l), -1);
    assert_int_equal(sms_count("\xC0\xAF", 10, &l), -1); /* overlong */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_english_is_gsm7_one_septet_a_character),
        cmocka_unit_test(test_gsm7_takes_160_in_one_message_then_parts_of_153),
        cmocka_unit_test(test_extension_characters_count_two_septets),
        cmocka_unit_test(test_an_extension_character_is_not_split_across_parts),
        cmocka_unit_test(test_gsm_accented_letters_stay_gsm7),
        cmocka_unit_test(test_welsh_circumflex_needs_ucs2),
        cmocka_unit_test(test_polish_is_ucs2_70_then_67),
        cmocka_unit_test(test_urdu_counts_utf16_units),
        cmocka_unit_test(test_characters_beyond_the_bmp_count_two_and_are_not_split),
        cmocka_unit_test(test_empty_text_takes_nothing_and_bad_utf8_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
