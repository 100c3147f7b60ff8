/* The rate limiter's pure parts: the local GCRA limiter's arithmetic and the
 * per-role policy. (The Redis script is proved end to end, in
 * tests/e2e/test_30_limits.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/ratelimit.h"
#include "gateway/roles.h"

#define SEC 1000000LL
#define T0 (1000 * SEC) /* an arbitrary monotonic start */

static const char *const A = "0b7e6c1e-8d55-4b0f-9b43-3f2d1c0a9e11";
static const char *const B = "5f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";

/* Redis's side of a sync, as kv.c's charge script computes it. */
static int64_t shared_tat;
static int64_t charge(const ratelimit_charge_t *c, int64_t now) {
    if (shared_tat < now) shared_tat = now;
    shared_tat += c->count * c->interval_us;
    return shared_tat - now;
}

static void sync_instance(ratelimit_local_t *l, int64_t now) {
    ratelimit_charge_t batch[8];
    size_t n = ratelimit_local_drain(l, batch, 8, now);
    for (size_t i = 0; i < n; i++) ratelimit_local_merge(l, batch[i].client_id, charge(&batch[i], now), now);
}

/* Two gateways, one client: after a sync each knows what the other admitted,
 * so together they keep to one limit. */
static void test_two_instances_share_one_bucket_after_a_sync(void **state) {
    (void)state;
    shared_tat = 0;
    ratelimit_local_t *g1 = ratelimit_local_new(16), *g2 = ratelimit_local_new(16);
    ratelimit_rule_t r = {10, 10, 10}; /* one a second, ten at once */
    kv_rate_t out;
    for (int i = 0; i < 6; i++) ratelimit_local_take(g1, A, &r, T0, &out);
    for (int i = 0; i < 4; i++) ratelimit_local_take(g2, A, &r, T0, &out);
    assert_true(out.allowed);
    sync_instance(g1, T0);
    sync_instance(g2, T0);
    sync_instance(g1, T0); /* g1 hears of g2's four */
    ratelimit_local_take(g1, A, &r, T0, &out);
    assert_false(out.allowed);
    ratelimit_local_take(g2, A, &r, T0, &out);
    assert_false(out.allowed);
    /* One interval later, one request in all may pass. */
    ratelimit_local_take(g1, A, &r, T0 + SEC, &out);
    assert_true(out.allowed);
    sync_instance(g1, T0 + SEC);
    sync_instance(g2, T0 + SEC);
    ratelimit_local_take(g2, A, &r, T0 + SEC, &out);
    assert_false(out.allowed);
    /* A drain empties what it charged: a second drain charges nothing. */
    ratelimit_charge_t batch[8];
    size_t n = ratelimit_local_drain(g1, batch, 8, T0 + SEC);
    assert_true(n == 0 || batch[0].count == 0);
    ratelimit_local_destroy(&g1);
    ratelimit_local_destroy(&g2);
}

/* A merge never hands back requests: a shared debt smaller than the local
 * one leaves the local bucket as it is. */
static void test_a_merge_never_moves_a_bucket_back(void **state) {
    (void)state;
    ratelimit_local_t *l = ratelimit_local_new(16);
    ratelimit_rule_t r = {10, 10, 10};
    kv_rate_t out;
    for (int i = 0; i < 10; i++) ratelimit_local_take(l, B, &r, T0, &out);
    ratelimit_local_merge(l, B, 0, T0);
    ratelimit_local_take(l, B, &r, T0, &out);
    assert_false(out.allowed);
    ratelimit_local_destroy(&l);
}

static void test_local_allows_the_burst_then_refuses(void **state) {
    (void)state;
    ratelimit_local_t *l = ratelimit_local_new(16);
    ratelimit_rule_t r = {10, 10, 10}; /* one request a second, ten at once */
    kv_rate_t out;
    for (long i = 0; i < 10; i++) {
        ratelimit_local_take(l, A, &r, T0, &out);
        assert_true(out.allowed);
        assert_int_equal(out.remaining, 9 - i);
        assert_true(out.reset > (double)i && out.reset <= (double)i + 1.0); /* (i+1) s until full */
    }
    ratelimit_local_take(l, A, &r, T0, &out);
    assert_false(out.allowed);
    assert_int_equal(out.remaining, 0);
    assert_true(out.retry_after > 0.999 && out.retry_after < 1.001); /* one emission interval */
    ratelimit_local_destroy(&l);
    assert_null(l);
}

