/* The Prometheus text exposition format (0.0.4) the gateway's /metrics
 * writes: sample lines, label escaping, HELP escaping, histograms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gateway/metrics.h"

static void test_label_values_escape_backslash_quote_and_newline(void **state) {
    (void)state;
    char out[64];
    assert_int_equal(metrics_escape_label("/v1/cases/{id}", out, sizeof out), 14);
    assert_string_equal(out, "/v1/cases/{id}");
    metrics_escape_label("a\"b\\c\nd", out, sizeof out);
    assert_string_equal(out, "a\\\"b\\\\c\\nd");
}

static void test_label_escaping_truncates_without_splitting_an_escape(void **state) {
    (void)state;
    char out[4];
    metrics_escape_label("ab\"c", out, sizeof out); /* room for 3: "ab" then \" does not fit */
    assert_string_equal(out, "ab");
    metrics_escape_label("x", out, 0); /* no room at all: nothing written */
}

static void test_counter_lines_with_and_without_labels(void **state) {
    (void)state;
    metrics_text_t t = {0};
    metrics_text_family(&t, "parley_http_requests_total", "counter", "Requests.");
    metrics_text_counter(&t, "parley_http_requests_total", "route=\"/v1/cases/{id}\",method=\"GET\",status=\"200\"",
                         3);
    metrics_text_counter(&t, "parley_things_total", "", 0);
    assert_false(t.oom);
    assert_string_equal(t.data, "# HELP parley_http_requests_total Requests.\n"
                                "# TYPE parley_http_requests_total counter\n"
                                "parley_http_requests_total{route=\"/v1/cases/{id}\",method=\"GET\",status=\"200\"} 3\n"
                                "parley_things_total 0\n");
    metrics_text_free(&t);
    assert_null(t.data);
}

static void test_help_escapes_backslash_and_newline_only(void **state) {
    (void)state;
    metrics_text_t t = {0};
    metrics_text_family(&t, "x", "gauge", "a \"quoted\" \\ path\nline");
    assert_string_equal(t.data, "# HELP x a \"quoted\" \\\\ path\\nline\n# TYPE x gauge\n");
    metrics_text_gauge(&t, "x", "", 1);
    metrics_text_gauge(&t, "x", "k=\"v\"", 0.25);
    assert_non_null(strstr(t.data, "\nx 1\nx{k=\"v\"} 0.25\n"));
    metrics_text_free(&t);
}

static void test_histogram_is_cumulative_with_sum_and_count(void **state) {
    (void)state;
    metrics_hist_t h;
    memset(&h, 0, sizeof h);
    metrics_hist_observe(&h, 500000);      /* 0.5 ms: first bucket */
    metrics_hist_observe(&h, 3000000);     /* 3 ms: le 0.005 */
    metrics_hist_observe(&h, 5000000);     /* exactly 5 ms: le is inclusive */
    metrics_hist_observe(&h, 20000000000); /* 20 s: only +Inf */
    assert_int_equal(metrics_hist_count(&h), 4);
    char route[64], labels[128];
    metrics_escape_label("/v1/a\"b", route, sizeof route);
    strcpy(labels, "route=\"");
    strcat(labels, route);
    strcat(labels, "\"");
    metrics_text_t t = {0};
    metrics_text_histogram(&t, "d_seconds", labels, &h);
    const char *want = "d_seconds_bucket{route=\"/v1/a\\\"b\",le=\"0.001\"} 1\n"
                       "d_seconds_bucket{route=\"/v1/a\\\"b\",le=\"0.0025\"} 1\n"
                       "d_seconds_bucket{route=\"/v1/a\\\"b\",le=\"0.005\"} 3\n"
                       "d_seconds_bucket{route=\"/v1/a\\\"b\",le=\"0.01\"} 3\n";
    assert_memory_equal(t.data, want, strlen(want));
    assert_non_null(strstr(t.data, "d_seconds_bucket{route=\"/v1/a\\\"b\",le=\"10\"} 3\n"
                                   "d_seconds_bucket{route=\"/v1/a\\\"b\",le=\"+Inf\"} 4\n"
                                   "d_seconds_sum{route=\"/v1/a\\\"b\"} 20.008500000\n"
                                   "d_seconds_count{route=\"/v1/a\\\"b\"} 4\n"));
    metrics_text_free(&t);
}

static void test_histogram_without_labels(void **state) {
    (void)state;
    metrics_hist_t h;
    memset(&h, 0, sizeof h);
    metrics_text_t t = {0};
    metrics_text_histogram(&t, "d", "", &h);
    assert_memory_equal(t.data, "d_bucket{le=\"0.001\"} 0\n", 23);
    assert_non_null(strstr(t.data, "d_sum 0.000000000\nd_count 0\n"));
    metrics_text_free(&t);
}

static void test_text_grows_past_its_first_block(void **state) {
    (void)state;
    metrics_text_t t = {0};
    for (int i = 0; i < 5000; i++) metrics_text_counter(&t, "parley_many_total", "k=\"v\"", (uint64_t)i);
    assert_false(t.oom);
    assert_true(t.len > 16384);
    assert_int_equal(strlen(t.data), t.len);
    assert_non_null(strstr(t.data, "parley_many_total{k=\"v\"} 4999\n"));
    metrics_text_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_values_escape_backslash_quote_and_newline),
        cmocka_unit_test(test_label_escaping_truncates_without_splitting_an_escape),
        cmocka_unit_test(test_counter_lines_with_and_without_labels),
        cmocka_unit_test(test_help_escapes_backslash_and_newline_only),
        cmocka_unit_test(test_histogram_is_cumulative_with_sum_and_count),
        cmocka_unit_test(test_histogram_without_labels),
        cmocka_unit_test(test_text_grows_past_its_first_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
