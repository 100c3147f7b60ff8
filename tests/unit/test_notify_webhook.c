/* Webhooks: which addresses a webhook may be sent to (IPv4, IPv6, IPv4 in
 * IPv6), the allow-list and URL checks, and Standard Webhooks signatures
 * and secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "services/notify/webhook_address.h"
#include "services/notify/webhook_sign.h"

/* The classifier's answer for a literal address. */
static const char *refused(const char *text) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
    }
    return webhook_address_refused((struct sockaddr *)&ss);
}

static void test_ipv4_loopback_private_link_local_cgnat_metadata_and_multicast_are_refused(void **state) {
    (void)state;
    const char *bad[] = {"127.0.0.1",     "127.255.255.254", "0.0.0.0",        "10.0.0.1",      "10.255.255.255",
                         "172.16.0.1",    "172.31.255.255",  "192.168.1.1",    "169.254.169.254", "169.254.0.1",
                         "100.64.0.1",    "100.127.255.254", "100.100.100.200", "224.0.0.1",     "239.255.255.250",
                         "255.255.255.255", "240.0.0.1",     "192.0.0.192",    "198.18.0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (refused(bad[i]) == NULL) fail_msg("%s was allowed", bad[i]);
    }
    assert_string_equal(refused("127.0.0.1"), "a loopback address");
    assert_string_equal(refused("169.254.169.254"), "a link-local or metadata (169.254.0.0/16) address");
    assert_string_equal(refused("10.0.0.1"), "a private (10.0.0.0/8) address");
}

static void test_ipv4_public_addresses_and_the_edges_of_private_ranges_are_allowed(void **state) {
    (void)state;
    const char *good[] = {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1",
                          "100.63.255.255", "100.128.0.1", "192.167.255.255", "192.169.0.1", "11.0.0.1",
                          "169.253.255.255", "223.255.255.255"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (refused(good[i]) != NULL) fail_msg("%s was refused: %s", good[i], refused(good[i]));
    }
}

static void test_ipv6_loopback_unspecified_link_local_unique_local_and_multicast_are_refused(void **state) {
    (void)state;
    const char *bad[] = {"::1", "::", "fe80::1", "febf::1", "fc00::1", "fd00:ec2::254", "ff02::1", "fec0::1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (refused(bad[i]) == NULL) fail_msg("%s was allowed", bad[i]);
    }
    assert_string_equal(refused("::1"), "a loopback address");
}

static void test_ipv6_public_addresses_are_allowed(void **state) {
    (void)state;
    const char *good[] = {"2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4009:81f::200e", "fe7f::1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (refused(good[i]) != NULL) fail_msg("%s was refused: %s", good[i], refused(good[i]));
    }
}

static void test_ipv4_in_ipv6_is_judged_as_the_ipv4_address(void **state) {
    (void)state;
    /* v4-mapped, NAT64 and 6to4 forms of refused addresses. */
    const char *bad[] = {"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:192.168.0.1",
                         "64:ff9b::a00:1", "2002:7f00:1::1", "2002:a9fe:a9fe::1", "::127.0.0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (refused(bad[i]) == NULL) fail_msg("%s was allowed", bad[i]);
    }
    assert_string_equal(refused("::ffff:127.0.0.1"), "a loopback address");
    /* ... and a public IPv4 address in them is allowed. */
    assert_null(refused("::ffff:8.8.8.8"));
    assert_null(refused("64:ff9b::808:808"));
    assert_null(refused("2002:808:808::1"));
}

static void test_the_allow_list_takes_hosts_with_or_without_a_port(void **state) {
    (void)state;
    webhook_allow_t a;
    assert_int_equal(webhook_allow_parse("127.0.0.1:8080, Hooks.Internal ,[::1]:9000,[fd00::1],::2", &a), 0);
    assert_int_equal(a.n, 5);
    assert_true(webhook_allow_has(&a, "127.0.0.1", 8080));
    assert_false(webhook_allow_has(&a, "127.0.0.1", 8081));
    assert_true(webhook_allow_has(&a, "hooks.internal", 443));
    assert_true(webhook_allow_has(&a, "::1", 9000));
    assert_false(webhook_allow_has(&a, "::1", 9001));
    assert_true(webhook_allow_has(&a, "fd00::1", 1));
    assert_true(webhook_allow_has(&a, "::2", 80));
    assert_int_equal(webhook_allow_parse("", &a), 0);
    assert_int_equal(a.n, 0);
    assert_int_equal(webhook_allow_parse("host:0", &a), -1);
    assert_int_equal(webhook_allow_parse("host:99999", &a), -1);
    assert_int_equal(webhook_allow_parse("host:80x", &a), -1);
    assert_int_equal(webhook_allow_parse("[::1", &a), -1);
    assert_int_equal(webhook_allow_parse("ho st", &a), -1);
}

