/* Tests for lib/pb: the generic JSON <-> protobuf codec. Most use the
 * test-only parley.test.v1.Kinds (every field kind); the error paths use the
 * real intake types a client will send. */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/intake/v1/intake.pb-c.h"
#include "parley/test/v1/kinds.pb-c.h"
#include "parley/test/v1/rules_probe.pb-c.h"
#include "pb/pb.h"
#include "pb/rules.h"

/* What a CreateFamilyRequest must have by its field rules, for the tests
 * of other things on it. */
#define AUTHORITY "0f8d7a6c-3b2e-4f1a-9c8d-7e6f5a4b3c2d"
#define NAMES "\"givenName\":\"Ann\",\"familyName\":\"Lee\""
#define PARENT "{" NAMES "}"
#define CHILD "\"givenName\":\"Bo\",\"familyName\":\"Lee\",\"dateOfBirth\":\"2016-03-14\""

typedef Parley__Test__V1__Kinds kinds_t;
#define KINDS (&parley__test__v1__kinds__descriptor)
#define FAMILY_REQ (&parley__intake__v1__create_family_request__descriptor)

static arena_t *arena;
static pb_errors_t errs;

static int setup(void **state) {
    (void)state;
    arena = arena_new();
    pb_errors_init(&errs, arena);
    return arena == NULL ? -1 : 0;
}

static int teardown(void **state) {
    (void)state;
    arena_destroy(&arena);
    return 0;
}

static void print_errors(void) {
    for (size_t i = 0; i < errs.count; i++) print_message("  error %s: %s\n", errs.items[i].field, errs.items[i].message);
}

/* Decodes json, which must succeed. */
static void *decode_ok(const ProtobufCMessageDescriptor *desc, const char *json) {
    ProtobufCMessage *m = NULL;
    pb_errors_init(&errs, arena);
    int rc = pb_from_json(arena, desc, json, strlen(json), &m, &errs);
    if (rc != 0) print_errors();
    assert_int_equal(rc, 0);
    assert_non_null(m);
    assert_int_equal(errs.count, 0);
    return m;
}

/* Decodes json, which must fail; returns the number of errors. */
static size_t decode_fails(const ProtobufCMessageDescriptor *desc, const char *json) {
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_from_json(arena, desc, json, strlen(json), &m, &errs), -1);
    assert_null(m);
    assert_true(errs.count > 0);
    return errs.count;
}

/* Whether errs holds exactly (field, message). */
static int has_error(const char *field, const char *message) {
    for (size_t i = 0; i < errs.count; i++) {
        if (strcmp(errs.items[i].field, field) == 0 && strcmp(errs.items[i].message, message) == 0) return 1;
    }
    print_message("no error (%s: %s) among:\n", field, message);
    print_errors();
    return 0;
}

/* Decoding json fails with exactly one error, (field, message). */
static void assert_one_error(const ProtobufCMessageDescriptor *desc, const char *json, const char *field,
                             const char *message) {
    assert_int_equal(decode_fails(desc, json), 1);
    assert_true(has_error(field, message));
}

static void assert_json(const void *msg, const char *expected) {
    char *text = pb_to_json_text(msg);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
}

/* The empty lists and maps every Kinds carries in its output. */
#define KINDS_LISTS                                                                                                \
    "\"int32s\":[],\"int64s\":[],\"strings\":[],\"colours\":[],\"nesteds\":[],\"bools\":[],\"doubles\":[],"       \
    "\"byteList\":[],\"labels\":{},\"nestedByName\":{},\"colourByNumber\":{}"
#define KINDS_ZEROS                                                                                                \
    "\"anInt32\":0,\"anInt64\":\"0\",\"aUint32\":0,\"aUint64\":\"0\",\"aSint32\":0,\"aSint64\":\"0\","           \
    "\"aFixed32\":0,\"aFixed64\":\"0\",\"aSfixed32\":0,\"aSfixed64\":\"0\",\"aFloat\":0.0,\"aDouble\":0.0,"        \
    "\"aBool\":false"

static void test_every_scalar_kind_round_trips(void **state) {
    (void)state;
    const char *in = "{\"anInt32\":-5,\"anInt64\":\"-9007199254740993\",\"aUint32\":4000000000,"
                     "\"aUint64\":\"18446744073709551615\",\"aSint32\":-7,\"aSint64\":\"-8\",\"aFixed32\":9,"
                     "\"aFixed64\":\"10\",\"aSfixed32\":-11,\"aSfixed64\":\"-12\",\"aFloat\":1.5,\"aDouble\":0.25,"
                     "\"aBool\":true,\"aString\":\"h\xc3\xa9llo\",\"someBytes\":\"AAEC/w==\",\"colour\":\"dark_blue\","
                     "\"nested\":{\"name\":\"n\",\"count\":3,\"colour\":\"red\"}}";
    kinds_t *k = decode_ok(KINDS, in);
    assert_int_equal(k->an_int32, -5);
    assert_true(k->an_int64 == -9007199254740993LL);
    assert_true(k->a_uint32 == 4000000000u);
    assert_true(k->a_uint64 == UINT64_MAX);
    assert_int_equal(k->a_sint32, -7);
    assert_true(k->a_sint64 == -8);
    assert_int_equal(k->a_fixed32, 9);
    assert_true(k->a_fixed64 == 10);
    assert_int_equal(k->a_sfixed32, -11);
    assert_true(k->a_sfixed64 == -12);
    assert_true(k->a_float == 1.5f);
    assert_true(k->a_double == 0.25);
    assert_true(k->a_bool);
    assert_string_equal(k->a_string, "h\xc3\xa9llo");
    assert_int_equal(k->some_bytes.len, 4);
    assert_memory_equal(k->some_bytes.data, "\x00\x01\x02\xff", 4);
    assert_int_equal(k->colour, PARLEY__TEST__V1__COLOUR__COLOUR_DARK_BLUE);
    assert_non_null(k->nested);
    assert_string_equal(k->nested->name, "n");
    assert_int_equal(k->nested->colour, PARLEY__TEST__V1__COLOUR__COLOUR_RED);
    assert_json(k, "{\"anInt32\":-5,\"anInt64\":\"-9007199254740993\",\"aUint32\":4000000000,"
                   "\"aUint64\":\"18446744073709551615\",\"aSint32\":-7,\"aSint64\":\"-8\",\"aFixed32\":9,"
                   "\"aFixed64\":\"10\",\"aSfixed32\":-11,\"aSfixed64\":\"-12\",\"aFloat\":1.5,\"aDouble\":0.25,"
                   "\"aBool\":true,\"aString\":\"h\xc3\xa9llo\",\"someBytes\":\"AAEC/w==\",\"colour\":\"dark_blue\","
                   "\"nested\":{\"name\":\"n\",\"count\":3,\"colour\":\"red\"}," KINDS_LISTS ",\"times\":[]}");
}