static void test_local_recovers_one_request_per_emission_interval(void **state) {
    (void)state;
    ratelimit_local_t *l = ratelimit_local_new(16);
    ratelimit_rule_t r = {10, 10, 10};
    kv_rate_t out;
    for (int i = 0; i < 10; i++) ratelimit_local_take(l, A, &r, T0, &out);
    ratelimit_local_take(l, A, &r, T0 + SEC / 2, &out);
    assert_false(out.allowed);
    assert_true(out.retry_after > 0.499 && out.retry_after < 0.501);
    ratelimit_local_take(l, A, &r, T0 + SEC, &out); /* one interval later: one more */
    assert_true(out.allowed);
    assert_int_equal(out.remaining, 0);
    ratelimit_local_take(l, A, &r, T0 + SEC, &out);
    assert_false(out.allowed);
    ratelimit_local_take(l, A, &r, T0 + 60 * SEC, &out); /* long idle: the whole burst again */
    assert_true(out.allowed);
    assert_int_equal(out.remaining, 9);
    ratelimit_local_destroy(&l);
}

static void test_local_refusals_do_not_push_recovery_back(void **state) {
    (void)state;
    ratelimit_local_t *l = ratelimit_local_new(16);
    ratelimit_rule_t r = {2, 2, 2};
    kv_rate_t out;
    ratelimit_local_take(l, A, &r, T0, &out);
    ratelimit_local_take(l, A, &r, T0, &out);
    for (int i = 0; i < 100; i++) {
        ratelimit_local_take(l, A, &r, T0, &out);
        assert_false(out.allowed);
    }
    ratelimit_local_take(l, A, &r, T0 + SEC, &out);
    assert_true(out.allowed);
    ratelimit_local_destroy(&l);
}

static void test_local_clients_have_their_own_buckets(void **state) {
    (void)state;
    ratelimit_local_t *l = ratelimit_local_new(16);
    ratelimit_rule_t r = {3, 60, 3};
    kv_rate_t out;
    for (int i = 0; i < 4; i++) ratelimit_local_take(l, A, &r, T0, &out);
    assert_false(out.allowed);
    ratelimit_local_take(l, B, &r, T0, &out);
    assert_true(out.allowed);
    assert_int_equal(out.remaining, 2);
    ratelimit_local_destroy(&l);
}

static void test_local_burst_below_the_limit(void **state) {
    (void)state;
    ratelimit_local_t *l = ratelimit_local_new(16);
    ratelimit_rule_t r = {60, 60, 2}; /* one a second, two at once */
    kv_rate_t out;
    ratelimit_local_take(l, A, &r, T0, &out);
    assert_true(out.allowed);
    assert_int_equal(out.remaining, 1);
    ratelimit_local_take(l, A, &r, T0, &out);
    assert_true(out.allowed);
    ratelimit_local_take(l, A, &r, T0, &out);
    assert_false(out.allowed);
    ratelimit_local_destroy(&l);
}

static void test_local_table_full_of_clients_still_answers(void **state) {
    (void)state;
    ratelimit_local_t *l = ratelimit_local_new(1); /* the smallest table: 64 slots */
    ratelimit_rule_t r = {5, 60, 5};
    kv_rate_t out;
    char id[40];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
        ratelimit_local_take(l, id, &r, T0, &out);
        assert_true(out.allowed); /* a new client, or one whose bucket was given up */
    }
    /* A client still in the table keeps its count. */
    for (int i = 0; i < 5; i++) ratelimit_local_take(l, A, &r, T0, &out);
    ratelimit_local_take(l, A, &r, T0, &out);
    assert_false(out.allowed);
    ratelimit_local_destroy(&l);
}

