/* Replay data (gateway/idempotency.h): keys derived per client and
 * Idempotency-Key, the fingerprint bound to method, path, query and body,
 * AES-256-GCM sealing that refuses anything altered, and the key of a new
 * API client never kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/idempotency.h"

static const unsigned char secret[32] = "0123456789abcdef0123456789abcde";
#define CLIENT "0f8fad5b-d9cb-469f-a165-70867728950e"
#define OTHER "7c9e6679-7425-40de-944b-e07fc1f90ae7"

static void test_keys_differ_per_client_and_idempotency_key(void **state) {
    (void)state;
    unsigned char k1[IDEM_KEY_LEN], k2[IDEM_KEY_LEN], k3[IDEM_KEY_LEN], again[IDEM_KEY_LEN];
    char d1[65], d2[65], d3[65], l1[24], l2[24], l3[24], dagain[65], lagain[24];
    assert_int_equal(idem_derive(secret, sizeof secret, CLIENT, "key-1", k1, d1, l1), 0);
    assert_int_equal(idem_derive(secret, sizeof secret, CLIENT, "key-2", k2, d2, l2), 0);
    assert_int_equal(idem_derive(secret, sizeof secret, OTHER, "key-1", k3, d3, l3), 0);
    assert_int_equal(idem_derive(secret, sizeof secret, CLIENT, "key-1", again, dagain, lagain), 0);
    assert_memory_equal(k1, again, IDEM_KEY_LEN);
    assert_string_equal(d1, dagain);
    assert_string_equal(l1, lagain);
    assert_memory_not_equal(k1, k2, IDEM_KEY_LEN);
    assert_memory_not_equal(k1, k3, IDEM_KEY_LEN);
    assert_string_not_equal(d1, d2);
    assert_string_not_equal(d1, d3);
    assert_int_equal(strlen(d1), 64);
    /* The row's name is not the key that opens it, nor the Idempotency-Key. */
    char hex[65];
    for (int i = 0; i < IDEM_KEY_LEN; i++) snprintf(hex + 2 * i, 3, "%02x", k1[i]);
    assert_string_not_equal(hex, d1);
    assert_null(strstr(d1, "key-1"));
    /* Parts cannot slide into each other: ("ab", "c") is not ("a", "bc"). */
    idem_derive(secret, sizeof secret, "ab", "c", k2, d2, l2);
    idem_derive(secret, sizeof secret, "a", "bc", k3, d3, l3);
    assert_memory_not_equal(k2, k3, IDEM_KEY_LEN);
}

static void test_the_fingerprint_binds_method_path_query_and_body(void **state) {
    (void)state;
    unsigned char k[IDEM_KEY_LEN];
    char d[65], l[24];
    idem_derive(secret, sizeof secret, CLIENT, "key-1", k, d, l);
    idem_request_t base = {"POST", "/v1/families", NULL, "{\"a\":1}", 7, "CreateFamily"};
    char f[65], g[65];
    assert_int_equal(idem_fingerprint(k, &base, f), 0);
    idem_request_t same = base;
    same.query = ""; /* no query and an empty one are the same request */
    idem_fingerprint(k, &same, g);
    assert_string_equal(f, g);
    idem_request_t other = base;
    other.query = "authorityId=x";
    idem_fingerprint(k, &other, g);
    assert_string_not_equal(f, g);
    other = base;
    other.path = "/v1/cases";
    idem_fingerprint(k, &other, g);
    assert_string_not_equal(f, g);
    other = base;
    other.body_len = 6;
    idem_fingerprint(k, &other, g);
    assert_string_not_equal(f, g);
    other = base;
    other.method = "PUT";
    idem_fingerprint(k, &other, g);
    assert_string_not_equal(f, g);
    /* Query and body cannot trade bytes. */
    idem_request_t qa = {"POST", "/v1/x", "a", "b", 1, NULL}, qb = {"POST", "/v1/x", "ab", "", 0, NULL};
    idem_fingerprint(k, &qa, f);
    idem_fingerprint(k, &qb, g);
    assert_string_not_equal(f, g);
}