static void test_output_omits_empty_strings_unset_messages_and_zero_enums(void **state) {
    (void)state;
    kinds_t k = PARLEY__TEST__V1__KINDS__INIT;
    assert_json(&k, "{" KINDS_ZEROS "," KINDS_LISTS ",\"times\":[]}");
    Parley__Test__V1__Nested n = PARLEY__TEST__V1__NESTED__INIT;
    assert_json(&n, "{\"count\":0}");
    k.nested = &n;
    k.a_string = "";
    assert_json(&k, "{" KINDS_ZEROS ",\"nested\":{\"count\":0}," KINDS_LISTS ",\"times\":[]}");
}

static void test_repeated_fields_round_trip(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"int32s\":[1,-2,\"3\"],\"int64s\":[\"4\",5],\"strings\":[\"a\",\"\"],"
                                  "\"colours\":[\"red\",\"green\"],\"nesteds\":[{\"name\":\"x\"},{}],"
                                  "\"bools\":[true,false],\"doubles\":[1.5,\"NaN\",\"-Infinity\"],"
                                  "\"byteList\":[\"\",\"AQ\"],\"times\":[\"2024-01-02T03:04:05Z\"]}");
    assert_int_equal(k->n_int32s, 3);
    assert_int_equal(k->int32s[2], 3);
    assert_int_equal(k->n_nesteds, 2);
    assert_string_equal(k->nesteds[0]->name, "x");
    assert_true(isnan(k->doubles[1]));
    assert_int_equal(k->byte_list[1].len, 1);
    assert_int_equal(k->n_times, 1);
    assert_json(k, "{" KINDS_ZEROS ",\"int32s\":[1,-2,3],\"int64s\":[\"4\",\"5\"],\"strings\":[\"a\",\"\"],"
                   "\"colours\":[\"red\",\"green\"],\"nesteds\":[{\"name\":\"x\",\"count\":0},{\"count\":0}],"
                   "\"bools\":[true,false],\"doubles\":[1.5,\"NaN\",\"-Infinity\"],\"byteList\":[\"\",\"AQ==\"],"
                   "\"labels\":{},\"nestedByName\":{},\"colourByNumber\":{},\"times\":[\"2024-01-02T03:04:05Z\"]}");
}

static void test_int64_accepted_as_string_or_number_and_emitted_as_string(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"anInt64\":42,\"aSint64\":\"-9223372036854775808\",\"aFixed64\":1e3}");
    assert_true(k->an_int64 == 42);
    assert_true(k->a_sint64 == INT64_MIN);
    assert_true(k->a_fixed64 == 1000);
    char *text = pb_to_json_text((ProtobufCMessage *)k);
    assert_non_null(strstr(text, "\"anInt64\":\"42\""));
    assert_non_null(strstr(text, "\"aSint64\":\"-9223372036854775808\""));
    free(text);
    assert_one_error(KINDS, "{\"anInt64\":\"9223372036854775808\"}", "anInt64", "out of range for int64");
    assert_one_error(KINDS, "{\"aUint64\":\"-1\"}", "aUint64", "out of range for uint64");
    assert_one_error(KINDS, "{\"aUint64\":\"18446744073709551616\"}", "aUint64", "out of range for uint64");
    assert_one_error(KINDS, "{\"anInt64\":\"1.5\"}", "anInt64", "expected an integer");
    assert_one_error(KINDS, "{\"anInt64\":\" 12\"}", "anInt64", "expected an integer");
    assert_one_error(KINDS, "{\"anInt64\":\"\"}", "anInt64", "expected an integer");
    assert_one_error(KINDS, "{\"anInt64\":1.5}", "anInt64", "expected an integer");
}

static void test_int32_out_of_range_is_reported(void **state) {
    (void)state;
    assert_one_error(KINDS, "{\"anInt32\":3000000000}", "anInt32", "out of range for int32");
    assert_one_error(KINDS, "{\"anInt32\":-2147483649}", "anInt32", "out of range for int32");
    assert_one_error(KINDS, "{\"aUint32\":-1}", "aUint32", "out of range for uint32");
    assert_one_error(KINDS, "{\"aSfixed32\":\"99999999999999999999999\"}", "aSfixed32", "out of range for int32");
    assert_one_error(KINDS, "{\"anInt32\":1e300}", "anInt32", "out of range for int32");
    kinds_t *k = decode_ok(KINDS, "{\"anInt32\":-2147483648,\"aUint32\":\"4294967295\",\"aSint32\":2.0}");
    assert_int_equal(k->an_int32, INT32_MIN);
    assert_true(k->a_uint32 == UINT32_MAX);
    assert_int_equal(k->a_sint32, 2);
}

static void test_floats_accept_special_strings_and_reject_overflow(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"aFloat\":\"Infinity\",\"aDouble\":\"2.5e-3\"}");
    assert_true(isinf(k->a_float) && k->a_float > 0);
    assert_true(k->a_double == 2.5e-3);
    char *text = pb_to_json_text((ProtobufCMessage *)k);
    assert_non_null(strstr(text, "\"aFloat\":\"Infinity\""));
    free(text);
    k = decode_ok(KINDS, "{\"aFloat\":0.1}");
    assert_true(k->a_float == 0.1f);
    assert_one_error(KINDS, "{\"aFloat\":1e39}", "aFloat", "out of range for float");
    assert_one_error(KINDS, "{\"aFloat\":-3.4028236e38}", "aFloat", "out of range for float");
    /* The largest float survives its own output, which rounds above FLT_MAX. */
    kinds_t big = PARLEY__TEST__V1__KINDS__INIT;
    big.a_float = FLT_MAX;
    text = pb_to_json_text(&big.base);
    k = decode_ok(KINDS, text);
    free(text);
    assert_true(k->a_float == FLT_MAX);
    assert_one_error(KINDS, "{\"aDouble\":\"inf\"}", "aDouble", "expected a number");
    assert_one_error(KINDS, "{\"aDouble\":\"0x10\"}", "aDouble", "expected a number");
    assert_one_error(KINDS, "{\"aDouble\":true}", "aDouble", "expected a number");
}