static void test_a_url_must_be_https_without_credentials_unless_allow_listed(void **state) {
    (void)state;
    webhook_allow_t a;
    webhook_target_t t;
    const char *why = NULL;
    assert_int_equal(webhook_allow_parse("127.0.0.1:8080", &a), 0);
    assert_int_equal(webhook_url_parse("https://Agency.Example.org/hook", &a, &t, &why), 0);
    assert_true(t.https);
    assert_string_equal(t.host, "agency.example.org");
    assert_int_equal(t.port, 443);
    assert_false(t.allow_listed);
    assert_int_equal(webhook_url_parse("http://agency.example.org/hook", &a, &t, &why), -1);
    assert_non_null(strstr(why, "https"));
    assert_int_equal(webhook_url_parse("http://127.0.0.1:8080/hook", &a, &t, &why), 0);
    assert_true(t.allow_listed);
    assert_int_equal(webhook_url_parse("http://127.0.0.1:8081/hook", &a, &t, &why), -1);
    assert_int_equal(webhook_url_parse("https://user:pw@agency.example.org/", &a, &t, &why), -1);
    assert_non_null(strstr(why, "password"));
    assert_int_equal(webhook_url_parse("ftp://agency.example.org/", &a, &t, &why), -1);
    assert_int_equal(webhook_url_parse("https://[::1]:8443/", &a, &t, &why), 0);
    assert_string_equal(t.host, "::1");
}

static void test_literal_refused_addresses_fail_to_resolve_as_targets(void **state) {
    (void)state;
    webhook_allow_t a = {.n = 0};
    const char *urls[] = {"https://127.0.0.1/", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/",
                          "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://0x7f000001/",
                          "https://2130706433/", "https://localhost/"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        webhook_target_t t;
        const char *why = NULL;
        if (webhook_url_parse(urls[i], &a, &t, &why) != 0) continue; /* refused already */
        int rc = webhook_target_resolve(&t, &why);
        if (rc != -2) fail_msg("%s: %d (%s)", urls[i], rc, why ? why : "");
    }
}

/* The example of the Standard Webhooks specification. */
static void test_the_signature_is_the_standard_webhooks_one(void **state) {
    (void)state;
    char sig[WEBHOOK_SIGNATURE_MAX];
    const char *body = "{\"test\": 2432232314}";
    assert_int_equal(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                  1614265330, body, strlen(body), sig),
                     0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_int_equal(webhook_sign("not a secret", "id", 1, body, strlen(body), sig), -1);
    assert_int_equal(webhook_sign("whsec_c2hvcnQ=", "id", 1, body, strlen(body), sig), -1); /* 5 bytes */
}

static void test_a_secret_is_whsec_and_32_random_bytes_and_opens_only_for_its_webhook(void **state) {
    (void)state;
    unsigned char key[WEBHOOK_KEY_LEN], other[WEBHOOK_KEY_LEN];
    assert_int_equal(webhook_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", key), 0);
    assert_int_equal(webhook_key_parse("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", other), 0);
    assert_int_equal(webhook_key_parse("abc", key + 0), -1);
    char s1[WEBHOOK_SECRET_MAX], s2[WEBHOOK_SECRET_MAX], opened[WEBHOOK_SECRET_MAX], sig[WEBHOOK_SIGNATURE_MAX];
    assert_int_equal(webhook_secret_new(s1), 0);
    assert_int_equal(webhook_secret_new(s2), 0);
    assert_int_equal(strncmp(s1, "whsec_", 6), 0);
    assert_int_equal(strlen(s1), 6 + 44);
    assert_string_not_equal(s1, s2);
    assert_int_equal(webhook_sign(s1, "id", 1, "{}", 2, sig), 0);
    char *sealed = NULL;
    const char *id = "6f1c1a52-7d0e-4d7b-9b1e-2a0c3f1d9e01";
    assert_int_equal(webhook_secret_seal(key, id, s1, &sealed), 0);
    assert_null(strstr(sealed, s1 + 6));
    assert_int_equal(webhook_secret_open(key, id, sealed, opened), 0);
    assert_string_equal(opened, s1);
    assert_int_equal(webhook_secret_open(key, "6f1c1a52-7d0e-4d7b-9b1e-2a0c3f1d9e02", sealed, opened), -1);
    assert_int_equal(webhook_secret_open(other, id, sealed, opened), -1);
    sealed[30] = sealed[30] == '0' ? '1' : '0';
    assert_int_equal(webhook_secret_open(key, id, sealed, opened), -1);
    free(sealed);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_loopback_private_link_local_cgnat_metadata_and_multicast_are_refused),
        cmocka_unit_test(test_ipv4_public_addresses_and_the_edges_of_private_ranges_are_allowed),
        cmocka_unit_test(test_ipv6_loopback_unspecified_link_local_unique_local_and_multicast_are_refused),
        cmocka_unit_test(test_ipv6_public_addresses_are_allowed),
        cmocka_unit_test(test_ipv4_in_ipv6_is_judged_as_the_ipv4_address),
        cmocka_unit_test(test_the_allow_list_takes_hosts_with_or_without_a_port),
        cmocka_unit_test(test_a_url_must_be_https_without_credentials_unless_allow_listed),
        cmocka_unit_test(test_literal_refused_addresses_fail_to_resolve_as_targets),
        cmocka_unit_test(test_the_signature_is_the_standard_webhooks_one),
        cmocka_unit_test(test_a_secret_is_whsec_and_32_random_bytes_and_opens_only_for_its_webhook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
