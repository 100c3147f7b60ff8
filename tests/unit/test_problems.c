/* The causes of errors (lib/bus/problems.h): every one has a word a program
 * can act on, a status, a detail and a meaning; every status the gateway
 * answers has a generic one; /docs/problems lists each under its status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bus/problems.h"
#include "gateway/http.h"
#include "gateway/problems.h"
#include "svc/svc.h"

static void test_every_cause_has_a_unique_word_a_status_and_words(void **state) {
    (void)state;
    size_t n;
    const bus_problem_info_t *p = bus_problems(&n);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        const char *w = p[i].word;
        assert_true(strlen(w) >= 3 && strlen(w) <= 40);
        assert_int_equal(strspn(w, "abcdefghijklmnopqrstuvwxyz_"), strlen(w));
        assert_true(w[0] != '_' && w[strlen(w) - 1] != '_');
        for (size_t k = 0; k < i; k++)
            if (strcmp(p[k].word, w) == 0) fail_msg("%s is listed twice", w);
        assert_true(p[i].http >= 400 && p[i].http <= 599);
        assert_string_not_equal(http_reason(p[i].http), "Unknown");
        assert_true(strlen(p[i].detail) > 5 && strlen(p[i].detail) < 200);
        assert_true(strlen(p[i].meaning) > 20);
        /* A service's cause is answered with the status it is listed under. */
        if (p[i].grpc >= 0) {
            if (http_status_for_code(p[i].grpc) != p[i].http)
                fail_msg("%s: code %d is answered %d, listed under %d", w, p[i].grpc, http_status_for_code(p[i].grpc),
                         p[i].http);
            assert_int_equal(svc_http_status((bus_code_t)p[i].grpc), p[i].http);
        }
        assert_ptr_equal(bus_problem_by_word(w), &p[i]);
        assert_ptr_equal(bus_problem_info((bus_problem_t)(i + 1)), &p[i]);
    }
    assert_null(bus_problem_info(BUS_PROBLEM_NONE));
    assert_null(bus_problem_info(BUS_PROBLEM_COUNT));
    assert_null(bus_problem_by_word("no_such_word"));
}

static void test_every_status_the_gateway_answers_has_one_generic_cause(void **state) {
    (void)state;
    size_t n_kinds, n;
    const problem_kind_t *k = problems_table(&n_kinds);
    const bus_problem_info_t *p = bus_problems(&n);
    /* Every status with a reason phrase, and every status a service code
     * becomes (http_status_for_code). */
    static const int statuses[] = {400, 401, 403, 404, 405, 408, 409, 411, 412, 413,
                                   415, 422, 429, 431, 499, 500, 501, 503, 504};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        size_t defaults = 0;
        for (size_t c = 0; c < n; c++) defaults += p[c].http == statuses[i] && p[c].is_default;
        if (defaults != 1) fail_msg("status %d has %zu generic causes", statuses[i], defaults);
        assert_non_null(bus_problem_default(statuses[i]));
    }
    for (int code = 1; code <= 16; code++) assert_non_null(bus_problem_default(http_status_for_code(code)));
    for (size_t i = 0; i < n_kinds; i++) assert_non_null(bus_problem_default(k[i].status));
    assert_string_equal(bus_problem_default(404)->word, "not_found");
    assert_string_equal(bus_problem_default(412)->word, "stale_version");
    assert_string_equal(bus_problem_default(400)->word, "invalid_request");
}

static void test_the_page_lists_every_cause_under_its_status(void **state) {
    (void)state;
    arena_t *a = arena_new();
    size_t len = 0, n;
    char *page = problems_html(a, &len);
    assert_non_null(page);
    assert_int_equal(strlen(page), len);
    const bus_problem_info_t *p = bus_problems(&n);
    for (size_t i = 0; i < n; i++) {
        char anchor[96], section[96], slug[64];
        snprintf(anchor, sizeof anchor, "<dt id=\"%s\">", p[i].word);
        const char *at = strstr(page, anchor);
        if (at == NULL) fail_msg("/docs/problems does not list %s", p[i].word);
        /* Under its status: the last section opened before it is its own. */
        snprintf(section, sizeof section, "<section id=\"%s\">", problems_slug(p[i].http, slug, sizeof slug));
        const char *own = NULL;
        for (const char *s = strstr(page, "<section id=\""); s != NULL && s < at; s = strstr(s + 1, "<section id=\""))
            own = s;
        assert_non_null(own);
        assert_memory_equal(own, section, strlen(section));
    }
    arena_destroy(&a);
}

static void test_a_response_names_its_cause(void **state) {
    (void)state;
    arena_t *a = arena_new();
    bus_response_t res = {.arena = a};
    parley__common__v1__status__init(&res.status);
    bus_response_problem(&res, BUS_PROBLEM_CAPACITY_FULL, "the supporter has no place left; %s", "waiting");
    assert_int_equal(res.status.code, PARLEY__COMMON__V1__CODE__CODE_ABORTED);
    assert_string_equal(res.status.reason, "capacity_full");
    assert_string_equal(res.status.message, "the supporter has no place left; waiting");
    bus_response_problem(&res, BUS_PROBLEM_ALREADY_CLOSED, NULL);
    assert_string_equal(res.status.message, bus_problem_info(BUS_PROBLEM_ALREADY_CLOSED)->detail);
    /* A plain error carries no cause: the status's generic one is answered. */
    bus_response_error(&res, PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND, "no such case");
    assert_string_equal(res.status.reason, "");
    bus_response_violation(&res, "children", "in use");
    bus_response_reason(&res, BUS_PROBLEM_CHILD_HAS_CASES);
    assert_int_equal(res.status.code, PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT);
    assert_string_equal(res.status.reason, "child_has_cases");
    assert_int_equal(res.status.n_violations, 1);
    arena_destroy(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cause_has_a_unique_word_a_status_and_words),
        cmocka_unit_test(test_every_status_the_gateway_answers_has_one_generic_cause),
        cmocka_unit_test(test_the_page_lists_every_cause_under_its_status),
        cmocka_unit_test(test_a_response_names_its_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