static void test_enum_words_drop_the_prefix_and_reject_unspecified_numbers_and_unknown_words(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"colour\":\"dark_blue\"}");
    assert_int_equal(k->colour, PARLEY__TEST__V1__COLOUR__COLOUR_DARK_BLUE);
    const char *choices = "expected one of: red, dark_blue, green";
    assert_one_error(KINDS, "{\"colour\":\"unspecified\"}", "colour", choices);
    assert_one_error(KINDS, "{\"colour\":2}", "colour", choices);
    assert_one_error(KINDS, "{\"colour\":\"DARK_BLUE\"}", "colour", choices);
    assert_one_error(KINDS, "{\"colour\":\"COLOUR_DARK_BLUE\"}", "colour", choices);
    assert_one_error(KINDS, "{\"colour\":\"purple\"}", "colour", choices);
    assert_one_error(KINDS, "{\"colours\":[\"red\",\"\"]}", "colours[1]", choices);
    /* A number the descriptor does not know goes out as the number. */
    kinds_t out = PARLEY__TEST__V1__KINDS__INIT;
    out.colour = 9;
    char *text = pb_to_json_text(&out.base);
    assert_non_null(strstr(text, "\"colour\":9"));
    free(text);
}

static void test_timestamp_offsets_are_converted_to_utc(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"at\":\"2024-03-01T10:00:00+01:00\"}");
    assert_non_null(k->at);
    assert_true(k->at->seconds == 1709283600);
    assert_int_equal(k->at->nanos, 0);
    char *text = pb_to_json_text(&k->base);
    assert_non_null(strstr(text, "\"at\":\"2024-03-01T09:00:00Z\""));
    free(text);
    /* Across a leap day, backwards. */
    k = decode_ok(KINDS, "{\"at\":\"2024-03-01T00:30:00+09:30\"}");
    assert_true(k->at->seconds == 1709218800);
    text = pb_to_json_text(&k->base);
    assert_non_null(strstr(text, "\"at\":\"2024-02-29T15:00:00Z\""));
    free(text);
    k = decode_ok(KINDS, "{\"at\":\"1969-12-31t18:59:59.25-05:00\"}");
    assert_true(k->at->seconds == -1); /* 23:59:59Z the day before the epoch */
    assert_int_equal(k->at->nanos, 250000000);
}

static void test_timestamp_fractions_keep_their_precision(void **state) {
    (void)state;
    const char *cases[][2] = {
        {"2024-02-29T23:59:59.5Z", "2024-02-29T23:59:59.500Z"},
        {"2024-02-29T23:59:59.000001Z", "2024-02-29T23:59:59.000001Z"},
        {"2024-02-29T23:59:59.123456789Z", "2024-02-29T23:59:59.123456789Z"},
        {"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
        {"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"},
        {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char in[128], want[128];
        snprintf(in, sizeof in, "{\"at\":\"%s\"}", cases[i][0]);
        snprintf(want, sizeof want, "\"at\":\"%s\"", cases[i][1]);
        kinds_t *k = decode_ok(KINDS, in);
        char *text = pb_to_json_text(&k->base);
        assert_non_null(strstr(text, want));
        free(text);
    }
}

static void test_timestamp_rejects_bad_dates(void **state) {
    (void)state;
    const char *bad[] = {
        "\"2023-02-29T00:00:00Z\"",     "\"2024-13-01T00:00:00Z\"",      "\"2024-04-31T00:00:00Z\"",
        "\"2024-01-01\"",               "\"2024-01-01T24:00:00Z\"",      "\"2024-01-01T00:00:60Z\"",
        "\"2024-01-01T00:00:00\"",      "\"2024-01-01T00:00:00.Z\"",     "\"2024-01-01T00:00:00.1234567890Z\"",
        "\"2024-01-01 00:00:00Z\"",     "\"2024-01-01T00:00:00+24:00\"", "\"2024-01-01T00:00:00+0100\"",
        "\"2024-01-01T00:00:00Zjunk\"", "\"+2024-01-01T00:00:00Z\"",     "1704067200",
        "{\"seconds\":1}",              "\"\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char in[128];
        snprintf(in, sizeof in, "{\"at\":%s}", bad[i]);
        assert_one_error(KINDS, in, "at", "expected an RFC 3339 timestamp");
    }
    assert_one_error(KINDS, "{\"at\":\"0000-12-31T00:00:00Z\"}", "at", "timestamp out of range (years 0001 to 9999)");
    assert_one_error(KINDS, "{\"at\":\"0001-01-01T00:00:00+00:01\"}", "at",
                     "timestamp out of range (years 0001 to 9999)");
    assert_one_error(KINDS, "{\"times\":[\"2024-01-01T00:00:00Z\",null]}", "times[1]",
                     "expected an RFC 3339 timestamp");
}

static void test_wrappers_are_bare_values_and_null_unsets_them(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"maybeString\":\"\",\"maybeInt32\":0,\"maybeBool\":false,\"maybeInt64\":\"5\"}");
    assert_non_null(k->maybe_string);
    assert_string_equal(k->maybe_string->value, "");
    assert_non_null(k->maybe_int32);
    assert_non_null(k->maybe_bool);
    assert_true(k->maybe_int64->value == 5);
    char *text = pb_to_json_text(&k->base);
    assert_non_null(strstr(text, "\"maybeString\":\"\",\"maybeInt32\":0,\"maybeBool\":false,\"maybeInt64\":\"5\""));
    free(text);
    k = decode_ok(KINDS, "{\"maybeString\":null,\"maybeInt32\":null}");
    assert_null(k->maybe_string);
    assert_null(k->maybe_int32);
    assert_one_error(KINDS, "{\"maybeInt32\":\"x\"}", "maybeInt32", "expected an integer");
    assert_one_error(KINDS, "{\"maybeBool\":\"true\"}", "maybeBool", "expected true or false");
    assert_one_error(KINDS, "{\"maybeString\":{\"value\":\"a\"}}", "maybeString", "expected a string");
}

static void test_maps_are_json_objects(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"labels\":{\"a\":\"1\",\"b\":\"\"},\"nestedByName\":{\"x\":{\"name\":\"n\"}},"
                                  "\"colourByNumber\":{\"-7\":\"green\"}}");
    assert_int_equal(k->n_labels, 2);
    assert_string_equal(k->labels[0]->key, "a");
    assert_string_equal(k->labels[0]->value, "1");
    assert_int_equal(k->n_nested_by_name, 1);
    assert_string_equal(k->nested_by_name[0]->value->name, "n");
    assert_int_equal(k->colour_by_number[0]->key, -7);
    assert_int_equal(k->colour_by_number[0]->value, PARLEY__TEST__V1__COLOUR__COLOUR_GREEN);
    char *text = pb_to_json_text(&k->base);
    assert_non_null(strstr(text, "\"labels\":{\"a\":\"1\",\"b\":\"\"},\"nestedByName\":{\"x\":{\"name\":\"n\","
                                 "\"count\":0}},\"colourByNumber\":{\"-7\":\"green\"}"));
    free(text);
    assert_one_error(KINDS, "{\"colourByNumber\":{\"x\":\"green\"}}", "colourByNumber.x", "expected an integer");
    assert_one_error(KINDS, "{\"labels\":{\"a\":1}}", "labels.a", "expected a string");
    assert_one_error(KINDS, "{\"labels\":[]}", "labels", "expected an object");
    assert_one_error(KINDS, "{\"nestedByName\":{\"x\":{\"nme\":1}}}", "nestedByName.x.nme", "unknown field");
}