static void test_a_sealed_answer_opens_only_unaltered_under_its_key(void **state) {
    (void)state;
    unsigned char k[IDEM_KEY_LEN], k2[IDEM_KEY_LEN];
    char d[65], l[24];
    idem_derive(secret, sizeof secret, CLIENT, "key-1", k, d, l);
    idem_derive(secret, sizeof secret, CLIENT, "key-2", k2, d, l);
    static const char plain[] = "application/json\0Location: /v1/families/1\r\n\0{\"givenName\":\"Amina\"}";
    size_t len = sizeof plain - 1;
    unsigned char *sealed = NULL, *out = NULL;
    size_t sealed_len = 0, out_len = 0;
    assert_int_equal(idem_seal(k, "aad", (const unsigned char *)plain, len, &sealed, &sealed_len), 0);
    assert_int_equal(sealed_len, 12 + len + 16);
    assert_null(memmem(sealed, sealed_len, "Amina", 5)); /* nothing readable */
    assert_int_equal(idem_open(k, "aad", sealed, sealed_len, &out, &out_len), 0);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, plain, len);
    free(out);
    assert_int_equal(idem_open(k2, "aad", sealed, sealed_len, &out, &out_len), -1); /* another key */
    assert_null(out);
    assert_int_equal(idem_open(k, "aaD", sealed, sealed_len, &out, &out_len), -1); /* another status, row */
    sealed[20] ^= 1;
    assert_int_equal(idem_open(k, "aad", sealed, sealed_len, &out, &out_len), -1); /* altered */
    assert_int_equal(idem_open(k, "aad", sealed, 10, &out, &out_len), -1);         /* cut short */
    free(sealed);
    /* Two seals of one answer differ (a fresh nonce each time). */
    unsigned char *s1 = NULL, *s2 = NULL;
    size_t n1, n2;
    idem_seal(k, "", (const unsigned char *)"x", 1, &s1, &n1);
    idem_seal(k, "", (const unsigned char *)"x", 1, &s2, &n2);
    assert_memory_not_equal(s1, s2, n1);
    free(s1);
    free(s2);
}

static void test_a_new_clients_key_is_never_kept_and_its_replay_says_why(void **state) {
    (void)state;
    const char *reply = "{\"id\":\"" CLIENT "\",\"name\":\"school\",\"key\":\"pk_0f8fad5bd9cb469fa16570867728950e_"
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"roles\":[\"partner_agency\"]}";
    bool as_is = true;
    char *kept = idem_keepable_body("CreateClient", reply, strlen(reply), &as_is);
    assert_false(as_is);
    assert_non_null(kept);
    assert_null(strstr(kept, "pk_"));
    assert_non_null(strstr(kept, "\"keyNotice\":"));
    assert_non_null(strstr(kept, CLIENT)); /* the id stays: it is what a lost key is revoked by */
    free(kept);
    /* A problem answer has no key: kept as it is, cleaned. */
    kept = idem_keepable_body("CreateClient", "{\"status\":400}", 14, &as_is);
    assert_non_null(kept);
    assert_null(strstr(kept, "keyNotice"));
    free(kept);
    /* What cannot be read cannot be cleaned: not kept at all. */
    assert_null(idem_keepable_body("CreateClient", "{\"key\":", 7, &as_is));
    assert_false(as_is);
    /* Any other route keeps its answer as it is. */
    assert_null(idem_keepable_body("CreateFamily", reply, strlen(reply), &as_is));
    assert_true(as_is);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_differ_per_client_and_idempotency_key),
        cmocka_unit_test(test_the_fingerprint_binds_method_path_query_and_body),
        cmocka_unit_test(test_a_sealed_answer_opens_only_unaltered_under_its_key),
        cmocka_unit_test(test_a_new_clients_key_is_never_kept_and_its_replay_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