static void test_policy_default_when_unset(void **state) {
    (void)state;
    ratelimit_policy_t p;
    char err[200];
    assert_int_equal(ratelimit_policy_parse(NULL, &p, err, sizeof err), 0);
    ratelimit_rule_t r = ratelimit_policy_rule(&p, ROLE_PARTNER_AGENCY);
    assert_int_equal(r.limit, 120);
    assert_int_equal(r.period_s, 60);
    assert_int_equal(r.burst, 120);
    r = ratelimit_policy_rule(&p, ROLE_ANALYST);
    assert_int_equal(r.limit, 300);
    assert_int_equal(ratelimit_policy_parse("", &p, err, sizeof err), 0);
    assert_int_equal(ratelimit_policy_rule(&p, ROLE_CASEWORKER).limit, 600);
}

static void test_policy_parses_roles_bursts_and_spaces(void **state) {
    (void)state;
    ratelimit_policy_t p;
    char err[200];
    assert_int_equal(ratelimit_policy_parse(" trainer = 20/60 , analyst=5/1/50,default=100/10", &p, err, sizeof err), 0);
    ratelimit_rule_t r = ratelimit_policy_rule(&p, ROLE_TRAINER);
    assert_int_equal(r.limit, 20);
    assert_int_equal(r.period_s, 60);
    assert_int_equal(r.burst, 20);
    r = ratelimit_policy_rule(&p, ROLE_ANALYST);
    assert_int_equal(r.burst, 50);
    r = ratelimit_policy_rule(&p, ROLE_CASEWORKER); /* not listed: default */
    assert_int_equal(r.limit, 100);
    assert_int_equal(r.period_s, 10);
    r = ratelimit_policy_rule(&p, 0); /* no roles at all: default */
    assert_int_equal(r.limit, 100);
}

static void test_policy_client_gets_its_most_generous_role(void **state) {
    (void)state;
    ratelimit_policy_t p;
    char err[200];
    assert_int_equal(ratelimit_policy_parse("trainer=20/60,caseworker=600/60,analyst=11/1,default=5/60", &p, err,
                                            sizeof err),
                     0);
    assert_int_equal(ratelimit_policy_rule(&p, ROLE_TRAINER | ROLE_CASEWORKER).limit, 600);
    /* 11 a second beats 600 a minute, though 11 < 600. */
    assert_int_equal(ratelimit_policy_rule(&p, ROLE_ANALYST | ROLE_CASEWORKER).limit, 11);
    /* A role without a rule counts as default, and default can win. */
    assert_int_equal(ratelimit_policy_parse("trainer=1/60,default=5/60", &p, err, sizeof err), 0);
    assert_int_equal(ratelimit_policy_rule(&p, ROLE_TRAINER | ROLE_SUPPORTER).limit, 5);
}

static void test_policy_rejects_bad_config_naming_the_entry(void **state) {
    (void)state;
    static const char *const bad[] = {
        "caseworker=600",        "caseworker=600/",     "caseworker=/60",        "caseworker=0/60",
        "caseworker=600/0",      "caseworker=-1/60",    "caseworker=600/60/0",   "caseworker=600/60x",
        "caseworker=1e3/60",     "wizard=10/60",        "caseworker",            "caseworker=600/100000",
        "caseworker=2000000/60", "default=1/1,default=2/2", "caseworker=1/1,caseworker=2/2",
    };
    ratelimit_policy_t p;
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (ratelimit_policy_parse(bad[i], &p, err, sizeof err) != -1) fail_msg("accepted: %s", bad[i]);
        assert_true(strlen(err) > 0);
    }
    ratelimit_policy_parse("wizard=10/60", &p, err, sizeof err);
    assert_non_null(strstr(err, "wizard"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_allows_the_burst_then_refuses),
        cmocka_unit_test(test_two_instances_share_one_bucket_after_a_sync),
        cmocka_unit_test(test_a_merge_never_moves_a_bucket_back),
        cmocka_unit_test(test_local_recovers_one_request_per_emission_interval),
        cmocka_unit_test(test_local_refusals_do_not_push_recovery_back),
        cmocka_unit_test(test_local_clients_have_their_own_buckets),
        cmocka_unit_test(test_local_burst_below_the_limit),
        cmocka_unit_test(test_local_table_full_of_clients_still_answers),
        cmocka_unit_test(test_policy_default_when_unset),
        cmocka_unit_test(test_policy_parses_roles_bursts_and_spaces),
        cmocka_unit_test(test_policy_client_gets_its_most_generous_role),
        cmocka_unit_test(test_policy_rejects_bad_config_naming_the_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
