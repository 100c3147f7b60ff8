/* Failed authentications (gateway/auth_throttle.h, gateway/auth.h): a key
 * is refused for the rest of its window after its limit, the table stays
 * bounded, and the client address is the peer's unless a same-host proxy
 * names another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/auth.h"
#include "gateway/auth_throttle.h"

static void test_a_key_is_refused_after_its_limit_until_its_window_ends(void **state) {
    (void)state;
    throttle_t *t = throttle_new(64, 3, 60000);
    int64_t now = 1000000;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(throttle_blocked_ms(t, "203.0.113.7", now), 0);
        throttle_fail(t, "203.0.113.7", now + i);
    }
    assert_int_equal(throttle_blocked_ms(t, "203.0.113.7", now + 10), 60000 - 10);
    assert_int_equal(throttle_blocked_ms(t, "203.0.113.8", now + 10), 0); /* another key is not */
    assert_int_equal(throttle_blocked_ms(t, "203.0.113.7", now + 60000), 0); /* the window is over */
    throttle_fail(t, "203.0.113.7", now + 60000); /* a new window: one failure */
    assert_int_equal(throttle_blocked_ms(t, "203.0.113.7", now + 60001), 0);
    throttle_destroy(&t);
    assert_null(t);
}

static void test_a_full_table_keeps_the_keys_being_refused(void **state) {
    (void)state;
    throttle_t *t = throttle_new(16, 2, 60000);
    throttle_fail(t, "victim", 0);
    throttle_fail(t, "victim", 1);
    /* A flood of one-off failures under other keys fills every slot. */
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        throttle_fail(t, key, 2);
    }
    assert_true(throttle_blocked_ms(t, "victim", 3) > 0);
    throttle_destroy(&t);
}

static void test_no_limit_refuses_nothing(void **state) {
    (void)state;
    throttle_t *t = throttle_new(8, 0, 60000);
    for (int i = 0; i < 100; i++) throttle_fail(t, "x", i);
    assert_int_equal(throttle_blocked_ms(t, "x", 100), 0);
    assert_int_equal(throttle_blocked_ms(t, NULL, 100), 0);
    throttle_destroy(&t);
}

static void test_the_address_is_the_peer_unless_a_local_proxy_names_one(void **state) {
    (void)state;
    char out[AUTH_ADDRESS_LEN];
    auth_client_address("198.51.100.4", NULL, out);
    assert_string_equal(out, "198.51.100.4");
    /* A remote peer cannot choose its address. */
    auth_client_address("198.51.100.4", "203.0.113.9", out);
    assert_string_equal(out, "198.51.100.4");
    /* nginx on the same host appends the address it saw. */
    auth_client_address("127.0.0.1", "10.0.0.1, 203.0.113.9", out);
    assert_string_equal(out, "203.0.113.9");
    auth_client_address("::1", "2001:db8::7", out);
    assert_string_equal(out, "2001:db8::7");
    /* Not an address: the peer's stands. */
    auth_client_address("127.0.0.1", "203.0.113.9, evil\r\nX: y", out);
    assert_string_equal(out, "127.0.0.1");
    auth_client_address("127.0.0.1", "", out);
    assert_string_equal(out, "127.0.0.1");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_key_is_refused_after_its_limit_until_its_window_ends),
        cmocka_unit_test(test_a_full_table_keeps_the_keys_being_refused),
        cmocka_unit_test(test_no_limit_refuses_nothing),
        cmocka_unit_test(test_the_address_is_the_peer_unless_a_local_proxy_names_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
