/* Which SMTP connections must use STARTTLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/notify/smtp.h"

static bool starttls(const char *url, const char *setting) {
    bool on = false;
    assert_int_equal(smtp_tls_for(url, setting, &on), 0);
    return on;
}

static void test_a_remote_relay_must_speak_starttls(void **state) {
    (void)state;
    assert_true(starttls("smtp://relay.example.org:587", ""));
    assert_true(starttls("smtp://user:secret@relay.example.org", ""));
    assert_true(starttls("smtp://192.0.2.2:25/parley.example.org", ""));
    assert_true(starttls("smtp://[2001:db8::1]:587", ""));
    /* A name is not trusted to be local, whatever it looks like. */
    assert_true(starttls("smtp://127.0.0.1.example.org:25", ""));
}

static void test_loopback_needs_no_tls_unless_asked(void **state) {
    (void)state;
    assert_false(starttls("smtp://127.0.0.1:2525", ""));
    assert_false(starttls("smtp://127.8.9.10", ""));
    assert_false(starttls("smtp://localhost:25", ""));
    assert_false(starttls("smtp://[::1]:25", ""));
    assert_false(starttls("smtp://user@127.0.0.1:25", ""));
    assert_true(starttls("smtp://127.0.0.1:2525", "required"));
}

static void test_off_and_smtps(void **state) {
    (void)state;
    assert_false(starttls("smtp://relay.example.org:25", "off"));
    /* smtps:// is TLS from the first byte: no STARTTLS on top. */
    assert_false(starttls("smtps://relay.example.org:465", ""));
}

static void test_other_urls_and_settings_are_refused(void **state) {
    (void)state;
    bool on;
    assert_int_equal(smtp_tls_for("http://relay.example.org", "", &on), -1);
    assert_int_equal(smtp_tls_for("smtp://relay.example.org", "yes", &on), -1);
    assert_int_equal(smtp_tls_for("smtp://[::1:25", "", &on), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_remote_relay_must_speak_starttls),
        cmocka_unit_test(test_loopback_needs_no_tls_unless_asked),
        cmocka_unit_test(test_off_and_smtps),
        cmocka_unit_test(test_other_urls_and_settings_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
