/* The broker's bookkeeping (services/broker/registry.c): which worker gets a
 * request, what waits, what expires. Time is driven by hand. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/broker/liveness.h"
#include "services/broker/registry.h"
#include "services/broker/status.h"

/* The broker's own constant (never a copy), so these tests exercise the
 * liveness the broker runs with; the end-to-end test
 * tests/e2e/test_91_liveness.py checks it against the documented 3 beats. */
#define LIVENESS BROKER_LIVENESS_MS
#define BEAT BUS_HEARTBEAT_MS

static registry_t *reg;
static size_t freed_by_registry;

static void count_free(void *request) {
    freed_by_registry++;
    free(request);
}

static int setup(void **state) {
    (void)state;
    freed_by_registry = 0;
    reg = registry_new(LIVENESS, count_free);
    return reg == NULL ? -1 : 0;
}

static int teardown(void **state) {
    (void)state;
    registry_destroy(&reg);
    return 0;
}

static registry_worker_t *add_worker(const char *id, const char *service, int64_t now) {
    registry_worker_t *w = NULL;
    assert_int_equal(registry_worker_add(reg, id, strlen(id), service, now, &w), 0);
    return w;
}

static void add_request(const char *service, const char *name, int64_t deadline) {
    assert_int_equal(registry_request_add(reg, service, strdup(name), deadline), 0);
}

/* Dispatches one request of service at now; returns the chosen worker's id
 * (static storage) and checks the request's name when expected is not NULL. */
static const char *dispatch(const char *service, int64_t now, const char *expected) {
    static char id[64];
    registry_job_t job;
    if (!registry_dispatch(reg, service, now, &job)) return NULL;
    assert_true(registry_worker_is_busy(job.worker));
    if (expected != NULL) assert_string_equal(job.request, expected);
    free(job.request);
    size_t len;
    const void *p = registry_worker_id(job.worker, &len);
    memcpy(id, p, len);
    id[len] = '\0';
    return id;
}

static registry_worker_t *find(const char *id) {
    return registry_worker_find(reg, id, strlen(id));
}

static void test_least_recently_used_idle_worker_is_chosen(void **state) {
    (void)state;
    add_worker("A", "matching", 0);
    add_worker("B", "matching", 0);
    add_worker("C", "matching", 0);
    for (int i = 0; i < 3; i++) add_request("matching", "r", 10000);
    assert_string_equal(dispatch("matching", 1, NULL), "A");
    assert_string_equal(dispatch("matching", 1, NULL), "B");
    assert_string_equal(dispatch("matching", 1, NULL), "C");

    /* They come back in the order C, A, B: that is the new LRU order. */
    registry_worker_idle(reg, find("C"), 2);
    registry_worker_idle(reg, find("A"), 3);
    registry_worker_idle(reg, find("B"), 4);
    for (int i = 0; i < 3; i++) add_request("matching", "r", 10000);
    assert_string_equal(dispatch("matching", 5, NULL), "C");
    assert_string_equal(dispatch("matching", 5, NULL), "A");
    assert_string_equal(dispatch("matching", 5, NULL), "B");
}

static void test_heartbeat_does_not_reorder_workers(void **state) {
    (void)state;
    add_worker("A", "matching", 0);
    add_worker("B", "matching", 0);
    registry_worker_seen(reg, find("A"), 500); /* a heartbeat is not a use */
    add_request("matching", "r", 10000);
    assert_string_equal(dispatch("matching", 600, NULL), "A");
}

/* A stopped process's idle workers never heartbeat again and, never used,
 * stay first in LRU order: quiet for longer than a live worker ever is,
 * they are offered work only when no other idle worker is there. */
static void test_a_quiet_worker_is_offered_work_last(void **state) {
    (void)state;
    registry_set_quiet_ms(reg, BROKER_QUIET_MS);
    add_worker("S", "intake", 0); /* first in LRU order, then silent */
    add_worker("L", "intake", 0);
    int64_t t = BROKER_QUIET_MS + 100;
    registry_worker_seen(reg, find("L"), t - 500); /* L heartbeats */
    add_request("intake", "r1", 100000);
    assert_string_equal(dispatch("intake", t, NULL), "L");
    /* With L busy, S is still alive (not past its liveness) and takes work. */
    add_request("intake", "r2", 100000);
    assert_string_equal(dispatch("intake", t, NULL), "S");
}

static void test_busy_worker_is_not_chosen(void **state) {
    (void)state;
    add_worker("A", "matching", 0);
    add_worker("B", "matching", 0);
    add_request("matching", "r1", 10000);
    add_request("matching", "r2", 10000);
    add_request("matching", "r3", 10000);
    assert_string_equal(dispatch("matching", 1, "r1"), "A");
    assert_string_equal(dispatch("matching", 1, "r2"), "B");
    /* Both busy: the third waits rather than doubling up on a worker. */
    assert_null(dispatch("matching", 1, NULL));
    assert_int_equal(registry_queue_depth(reg, "matching"), 1);
    registry_worker_idle(reg, find("B"), 2);
    assert_string_equal(dispatch("matching", 2, "r3"), "B");
    assert_int_equal(registry_queue_depth(reg, "matching"), 0);
}

