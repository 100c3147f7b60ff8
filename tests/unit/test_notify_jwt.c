/* The Notify API provider's pure parts: API keys in Notify's format, the
 * JWT Notify documents (checked against a token computed independently,
 * with Python's hmac and base64), Notify's statuses and HTTP answers as
 * Parley's outcomes, and the rate limit's token bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "services/notify/jwt.h"
#include "services/notify/notify_api.h"

#define SERVICE "26785a09-ab16-4eb0-8407-a37497a57506"
#define SECRET "3d844edf-8d35-48ac-975b-e847b4f122b0"

static void test_a_key_yields_its_service_id_and_secret_whatever_its_name(void **state) {
    (void)state;
    jwt_key_t k;
    assert_int_equal(jwt_key_parse("parley_live-" SERVICE "-" SECRET, &k), 0);
    assert_string_equal(k.service_id, SERVICE);
    assert_string_equal(k.secret, SECRET);
    /* A name may hold dashes: the ids are the last 73 characters. */
    assert_int_equal(jwt_key_parse("my-team-test-key-" SERVICE "-" SECRET, &k), 0);
    assert_string_equal(k.service_id, SERVICE);
    assert_string_equal(k.secret, SECRET);
}

static void test_what_is_not_a_key_is_refused(void **state) {
    (void)state;
    jwt_key_t k;
    const char *bad[] = {
        "",
        SERVICE "-" SECRET,                               /* no name */
        "-" SERVICE "-" SECRET,                           /* an empty name */
        "name-" SERVICE SECRET,                           /* no dash between the ids */
        "name-" SERVICE "-3d844edf-8d35-48ac-975b-e847b4f122b",  /* a short secret */
        "name-" SERVICE "-3d844edf-8d35-48ac-975b-e847b4f122bz", /* not hex */
        "name-26785a09ab16-4eb0-8407-a37497a575066-" SECRET,     /* dashes misplaced */
        "na\nme-" SERVICE "-" SECRET,                     /* a control character in the name */
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(jwt_key_parse(bad[i], &k), -1);
    char longname[400];
    memset(longname, 'a', 201);
    snprintf(longname + 201, sizeof longname - 201, "-%s-%s", SERVICE, SECRET);
    assert_int_equal(jwt_key_parse(longname, &k), -1);
}

static void test_the_token_is_the_one_notify_documents(void **state) {
    (void)state;
    jwt_key_t k;
    assert_int_equal(jwt_key_parse("parley-" SERVICE "-" SECRET, &k), 0);
    char token[JWT_MAX];
    assert_int_equal(jwt_token(&k, 1700000000, token, sizeof token), 0);
    /* python3: header {"typ":"JWT","alg":"HS256"}, claims {"iss":SERVICE,"iat":1700000000}
     * (compact JSON), base64url unpadded, hmac.new(SECRET, header.claims, sha256). */
    assert_string_equal(token, "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
                               "eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQiOjE3MDAwMDAwMDB9."
                               "q1v0ZBAPOtT5-Ng39fZDm8ojJu-wrEQD-OrsVHHKnIM");
    /* Another second, another signature. */
    char later[JWT_MAX];
    assert_int_equal(jwt_token(&k, 1700000001, later, sizeof later), 0);
    assert_string_not_equal(token, later);
    /* Too small a buffer is refused, not overrun. */
    char small[100];
    assert_int_equal(jwt_token(&k, 1700000000, small, sizeof small), -1);
}

static void test_base64url_has_no_padding_and_the_url_alphabet(void **state) {
    (void)state;
    char out[16];
    const unsigned char raw[] = {0xfb, 0xff, 0xbf};
    assert_int_equal(jwt_base64url(raw, 3, out, sizeof out), 4);
    assert_string_equal(out, "-_-_");
    assert_int_equal(jwt_base64url((const unsigned char *)"a", 1, out, sizeof out), 2);
    assert_string_equal(out, "YQ");
    assert_int_equal(jwt_base64url((const unsigned char *)"abcdefghijklmnop", 16, out, sizeof out), -1);
}

static void test_notifys_statuses_map_to_parleys_outcomes(void **state) {
    (void)state;
    assert_int_equal(notify_api_status_outcome("delivered"), NOTIFY_API_DELIVERED);
    assert_int_equal(notify_api_status_outcome("created"), NOTIFY_API_SENDING);
    assert_int_equal(notify_api_status_outcome("sending"), NOTIFY_API_SENDING);
    assert_int_equal(notify_api_status_outcome("pending"), NOTIFY_API_SENDING);
    assert_int_equal(notify_api_status_outcome("permanent-failure"), NOTIFY_API_PERMANENT);
    assert_int_equal(notify_api_status_outcome("temporary-failure"), NOTIFY_API_TEMPORARY);
    assert_int_equal(notify_api_status_outcome("technical-failure"), NOTIFY_API_TEMPORARY);
    /* A word it does not know is polled again (a bounded number of times), never taken as delivered. */
    assert_int_equal(notify_api_status_outcome("Delivered"), NOTIFY_API_SENDING);
    assert_int_equal(notify_api_status_outcome(NULL), NOTIFY_API_SENDING);
}

static void test_http_answers_map_to_outcomes(void **state) {
    (void)state;
    assert_int_equal(notify_api_http_outcome(201), NOTIFY_API_SENDING);
    assert_int_equal(notify_api_http_outcome(400), NOTIFY_API_PERMANENT);
    assert_int_equal(notify_api_http_outcome(403), NOTIFY_API_PERMANENT);
    assert_int_equal(notify_api_http_outcome(429), NOTIFY_API_TEMPORARY);
    assert_int_equal(notify_api_http_outcome(500), NOTIFY_API_TEMPORARY);
    assert_int_equal(notify_api_http_outcome(503), NOTIFY_API_TEMPORARY);
    assert_int_equal(notify_api_http_outcome(0), NOTIFY_API_TEMPORARY);
}

static void test_the_bucket_lets_rate_a_second_through(void **state) {
    (void)state;
    notify_api_bucket_t b = {.rate = 4};
    int64_t t = 1000000;
    for (int i = 0; i < 4; i++) assert_int_equal(notify_api_bucket_take(&b, t), 0); /* a second's burst */
    int64_t wait = notify_api_bucket_take(&b, t);
    assert_true(wait > 0 && wait <= 251);
    assert_true(notify_api_bucket_take(&b, t + 100) > 0);
    assert_int_equal(notify_api_bucket_take(&b, t + 251), 0); /* a quarter of a second: one more */
    assert_true(notify_api_bucket_take(&b, t + 252) > 0);
    /* Idle for a minute: still only a second's worth at once. */
    int taken = 0;
    while (notify_api_bucket_take(&b, t + 60000) == 0 && taken < 100) taken++;
    assert_int_equal(taken, 4);
    /* Below one a second: one at a time. */
    notify_api_bucket_t slow = {.rate = 0.5};
    assert_int_equal(notify_api_bucket_take(&slow, t), 0);
    assert_true(notify_api_bucket_take(&slow, t + 1000) > 0);
    assert_int_equal(notify_api_bucket_take(&slow, t + 2001), 0);
}

static void test_plain_http_only_to_loopback(void **state) {
    (void)state;
    assert_true(notify_api_url_allowed("https://api.notifications.service.gov.uk"));
    assert_true(notify_api_url_allowed("http://127.0.0.1:8080"));
    assert_true(notify_api_url_allowed("http://127.1.2.3/"));
    assert_true(notify_api_url_allowed("http://localhost:9000"));
    assert_true(notify_api_url_allowed("http://[::1]:9000"));
    assert_false(notify_api_url_allowed("http://api.notifications.service.gov.uk"));
    assert_false(notify_api_url_allowed("http://127.0.0.1.nip.io"));
    assert_false(notify_api_url_allowed("http://127.0.0.1@evil.example"));
    assert_false(notify_api_url_allowed("http://localhost.evil.example"));
    assert_false(notify_api_url_allowed("http://10.0.0.1"));
    assert_false(notify_api_url_allowed("ftp://127.0.0.1"));
    assert_false(notify_api_url_allowed("https://"));
    assert_false(notify_api_url_allowed(""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_key_yields_its_service_id_and_secret_whatever_its_name),
        cmocka_unit_test(test_what_is_not_a_key_is_refused),
        cmocka_unit_test(test_the_token_is_the_one_notify_documents),
        cmocka_unit_test(test_base64url_has_no_padding_and_the_url_alphabet),
        cmocka_unit_test(test_notifys_statuses_map_to_parleys_outcomes),
        cmocka_unit_test(test_http_answers_map_to_outcomes),
        cmocka_unit_test(test_the_bucket_lets_rate_a_second_through),
        cmocka_unit_test(test_plain_http_only_to_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