static void test_oneof_with_two_members_set_is_an_error(void **state) {
    (void)state;
    assert_one_error(KINDS, "{\"choiceText\":\"a\",\"choiceNested\":{}}", "choiceNested",
                     "only one of choiceText, choiceNested may be set");
    kinds_t *k = decode_ok(KINDS, "{\"choiceText\":\"\",\"choiceNested\":null}");
    assert_int_equal(k->choice_case, PARLEY__TEST__V1__KINDS__CHOICE_CHOICE_TEXT);
    /* A set member is emitted even when it is empty. */
    char *text = pb_to_json_text(&k->base);
    assert_non_null(strstr(text, "\"choiceText\":\"\""));
    assert_null(strstr(text, "choiceNested"));
    free(text);
    k = decode_ok(KINDS, "{\"choiceNested\":{\"count\":2}}");
    assert_int_equal(k->choice_case, PARLEY__TEST__V1__KINDS__CHOICE_CHOICE_NESTED);
    assert_int_equal(k->choice_nested->count, 2);
}

static void test_nested_and_repeated_errors_name_their_path(void **state) {
    (void)state;
    size_t n = decode_fails(FAMILY_REQ, "{\"authorityId\":\"" AUTHORITY "\",\"parents\":[" PARENT ","
                                        "{" NAMES ",\"communicationNeeds\":[\"bsl\",\"semaphore\"],"
                                        "\"address\":{\"postcode\":5}}],"
                                        "\"children\":[{" CHILD ",\"planStatus\":\"ehc_plan\",\"school\":{\"urn\":1}}]}");
    assert_int_equal(n, 3);
    assert_true(has_error("parents[1].communicationNeeds[1]",
                          "expected one of: interpreter, large_print, easy_read, braille, audio, bsl"));
    assert_true(has_error("parents[1].address.postcode", "expected a string"));
    assert_true(has_error("children[0].school.urn", "expected a string"));
}

static void test_intake_request_round_trips(void **state) {
    (void)state;
    const char *in = "{\"authorityId\":\"" AUTHORITY "\",\"parents\":[{" NAMES ",\"address\":{\"postcode\":\"N1\"},"
                     "\"communicationNeeds\":[\"large_print\",\"bsl\"],\"hasParentalResponsibility\":true}],"
                     "\"children\":[{" CHILD ",\"needs\":[{\"type\":\"asd\",\"detail\":\"diagnosed\"}],"
                     "\"planStatus\":\"ehc_plan\"}]}";
    Parley__Intake__V1__CreateFamilyRequest *r = decode_ok(FAMILY_REQ, in);
    assert_int_equal(r->n_parents, 1);
    assert_int_equal(r->parents[0]->communication_needs[1], PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_BSL);
    assert_int_equal(r->children[0]->plan_status, PARLEY__INTAKE__V1__PLAN_STATUS__PLAN_STATUS_EHC_PLAN);
    assert_json(r, in);
}

/* A field with a text_field rule takes a string for the message (the form
 * older clients sent), and is always written back as the object. */
static void test_a_message_given_as_a_string_is_its_text_field(void **state) {
    (void)state;
    Parley__Intake__V1__CreateFamilyRequest *r = decode_ok(
        FAMILY_REQ, "{\"authorityId\":\"" AUTHORITY "\",\"parents\":[{" NAMES ",\"hasParentalResponsibility\":true}],"
                    "\"children\":[{" CHILD ",\"needs\":[\"speech and language\",{\"type\":\"hi\"}]}]}");
    assert_int_equal(r->children[0]->n_needs, 2);
    assert_int_equal(r->children[0]->needs[0]->type, 0); /* coded by intake from its words */
    assert_string_equal(r->children[0]->needs[0]->detail, "speech and language");
    assert_int_equal(r->children[0]->needs[1]->type, PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_HI);
    char long_text[260];
    memset(long_text, 'a', 201);
    long_text[201] = '\0';
    char body[600];
    snprintf(body, sizeof body,
             "{\"authorityId\":\"" AUTHORITY "\",\"parents\":[{" NAMES "}],\"children\":[{" CHILD
             ",\"needs\":[\"%s\",\"\",{\"type\":\"autism\"},{\"detail\":\"x\"},7]}]}",
             long_text);
    assert_int_equal(decode_fails(FAMILY_REQ, body), 5);
    assert_true(has_error("children[0].needs[0]", "must be at most 200 characters"));
    assert_true(has_error("children[0].needs[1]", "must not be empty"));
    assert_true(has_error("children[0].needs[2].type",
                          "expected one of: spld, mld, sld, pmld, semh, slcn, hi, vi, msi, pd, asd, oth, nsa"));
    assert_true(has_error("children[0].needs[3].type", "is required"));
    assert_true(has_error("children[0].needs[4]", "expected an object"));
}

static void test_unknown_field_is_reported_on_its_path(void **state) {
    (void)state;
    size_t n = decode_fails(FAMILY_REQ, "{\"authorityId\":\"" AUTHORITY "\",\"parents\":[{" NAMES ",\"given_name\":\"A\"}],"
                                        "\"children\":[{" CHILD "}],\"bogus\":1}");
    assert_int_equal(n, 2);
    assert_true(has_error("parents[0].given_name", "unknown field"));
    assert_true(has_error("bogus", "unknown field"));
}

static void test_wrong_types_are_named(void **state) {
    (void)state;
    assert_one_error(KINDS, "{\"aString\":5}", "aString", "expected a string");
    assert_one_error(KINDS, "{\"aBool\":\"true\"}", "aBool", "expected true or false");
    assert_one_error(KINDS, "{\"aBool\":1}", "aBool", "expected true or false");
    assert_one_error(KINDS, "{\"nested\":\"x\"}", "nested", "expected an object");
    assert_one_error(KINDS, "{\"int32s\":{}}", "int32s", "expected an array");
    assert_one_error(KINDS, "{\"int32s\":[1,\"x\"]}", "int32s[1]", "expected an integer");
    assert_one_error(KINDS, "{\"someBytes\":\"!!!!\"}", "someBytes", "expected a base64 string");
    assert_one_error(KINDS, "{\"someBytes\":\"QQ=\"}", "someBytes", "expected a base64 string");
    assert_one_error(KINDS, "{\"nesteds\":[{},null]}", "nesteds[1]", "expected an object");
    kinds_t *k = decode_ok(KINDS, "{\"someBytes\":\"-_8\"}"); /* URL-safe, unpadded */
    assert_int_equal(k->some_bytes.len, 2);
    assert_memory_equal(k->some_bytes.data, "\xfb\xff", 2);
}