static size_t dropped;
static char dropped_id[64];

static void on_drop(void *ctx, const registry_worker_t *w) {
    (void)ctx;
    size_t len;
    const void *id = registry_worker_id(w, &len);
    memcpy(dropped_id, id, len);
    dropped_id[len] = '\0';
    dropped++;
}

static void test_silent_worker_is_dropped_and_never_chosen(void **state) {
    (void)state;
    dropped = 0;
    add_worker("A", "matching", 0); /* LRU, but it will go silent */
    add_worker("B", "matching", 0);
    registry_worker_seen(reg, find("B"), LIVENESS - BEAT);

    /* At LIVENESS A has missed every beat it may: not chosen even before it is purged. */
    add_request("matching", "r1", 10 * LIVENESS);
    assert_string_equal(dispatch("matching", LIVENESS, "r1"), "B");

    assert_int_equal(registry_purge(reg, LIVENESS, on_drop, NULL), 1);
    assert_int_equal(dropped, 1);
    assert_string_equal(dropped_id, "A");
    assert_null(find("A"));
    assert_non_null(find("B"));

    /* With B busy and A gone, a request waits. */
    add_request("matching", "r2", 10 * LIVENESS);
    assert_null(dispatch("matching", LIVENESS + 1, NULL));
    assert_int_equal(registry_queue_depth(reg, "matching"), 1);
}

static void test_a_worker_one_beat_short_of_its_liveness_is_alive(void **state) {
    (void)state;
    add_worker("A", "matching", 0);
    for (int64_t t = BEAT; t < LIVENESS; t += BEAT) {
        assert_int_equal(registry_purge(reg, t, NULL, NULL), 0);
        assert_true(registry_service_ready(reg, "matching", t));
    }
    add_request("matching", "r", 10 * LIVENESS);
    assert_string_equal(dispatch("matching", LIVENESS - 1, "r"), "A");
    registry_worker_idle(reg, find("A"), LIVENESS - 1);
    /* Silent since LIVENESS - 1: alive until 2 * LIVENESS - 1, dropped after. */
    assert_int_equal(registry_purge(reg, 2 * LIVENESS - 2, NULL, NULL), 0);
    assert_int_equal(registry_purge(reg, 2 * LIVENESS, NULL, NULL), 1);
}

static void test_busy_worker_lives_until_its_request_deadline(void **state) {
    (void)state;
    const int64_t deadline = 5 * LIVENESS;
    add_worker("A", "matching", 0);
    add_request("matching", "slow", deadline);
    assert_string_equal(dispatch("matching", 0, "slow"), "A");
    /* A handler cannot heartbeat: silence is allowed up to deadline + liveness. */
    assert_int_equal(registry_purge(reg, deadline, NULL, NULL), 0);
    assert_true(registry_service_ready(reg, "matching", deadline));
    assert_int_equal(registry_purge(reg, deadline + LIVENESS, NULL, NULL), 1);
    assert_false(registry_service_ready(reg, "matching", deadline + LIVENESS));
}

static void test_waiting_request_is_dispatched_when_a_worker_registers(void **state) {
    (void)state;
    add_request("notify", "r1", 5000);
    assert_null(dispatch("notify", 100, NULL));
    assert_int_equal(registry_queue_depth(reg, "notify"), 1);
    assert_false(registry_service_ready(reg, "notify", 100));

    add_worker("N", "notify", 200);
    assert_true(registry_service_ready(reg, "notify", 200));
    assert_string_equal(dispatch("notify", 200, "r1"), "N");
    assert_int_equal(registry_queue_depth(reg, "notify"), 0);
}

static size_t expired;
static char expired_name[64];

static void on_expire(void *ctx, void *request) {
    (void)ctx;
    strncpy(expired_name, request, sizeof expired_name - 1);
    expired++;
    free(request);
}

static void test_request_expires_at_its_deadline_with_unavailable(void **state) {
    (void)state;
    expired = 0;
    add_request("training", "late", 1000);
    add_request("training", "later", 4000);
    assert_int_equal(registry_next_deadline(reg), 1000);

    assert_int_equal(registry_expire(reg, 999, on_expire, NULL), 0);
    assert_int_equal(registry_expire(reg, 1000, on_expire, NULL), 1);
    assert_string_equal(expired_name, "late");
    assert_int_equal(registry_queue_depth(reg, "training"), 1);
    assert_int_equal(registry_next_deadline(reg), 4000);

    /* What the broker answers for it. */
    size_t len;
    uint8_t *packed = broker_status_unavailable("training", &len);
    assert_non_null(packed);
    Parley__Common__V1__Status *status = parley__common__v1__status__unpack(NULL, len, packed);
    assert_non_null(status);
    assert_int_equal(status->code, PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE);
    assert_int_equal(status->retry_after_seconds, 1);
    assert_non_null(strstr(status->message, "training"));
    parley__common__v1__status__free_unpacked(status, NULL);
    free(packed);
}

