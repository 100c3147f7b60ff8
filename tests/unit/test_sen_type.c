/* sen_type: free text read as the DfE's types of SEN, as a need sent as a
 * plain string is coded and as stored text was migrated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "svc/sen_type.h"

#define T(x) PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_##x

static void test_common_words_name_their_types(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int type;
    } cases[] = {
        {"autism", T(ASD)},           {"Autistic spectrum condition", T(ASD)}, {"ASC", T(ASD)},
        {"asd", T(ASD)},              {"Asperger's", T(ASD)},                {"dyslexia", T(SPLD)},
        {"Dyspraxia", T(SPLD)},       {"dyscalculia", T(SPLD)},              {"speech and language", T(SLCN)},
        {"language delay", T(SLCN)},  {"stammer", T(SLCN)},                  {"hearing impairment", T(HI)},
        {"Deaf", T(HI)},              {"deafness", T(HI)},                   {"visual impairment", T(VI)},
        {"blind", T(VI)},             {"vision", T(VI)},                     {"deafblind", T(MSI)},
        {"multi-sensory impairment", T(MSI)}, {"SEMH", T(SEMH)},            {"ADHD", T(SEMH)},
        {"anxiety", T(SEMH)},         {"behaviour", T(SEMH)},                {"physical disability", T(PD)},
        {"cerebral palsy", T(PD)},    {"wheelchair user", T(PD)},            {"moderate learning difficulty", T(MLD)},
        {"severe learning difficulties", T(SLD)}, {"profound and multiple learning difficulties", T(PMLD)},
        {"learning difficulties", T(MLD)}, {"Down syndrome", T(MLD)},         {"sleep", T(OTH)},
        {"NSA", T(NSA)},              {"oth", T(OTH)},                       {"", T(OTH)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if ((int)sen_type_of_text(cases[i].text) != cases[i].type)
            fail_msg("\"%s\" read as %d, not %d", cases[i].text, (int)sen_type_of_text(cases[i].text),
                     cases[i].type);
    }
    assert_int_equal(sen_type_of_text(NULL), T(OTH));
}

static void test_a_code_or_stored_name_reads_as_itself(void **state) {
    (void)state;
    for (int t = 1; t <= T(NSA); t++) {
        assert_int_equal(sen_type_of_text(sen_type_code(t)), t);
        char name[32];
        snprintf(name, sizeof name, "SEN_TYPE_%s", sen_type_code(t));
        assert_int_equal(sen_type_of_text(name), t);
    }
}

static void test_codes_come_first_then_words_in_order(void **state) {
    (void)state;
    /* A code anywhere wins over the words; of the stems, the first listed. */
    assert_int_equal(sen_type_of_text("speech delay, ASD diagnosis pending"), T(ASD));
    assert_int_equal(sen_type_of_text("autism and anxiety"), T(ASD));
    assert_int_equal(sen_type_of_text("anxiety, autism"), T(ASD));
    /* Whole words only: "hi" inside "this" is no code, "deaf" in a word is a stem. */
    assert_int_equal(sen_type_of_text("this and that"), T(OTH));
    assert_int_equal(sen_type_of_text("haddock"), T(OTH));
}

static void test_long_text_is_read_only_so_far(void **state) {
    (void)state;
    char text[600];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    memcpy(text + 400, "autism", 6); /* past the first 255 bytes: not read */
    assert_int_equal(sen_type_of_text(text), T(OTH));
    memcpy(text + 10, " autism ", 8);
    assert_int_equal(sen_type_of_text(text), T(ASD));
}

static void test_codes_have_the_dfe_spelling_and_name(void **state) {
    (void)state;
    assert_string_equal(sen_type_code(T(SPLD)), "SpLD");
    assert_string_equal(sen_type_name(T(ASD)), "autistic spectrum disorder");
    assert_string_equal(sen_type_name(T(NSA)), "SEN support but no specialist assessment of type of need");
    assert_null(sen_type_code(0));
    assert_null(sen_type_code(99));
    assert_null(sen_type_name(-1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_words_name_their_types),
        cmocka_unit_test(test_a_code_or_stored_name_reads_as_itself),
        cmocka_unit_test(test_codes_come_first_then_words_in_order),
        cmocka_unit_test(test_long_text_is_read_only_so_far),
        cmocka_unit_test(test_codes_have_the_dfe_spelling_and_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