static void test_null_means_unset(void **state) {
    (void)state;
    kinds_t *k = decode_ok(KINDS, "{\"aString\":null,\"nested\":null,\"int32s\":null,\"colour\":null,"
                                  "\"labels\":null,\"at\":null,\"anInt32\":null}");
    assert_string_equal(k->a_string, "");
    assert_null(k->nested);
    assert_int_equal(k->n_int32s, 0);
    assert_null(k->at);
}

static void test_malformed_json_is_one_error_on_the_body(void **state) {
    (void)state;
    const char *bad[] = {"{\"aString\":", "", "{'a':1}", "{\"a\":1,\"a\":2}", "{\"aString\":\"\\u0000\"}",
                         "{\"a\":1}}", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(decode_fails(KINDS, bad[i]), 1);
        assert_string_equal(errs.items[0].field, "");
        assert_true(strncmp(errs.items[0].message, "malformed JSON at line 1", 24) == 0);
    }
    /* len is honoured: the text need not end with a NUL. */
    ProtobufCMessage *m = NULL;
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_from_json(arena, KINDS, "{}garbage", 2, &m, &errs), 0);
    assert_non_null(m);
}

static void test_body_must_be_an_object(void **state) {
    (void)state;
    const char *bad[] = {"[]", "42", "\"s\"", "null", "true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_one_error(KINDS, bad[i], "", "expected a JSON object");
}

static void test_errors_stop_at_the_limit(void **state) {
    (void)state;
    char in[2048] = "{";
    for (int i = 0; i < 30; i++) {
        char field[32];
        snprintf(field, sizeof field, "%s\"bad%d\":1", i > 0 ? "," : "", i);
        strcat(in, field);
    }
    strcat(in, "}");
    assert_int_equal(decode_fails(KINDS, in), PB_MAX_ERRORS);
}

/* The attack as it came: 1,000 levels of arrays in a 2 KB body, decoded on
 * a thread with the 100 KiB stack a CivetWeb worker has. Before the limit,
 * jansson's recursive parser overflowed it. */
static void *decode_on_small_stack(void *arg) {
    const char *in = arg;
    arena_t *a = arena_new();
    pb_errors_t e;
    pb_errors_init(&e, a);
    ProtobufCMessage *out = NULL;
    int rc = pb_from_json(a, &parley__test__v1__kinds__descriptor, in, strlen(in), &out, &e);
    bool named = rc == -1 && e.count == 1 && strstr(e.items[0].message, "deeper than 32 levels") != NULL;
    arena_destroy(&a);
    return named ? (void *)1 : NULL;
}

static void test_a_thousand_levels_on_a_100_kib_stack_is_a_clean_error(void **state) {
    (void)state;
    size_t depth = 1000;
    char *in = malloc(depth * 2 + 64);
    char *w = stpcpy(in, "{\"authorityId\":");
    for (size_t i = 0; i < depth; i++) *w++ = '[';
    for (size_t i = 0; i < depth; i++) *w++ = ']';
    strcpy(w, "}");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 100 * 1024);
    pthread_t th;
    assert_int_equal(pthread_create(&th, &attr, decode_on_small_stack, in), 0);
    void *named = NULL;
    pthread_join(th, &named);
    pthread_attr_destroy(&attr);
    free(in);
    assert_non_null(named);
}

static void test_limits_count_structure_not_string_content(void **state) {
    (void)state;
    /* Brackets, commas and colons inside strings are text, escaped quotes too. */
    char in[4096] = "{\"name\":\"";
    for (int i = 0; i < 1000; i++) strcat(in, "[{,:");
    strcat(in, "\\\"]\"}");
    assert_null(pb_json_over_limits(in, strlen(in)));
    /* Past the number of values. */
    size_t n = (PB_JSON_MAX_VALUES + 1) * 2 + 2;
    char *many = malloc(n + 1);
    many[0] = '[';
    for (size_t i = 1; i + 1 < n; i += 2) many[i] = '0', many[i + 1] = ',';
    many[n - 1] = ']';
    many[n] = '\0';
    assert_non_null(strstr(pb_json_over_limits(many, n) ? pb_json_over_limits(many, n) : "", "more than 20000 values"));
    free(many);
    /* 32 levels are fine, 33 are not. */
    char deep[80] = "";
    for (int i = 0; i < 32; i++) strcat(deep, "[");
    assert_null(pb_json_over_limits(deep, strlen(deep)));
    strcat(deep, "[");
    assert_non_null(pb_json_over_limits(deep, strlen(deep)));
}

static void test_deep_nesting_is_refused_not_a_stack_overflow(void **state) {
    (void)state;
    size_t depth = 500; /* 1000 JSON levels: under jansson's limit of 2048 */
    char *in = malloc(depth * 20 + 64);
    strcpy(in, "{\"tree\":");
    for (size_t i = 0; i < depth; i++) strcat(in, "{\"children\":[");
    for (size_t i = 0; i < depth; i++) strcat(in, "]}");
    strcat(in, "}");
    decode_fails(KINDS, in);
    free(in);
    assert_string_equal(errs.items[0].message, "the body nests arrays and objects deeper than 32 levels");
    /* The encoder bounds itself too. */
    Parley__Test__V1__Node *nodes = arena_alloc(arena, 100 * sizeof *nodes);
    Parley__Test__V1__Node **links = arena_alloc(arena, 100 * sizeof *links);
    for (int i = 0; i < 100; i++) {
        parley__test__v1__node__init(&nodes[i]);
        links[i] = &nodes[i];
        if (i > 0) nodes[i - 1].n_children = 1, nodes[i - 1].children = &links[i];
    }
    assert_null(pb_to_json(&nodes[0].base));
    assert_non_null(decode_ok(KINDS, "{\"tree\":{\"children\":[{\"label\":\"leaf\"}]}}"));
}

static void test_from_json_value_prefixes_paths(void **state) {
    (void)state;
    json_t *v = json_pack("{s:i}", "colour", 1);
    ProtobufCMessage *m = NULL;
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_from_json_value(arena, KINDS, v, "items[2]", &m, &errs), -1);
    json_decref(v);
    assert_true(has_error("items[2].colour", "expected one of: red, dark_blue, green"));
}

