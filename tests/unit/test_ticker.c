/* ticker: a thread that ticks every interval, wakes early, stops promptly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <time.h>

#include "core/clock.h"
#include "core/ticker.h"

typedef struct {
    atomic_int setups, ticks, teardowns;
    int setup_rc;
} counts_t;

static int count_setup(void *ctx) {
    counts_t *c = ctx;
    atomic_fetch_add(&c->setups, 1);
    return c->setup_rc;
}

static int count_tick(void *ctx) {
    atomic_fetch_add(&((counts_t *)ctx)->ticks, 1);
    return 0;
}

static void count_teardown(void *ctx) { atomic_fetch_add(&((counts_t *)ctx)->teardowns, 1); }

static ticker_t *start(counts_t *c, int64_t interval_ms) {
    ticker_config_t cfg = {interval_ms, count_setup, count_tick, count_teardown, c};
    ticker_t *t = ticker_new(&cfg);
    assert_non_null(t);
    return t;
}

/* Polls until *v reaches at least want or ms pass; returns the last value. */
static int wait_for(atomic_int *v, int want, int ms) {
    int64_t end = clock_mono_ms() + ms;
    while (atomic_load(v) < want && clock_mono_ms() < end) nanosleep(&(struct timespec){0, 1000000}, NULL);
    return atomic_load(v);
}

static void test_ticks_happen_every_interval(void **state) {
    (void)state;
    counts_t c = {0};
    ticker_t *t = start(&c, 20);
    assert_true(wait_for(&c.ticks, 3, 2000) >= 3);
    ticker_destroy(&t);
    assert_null(t);
    assert_int_equal(atomic_load(&c.setups), 1);
    assert_int_equal(atomic_load(&c.teardowns), 1);
}

static void test_wake_makes_a_tick_happen_sooner(void **state) {
    (void)state;
    counts_t c = {0};
    ticker_t *t = start(&c, 60000);
    assert_int_equal(wait_for(&c.ticks, 1, 2000), 1); /* the first tick comes at once */
    ticker_wake(t);
    assert_int_equal(wait_for(&c.ticks, 2, 2000), 2); /* not a minute later */
    ticker_destroy(&t);
}

static void test_stop_is_prompt_and_tears_down_once(void **state) {
    (void)state;
    counts_t c = {0};
    ticker_t *t = start(&c, 60000);
    assert_int_equal(wait_for(&c.ticks, 1, 2000), 1);
    int64_t before = clock_mono_ms();
    ticker_destroy(&t);
    assert_true(clock_mono_ms() - before < 1000); /* did not sit out the minute */
    assert_null(t);
    assert_int_equal(atomic_load(&c.teardowns), 1);
    ticker_destroy(&t); /* NULL-safe */
}

static void test_setup_failure_is_reported_and_nothing_ticks(void **state) {
    (void)state;
    counts_t c = {.setup_rc = -1};
    ticker_t *t = start(&c, 10);
    assert_true(wait_for(&c.teardowns, 1, 2000) == 1);
    assert_true(ticker_has_failed(t));
    assert_int_equal(atomic_load(&c.ticks), 0);
    ticker_destroy(&t);
    assert_int_equal(atomic_load(&c.teardowns), 1);
}

static void test_a_working_setup_is_not_reported_as_failed(void **state) {
    (void)state;
    counts_t c = {0};
    ticker_t *t = start(&c, 10);
    assert_true(wait_for(&c.ticks, 1, 2000) >= 1);
    assert_false(ticker_has_failed(t));
    ticker_destroy(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks_happen_every_interval),
        cmocka_unit_test(test_wake_makes_a_tick_happen_sooner),
        cmocka_unit_test(test_stop_is_prompt_and_tears_down_once),
        cmocka_unit_test(test_setup_failure_is_reported_and_nothing_ticks),
        cmocka_unit_test(test_a_working_setup_is_not_reported_as_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