static void test_expired_request_is_never_dispatched(void **state) {
    (void)state;
    expired = 0;
    add_request("training", "late", 1000);
    add_worker("T", "training", 1500);
    /* The worker came after the deadline: the request is not worth doing. */
    assert_null(dispatch("training", 1500, NULL));
    assert_int_equal(registry_expire(reg, 1500, on_expire, NULL), 1);
    assert_string_equal(expired_name, "late");
    assert_false(registry_worker_is_busy(find("T")));
}

static void test_waiting_requests_are_served_first_in_first_out(void **state) {
    (void)state;
    add_request("feedback", "r1", 9000);
    add_request("feedback", "r2", 5000); /* an earlier deadline does not jump the queue */
    add_request("feedback", "r3", 9000);
    add_worker("F", "feedback", 10);
    assert_string_equal(dispatch("feedback", 10, "r1"), "F");
    registry_worker_idle(reg, find("F"), 20);
    assert_string_equal(dispatch("feedback", 20, "r2"), "F");
    registry_worker_idle(reg, find("F"), 30);
    assert_string_equal(dispatch("feedback", 30, "r3"), "F");
    assert_int_equal(registry_queue_depth(reg, "feedback"), 0);
}

static void test_worker_of_another_service_is_never_chosen(void **state) {
    (void)state;
    add_worker("N", "notify", 0);
    add_request("matching", "m1", 5000);
    assert_null(dispatch("matching", 1, NULL));
    assert_null(dispatch("notify", 1, NULL)); /* nothing waits for notify */
    assert_false(registry_worker_is_busy(find("N")));
    add_worker("M", "matching", 2);
    assert_string_equal(dispatch("matching", 2, "m1"), "M");
}

static void test_returned_request_goes_back_to_the_head(void **state) {
    (void)state;
    add_worker("A", "matching", 0);
    add_worker("B", "matching", 0);
    add_request("matching", "r1", 5000);
    add_request("matching", "r2", 5000);
    registry_job_t job;
    assert_true(registry_dispatch(reg, "matching", 1, &job));
    assert_string_equal(job.request, "r1");
    /* Its worker had vanished: r1 goes back first, and B serves it. */
    assert_int_equal(registry_request_return(reg, &job), 0);
    registry_worker_remove(reg, &job.worker);
    assert_null(job.worker);
    assert_string_equal(dispatch("matching", 2, "r1"), "B");
}

static void test_duplicate_registration_is_refused(void **state) {
    (void)state;
    add_worker("A", "matching", 0);
    assert_int_equal(registry_worker_add(reg, "A", 1, "notify", 0, NULL), -EEXIST);
    assert_int_equal(registry_worker_add(reg, "", 0, "notify", 0, NULL), -EINVAL);
    assert_int_equal(registry_worker_add(reg, "Z", 1, "", 0, NULL), -EINVAL);
    assert_string_equal(registry_worker_service(find("A")), "matching");
}

static size_t reports;
static registry_stats_t last_report;

static void on_report(void *ctx, const registry_stats_t *s) {
    (void)ctx;
    if (strcmp(s->name, "matching") == 0) last_report = *s;
    reports++;
}

static void test_report_gives_depth_and_peak(void **state) {
    (void)state;
    add_worker("A", "matching", 0);
    for (int i = 0; i < 3; i++) add_request("matching", "r", 9000);
    assert_non_null(dispatch("matching", 1, NULL));
    registry_report(reg, on_report, NULL);
    assert_int_equal(last_report.depth, 2);
    assert_int_equal(last_report.peak, 3);
    assert_int_equal(last_report.workers, 1);
    assert_int_equal(last_report.idle, 0);
    registry_report(reg, on_report, NULL); /* a new period starts at the depth */
    assert_int_equal(last_report.peak, 2);
}

static void test_destroy_frees_waiting_requests(void **state) {
    (void)state;
    add_request("intake", "r1", 9000);
    add_request("intake", "r2", 9000);
    add_worker("I", "scheduling", 0);
    registry_destroy(&reg);
    assert_null(reg);
    assert_int_equal(freed_by_registry, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_least_recently_used_idle_worker_is_chosen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_does_not_reorder_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_quiet_worker_is_offered_work_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_worker_is_not_chosen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_worker_is_dropped_and_never_chosen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_worker_one_beat_short_of_its_liveness_is_alive, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_busy_worker_lives_until_its_request_deadline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_waiting_request_is_dispatched_when_a_worker_registers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_expires_at_its_deadline_with_unavailable,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_request_is_never_dispatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_requests_are_served_first_in_first_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_of_another_service_is_never_chosen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_returned_request_goes_back_to_the_head, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_registration_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_gives_depth_and_peak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_frees_waiting_requests, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