static void test_set_from_string_parses_each_kind(void **state) {
    (void)state;
    Parley__Intake__V1__ListCasesRequest *req = arena_alloc(arena, sizeof *req);
    parley__intake__v1__list_cases_request__init(req);
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_set_from_string(arena, &req->base, "pageSize", "10", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &req->base, "status", "open", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &req->base, "pageToken", "abc", &errs), 0);
    assert_int_equal(req->page_size, 10);
    assert_int_equal(req->status, PARLEY__INTAKE__V1__CASE_STATUS__CASE_STATUS_OPEN);
    assert_string_equal(req->page_token, "abc");
    kinds_t *k = arena_alloc(arena, sizeof *k);
    parley__test__v1__kinds__init(k);
    assert_int_equal(pb_set_from_string(arena, &k->base, "aBool", "true", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "int32s", "1", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "int32s", "-2", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "colours", "green", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "strings", "x", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "anInt64", "-5", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "at", "2024-01-01T01:00:00+01:00", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "maybeInt32", "7", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "times", "2024-01-01T00:00:00Z", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "times", "2024-01-01T00:00:01Z", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &k->base, "choiceText", "t", &errs), 0);
    assert_int_equal(errs.count, 0);
    assert_true(k->a_bool);
    assert_int_equal(k->n_int32s, 2);
    assert_int_equal(k->int32s[1], -2);
    assert_int_equal(k->colours[0], PARLEY__TEST__V1__COLOUR__COLOUR_GREEN);
    assert_string_equal(k->strings[0], "x");
    assert_true(k->an_int64 == -5);
    assert_true(k->at->seconds == 1704067200);
    assert_int_equal(k->maybe_int32->value, 7);
    assert_int_equal(k->choice_case, PARLEY__TEST__V1__KINDS__CHOICE_CHOICE_TEXT);
    assert_int_equal(k->n_times, 2);
    assert_true(k->times[1]->seconds == 1704067201);
}

/* Setting name=value on a fresh ListCasesRequest fails with (name, message). */
static void assert_param_error(const char *name, const char *value, const char *message) {
    Parley__Intake__V1__ListCasesRequest req = PARLEY__INTAKE__V1__LIST_CASES_REQUEST__INIT;
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_set_from_string(arena, &req.base, name, value, &errs), -1);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0].field, name);
    assert_string_equal(errs.items[0].message, message);
    assert_int_equal(req.page_size, 0); /* a bad value changes nothing */
}

static void test_set_from_string_reports_bad_values(void **state) {
    (void)state;
    assert_param_error("pageSize", "abc", "expected an integer");
    assert_param_error("pageSize", "3000000000", "out of range for int32");
    assert_param_error("pageSize", "", "expected an integer");
    assert_param_error("page_size", "10", "unknown field");
    assert_param_error("status", "unspecified", "expected one of: open, closed");
    assert_param_error("status", "1", "expected one of: open, closed");
    assert_param_error("pageToken", "\xff", "must be valid UTF-8");
    kinds_t k = PARLEY__TEST__V1__KINDS__INIT;
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_set_from_string(arena, &k.base, "aBool", "yes", &errs), -1);
    assert_int_equal(pb_set_from_string(arena, &k.base, "nested", "x", &errs), -1);
    assert_int_equal(pb_set_from_string(arena, &k.base, "labels", "x", &errs), -1);
    assert_int_equal(pb_set_from_string(arena, &k.base, "at", "yesterday", &errs), -1);
    assert_int_equal(errs.count, 4);
    assert_true(has_error("aBool", "expected true or false"));
    assert_true(has_error("nested", "cannot be given as a parameter"));
    assert_true(has_error("labels", "cannot be given as a parameter"));
    assert_true(has_error("at", "expected an RFC 3339 timestamp"));
    assert_null(k.at);
}

static void test_json_names_are_lower_camel_case(void **state) {
    (void)state;
    char buf[32];
    assert_string_equal(pb_json_name("given_name", buf, sizeof buf), "givenName");
    assert_string_equal(pb_json_name("line1", buf, sizeof buf), "line1");
    assert_string_equal(pb_json_name("a_b_c", buf, sizeof buf), "aBC");
    assert_string_equal(pb_json_name("address_line_2", buf, sizeof buf), "addressLine2");
    assert_string_equal(pb_json_name("given_name", buf, 4), "giv");
}

static void test_invalid_utf8_from_the_wire_is_replaced_on_output(void **state) {
    (void)state;
    Parley__Test__V1__Nested n = PARLEY__TEST__V1__NESTED__INIT;
    n.name = "a\xff"
             "b";
    assert_json(&n, "{\"name\":\"a\xef\xbf\xbd"
                    "b\",\"count\":0}");
}

/* Cheap fuzzing: mutations of a valid body must never crash (run under ASan). */
static void test_mutated_bodies_never_crash(void **state) {
    (void)state;
    const char *seed = "{\"anInt32\":1,\"aString\":\"x\",\"nested\":{\"count\":2},\"int32s\":[1,2],"
                       "\"labels\":{\"a\":\"b\"},\"colour\":\"red\",\"at\":\"2024-01-01T00:00:00Z\","
                       "\"choiceText\":\"t\",\"maybeInt64\":\"3\",\"someBytes\":\"AQ==\"}";
    const char alphabet[] = "{}[]\":,0123456789-.eE\\ntrufalsNI";
    size_t len = strlen(seed);
    char buf[512];
    unsigned rng = 12345;
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(buf, seed, len);
        for (int edits = 0; edits < 4; edits++) {
            rng = rng * 1103515245u + 12345u;
            buf[(rng >> 8) % len] = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
        }
        ProtobufCMessage *m = NULL;
        pb_errors_init(&errs, arena);
        int rc = pb_from_json(arena, KINDS, buf, len, &m, &errs);
        assert_true(rc == 0 || errs.count > 0);
        if (rc == 0) {
            char *text = pb_to_json_text(m);
            assert_non_null(text);
            free(text);
        }
        arena_reset(arena);
    }
}

/* ---- field rules (lib/pb/rules.h), on the test-only Probe ------------------- */

#define PROBE (&parley__test__v1__probe__descriptor)
/* What Probe requires, for the tests of its other rules. */
#define PROBE_OK "\"name\":\"Ann\",\"tags\":[\"a\"],\"item\":{\"label\":\"x\"}"

/* Decoding Probe {PROBE_OK, extra} fails with exactly one error, (field, message). */
static void assert_probe_error(const char *extra, const char *field, const char *message) {
    char json[1024];
    snprintf(json, sizeof json, "{" PROBE_OK ",%s}", extra);
    assert_one_error(PROBE, json, field, message);
}

static void assert_probe_ok(const char *extra) {
    char json[1024];
    snprintf(json, sizeof json, "{" PROBE_OK "%s%s}", *extra ? "," : "", extra);
    decode_ok(PROBE, json);
}

static void test_rules_required_fields_left_out_are_named(void **state) {
    (void)state;
    /* Numbers and bools are never required: 0 and false are values. */
    assert_int_equal(decode_fails(PROBE, "{}"), 3);
    assert_true(has_error("name", "is required"));
    assert_true(has_error("tags", "at least one tag is required"));
    assert_true(has_error("item", "is required: say what it is"));
    /* null, "" and [] are "not given" too. */
    assert_int_equal(decode_fails(PROBE, "{\"name\":\"\",\"tags\":[],\"item\":null}"), 3);
    assert_true(has_error("name", "is required"));
    /* Nested: on the element's path. */
    assert_one_error(PROBE, "{\"name\":\"Ann\",\"tags\":[\"a\"],\"item\":{}}", "item.label", "is required");
    assert_probe_ok("");
}

static void test_rules_a_refused_value_is_not_also_missing(void **state) {
    (void)state;
    assert_int_equal(decode_fails(PROBE, "{\"name\":5,\"tags\":\"a\",\"item\":{\"label\":\"x\"}}"), 2);
    assert_true(has_error("name", "expected a string"));
    assert_true(has_error("tags", "expected an array"));
}

static void test_rules_lengths_count_characters_not_bytes(void **state) {
    (void)state;
    /* Ten characters, twenty bytes: at the limit. */
    decode_ok(PROBE, "{\"name\":\"\u00c5\u00c5\u00c5\u00c5\u00c5\u00c5\u00c5\u00c5\u00c5\u00c5\",\"tags\":[\"a\"],"
                     "\"item\":{\"label\":\"x\"}}");
    assert_one_error(PROBE, "{\"name\":\"Annabelle Lee\",\"tags\":[\"a\"],\"item\":{\"label\":\"x\"}}", "name",
                     "must be at most 10 characters");
    assert_probe_error("\"code\":\"ab\"", "code", "must be at least 3 characters");
    assert_probe_error("\"code\":\"abcde\"", "code", "must be at most 4 characters");
    assert_probe_ok("\"code\":\"\""); /* "" is not given: no length applies */
    assert_probe_ok("\"code\":\"abcd\"");
}

static void test_rules_lists_are_counted_and_each_element_checked(void **state) {
    (void)state;
    assert_one_error(PROBE, "{\"name\":\"Ann\",\"tags\":[\"a\",\"b\",\"c\"],\"item\":{\"label\":\"x\"}}", "tags",
                     "at most 2 tags");
    assert_int_equal(decode_fails(PROBE, "{\"name\":\"Ann\",\"tags\":[\"\",\"abcd\"],\"item\":{\"label\":\"x\"}}"), 2);
    assert_true(has_error("tags[0]", "is required")); /* an element is never "not given" */
    assert_true(has_error("tags[1]", "must be at most 3 characters"));
    assert_probe_error("\"items\":[{\"label\":\"a\"},{\"label\":\"b\"},{\"label\":\"c\"},{\"label\":\"d\"}]", "items",
                       "at most 3");
    assert_probe_error("\"items\":[{\"label\":\"a\"},{\"label\":\"toolong\"}]", "items[1].label",
                       "must be at most 5 characters");
    assert_probe_error("\"ids\":[\"0f8d7a6c-3b2e-4f1a-9c8d-7e6f5a4b3c2d\",\"nope\"]", "ids[1]", "must be a UUID");
}

static void test_rules_numbers_keep_their_bounds(void **state) {
    (void)state;
    assert_probe_error("\"count\":51", "count", "must be between 0 and 50");
    assert_probe_error("\"count\":-1", "count", "must be between 0 and 50");
    assert_probe_ok("\"count\":0,\"big\":\"-5\",\"small\":9,\"ratio\":1,\"maybe\":3");
    assert_probe_ok("\"count\":50,\"big\":\"9223372036854775807\",\"small\":0,\"ratio\":0");
    assert_probe_error("\"big\":\"-6\"", "big", "must be at least -5");
    assert_probe_error("\"small\":10", "small", "must be at most 9");
    assert_probe_error("\"ratio\":1.5", "ratio", "must be between 0 and 1");
    assert_probe_error("\"ratio\":\"NaN\"", "ratio", "must be between 0 and 1");
    /* A wrapper's bounds are its value's; null is not given. */
    assert_probe_error("\"maybe\":0", "maybe", "must be between 1 and 3");
    assert_probe_ok("\"maybe\":null");
}

static void test_rules_formats_say_what_the_services_say(void **state) {
    (void)state;
    static const struct {
        const char *field, *bad, *good, *message;
    } cases[] = {
        {"on", "2024-02-30", "2024-02-29", "must be a date, YYYY-MM-DD"},
        {"on", "1899-12-31", "1900-01-01", "must be a date, YYYY-MM-DD"},
        {"refId", "0f8d7a6c-3b2e-4f1a-9c8d-7e6f5a4b3c2", "0F8D7A6C-3B2E-4F1A-9C8D-7E6F5A4B3C2D", "must be a UUID"},
        {"email", "ann@example", "ann@example.org", "must be an email address"},
        {"email", "ann lee@example.org", "a@b.co", "must be an email address"},
        {"site", "ftp://example.org", "HTTPS://example.org/a?b=c", "must be an http(s) URL"},
        {"site", "https://", "http://ab", "must be an http(s) URL"},
        {"language", "english", "sr-Latn-RS", "must be a BCP 47 language tag such as en, cy or pl"},
        {"language", "e", "cy", "must be a BCP 47 language tag such as en, cy or pl"},
        {"phone", "12345", "+44 (0)20 7946 0000", "must be a telephone number"},
        {"phone", "020 7946 000x", "07700-900123", "must be a telephone number"},
        {"urn", "12345", "123456", "must be a 6-digit URN"},
        {"urn", "1234567", "000001", "must be a 6-digit URN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char extra[256];
        snprintf(extra, sizeof extra, "\"%s\":\"%s\"", cases[i].field, cases[i].bad);
        assert_probe_error(extra, cases[i].field, cases[i].message);
        snprintf(extra, sizeof extra, "\"%s\":\"%s\"", cases[i].field, cases[i].good);
        assert_probe_ok(extra);
        snprintf(extra, sizeof extra, "\"%s\":\"\"", cases[i].field);
        assert_probe_ok(extra); /* "" is not given */
    }
}

static void test_rules_apply_to_parameters_too(void **state) {
    (void)state;
    Parley__Test__V1__Probe p = PARLEY__TEST__V1__PROBE__INIT;
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_set_from_string(arena, &p.base, "count", "51", &errs), -1);
    assert_int_equal(pb_set_from_string(arena, &p.base, "on", "2024-13-01", &errs), -1);
    assert_int_equal(pb_set_from_string(arena, &p.base, "name", "Annabelle Lee", &errs), -1);
    assert_int_equal(pb_set_from_string(arena, &p.base, "tags", "", &errs), -1);
    assert_int_equal(errs.count, 4);
    assert_true(has_error("count", "must be between 0 and 50"));
    assert_true(has_error("on", "must be a date, YYYY-MM-DD"));
    assert_true(has_error("name", "must be at most 10 characters"));
    assert_true(has_error("tags", "is required"));
    /* Nothing refused was set. */
    assert_int_equal(p.count, 0);
    assert_true(p.on == NULL || *p.on == '\0');
    assert_int_equal(p.n_tags, 0);
    /* A list given as repeated parameters keeps its bound. */
    pb_errors_init(&errs, arena);
    assert_int_equal(pb_set_from_string(arena, &p.base, "tags", "a", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &p.base, "tags", "b", &errs), 0);
    assert_int_equal(pb_set_from_string(arena, &p.base, "tags", "c", &errs), -1);
    assert_true(has_error("tags", "at most 2 tags"));
    assert_int_equal(p.n_tags, 2);
}

static void test_rules_of_real_requests_use_the_handlers_words(void **state) {
    (void)state;
    decode_fails(FAMILY_REQ, "{\"authorityId\":\"" AUTHORITY "\"}");
    assert_true(has_error("parents", "at least one parent or carer is required"));
    assert_true(has_error("children", "at least one child is required"));
    decode_fails(&parley__intake__v1__create_case_request__descriptor,
                 "{\"authorityId\":\"" AUTHORITY "\",\"familyId\":\"" AUTHORITY "\",\"childId\":\"" AUTHORITY
                 "\",\"source\":\"school\",\"needs\":[\"advice\"]}");
    assert_int_equal(errs.count, 1);
    assert_true(has_error("consent", "is required: record the lawful basis for holding this case"));
}

/* Every pattern the table declares compiles as lib/pb compiles it. */
static void test_every_declared_pattern_compiles_as_posix_ere(void **state) {
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < pb__n_message_docs; i++) {
        const pb_message_doc_t *m = &pb__message_docs[i];
        for (size_t k = 0; k < m->n_fields; k++) {
            const char *patterns[] = {m->fields[k].rules.pattern, m->fields[k].shown.pattern};
            for (size_t j = 0; j < 2; j++) {
                if (patterns[j] == NULL) continue;
                regex_t re;
                if (regcomp(&re, patterns[j], REG_EXTENDED | REG_NOSUB) != 0)
                    fail_msg("%s.%s: pattern %s does not compile", m->full_name, m->fields[k].name, patterns[j]);
                regfree(&re);
                n++;
            }
        }
    }
    assert_true(n > 0);
}

static void test_the_table_has_each_fields_description_and_each_messages_example(void **state) {
    (void)state;
    const ProtobufCMessageDescriptor *parent = &parley__intake__v1__parent_input__descriptor;
    const pb_field_doc_t *f = pb_field_doc(parent, protobuf_c_message_descriptor_get_field_by_name(parent, "preferred_language"));
    assert_non_null(f);
    assert_string_equal(f->name, "preferred_language");
    assert_non_null(strstr(f->description, "BCP 47"));
    assert_non_null(strstr(f->rules.pattern, "unknown")); /* a language not recorded says so */
    /* A reply's field shows the limits of the request field that sets it. */
    const ProtobufCMessageDescriptor *p = &parley__intake__v1__parent__descriptor;
    f = pb_field_doc(p, protobuf_c_message_descriptor_get_field_by_name(p, "given_name"));
    assert_int_equal(f->rules.max_len, 0);
    assert_int_equal(f->shown.max_len, 100);
    assert_non_null(strstr(pb_enum_value_doc(&parley__intake__v1__sen_stage__descriptor, 10), "2001"));
    const pb_message_doc_t *m = pb_message_doc(&parley__intake__v1__create_family_request__descriptor);
    assert_non_null(m);
    json_error_t jerr;
    json_t *example = json_loads(m->example, 0, &jerr);
    assert_true(json_is_object(example));
    assert_non_null(json_object_get(example, "parents"));
    json_decref(example);
    /* The example is a request the codec accepts. */
    decode_ok(&parley__intake__v1__create_family_request__descriptor, m->example);
    /* A descriptor the build did not see has no entry. */
    static const ProtobufCMessageDescriptor unknown = {.name = "parley.test.v1.Unknown"};
    assert_null(pb_message_doc(&unknown));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_scalar_kind_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_omits_empty_strings_unset_messages_and_zero_enums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_fields_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int64_accepted_as_string_or_number_and_emitted_as_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int32_out_of_range_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_floats_accept_special_strings_and_reject_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_words_drop_the_prefix_and_reject_unspecified_numbers_and_unknown_words,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_offsets_are_converted_to_utc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_fractions_keep_their_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_rejects_bad_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrappers_are_bare_values_and_null_unsets_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maps_are_json_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oneof_with_two_members_set_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_and_repeated_errors_name_their_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intake_request_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_message_given_as_a_string_is_its_text_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_field_is_reported_on_its_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_means_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_json_is_one_error_on_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_must_be_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_stop_at_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting_is_refused_not_a_stack_overflow, setup, teardown),
        cmocka_unit_test(test_a_thousand_levels_on_a_100_kib_stack_is_a_clean_error),
        cmocka_unit_test(test_limits_count_structure_not_string_content),
        cmocka_unit_test_setup_teardown(test_from_json_value_prefixes_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_from_string_parses_each_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_from_string_reports_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_names_are_lower_camel_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_from_the_wire_is_replaced_on_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutated_bodies_never_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_required_fields_left_out_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_a_refused_value_is_not_also_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_lengths_count_characters_not_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_lists_are_counted_and_each_element_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_numbers_keep_their_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_formats_say_what_the_services_say, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_apply_to_parameters_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_of_real_requests_use_the_handlers_words, setup, teardown),
        cmocka_unit_test(test_every_declared_pattern_compiles_as_posix_ere),
        cmocka_unit_test_setup_teardown(test_the_table_has_each_fields_description_and_each_messages_example, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
