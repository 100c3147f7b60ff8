/* Small-number suppression with secondary suppression (svc/suppression.h):
 * no hidden count can be worked out by subtracting what is shown from a
 * total, checked by brute force over every table of a small size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "svc/suppression.h"
#include "svc/svc.h"

#define T 5 /* the threshold matching and feedback use */

/* cells[0] is the total of cells[1..n]. */
static void table(suppression_cell_t *cells, size_t *members, suppression_total_t *total, const int64_t *values,
                  size_t n, int64_t total_value) {
    memset(cells, 0, (n + 1) * sizeof *cells);
    cells[0].value = total_value;
    for (size_t i = 0; i < n; i++) {
        cells[i + 1].value = values[i];
        members[i] = i + 1;
    }
    *total = (suppression_total_t){.total = 0, .members = members, .n_members = n};
}

static void test_the_subtraction_in_the_issue_no_longer_works(void **state) {
    (void)state;
    /* 14 waiting: 7 English/autism, 6 English/ADHD, 1 Polish/learning. With
     * only the 1 hidden, 14 - 7 - 6 gives it away. */
    int64_t v[] = {7, 6, 1};
    suppression_cell_t c[4];
    size_t m[3];
    suppression_total_t t;
    table(c, m, &t, v, 3, 14);
    suppression_cell_t naive[4];
    memcpy(naive, c, sizeof c);
    naive[3].suppressed = true;
    assert_false(suppression_is_safe(naive, 4, &t, 1, T));

    assert_int_equal(suppression_apply(c, 4, &t, 1, T), 0);
    assert_true(c[3].suppressed && !c[3].secondary);
    assert_true(c[2].suppressed && c[2].secondary); /* the smallest shown cell goes with it */
    assert_false(c[1].suppressed);
    assert_false(c[0].suppressed); /* 14 - 7 = 7 = x + y, each of them 1..6: nothing follows */
    assert_true(suppression_is_safe(c, 4, &t, 1, T));
}

static void test_a_total_is_hidden_when_no_cell_is_left_to_hide(void **state) {
    (void)state;
    int64_t v[] = {7, 1}; /* 8 - 7 = 1; hiding the 7 too leaves 8 = 1 + 7 ... */
    suppression_cell_t c[3];
    size_t m[2];
    suppression_total_t t;
    table(c, m, &t, v, 2, 8);
    assert_int_equal(suppression_apply(c, 3, &t, 1, T), 0);
    /* ... which someone assuming both are under 5 reads as 4 + 4: the total goes. */
    assert_true(c[0].suppressed && c[0].secondary);
    assert_true(c[1].suppressed && c[2].suppressed);
    assert_true(suppression_is_safe(c, 3, &t, 1, T));
}

static void test_two_small_cells_that_sum_small_are_not_enough(void **state) {
    (void)state;
    int64_t v[] = {9, 1, 1}; /* 11 - 9 = 2 = 1 + 1: both known */
    suppression_cell_t c[4];
    size_t m[3];
    suppression_total_t t;
    table(c, m, &t, v, 3, 11);
    assert_int_equal(suppression_apply(c, 4, &t, 1, T), 0);
    /* Hiding the 9 as well: x + y + z = 11, each 1..9, or 3..4 when all are
     * taken to be small; no one value follows. */
    assert_true(c[1].suppressed && c[1].secondary);
    assert_false(c[0].suppressed);
    assert_true(suppression_is_safe(c, 4, &t, 1, T));
}

static void test_nothing_small_means_nothing_hidden(void **state) {
    (void)state;
    int64_t v[] = {7, 6, 5};
    suppression_cell_t c[4];
    size_t m[3];
    suppression_total_t t;
    table(c, m, &t, v, 3, 18);
    assert_int_equal(suppression_apply(c, 4, &t, 1, T), 0);
    for (int i = 0; i < 4; i++) assert_false(c[i].suppressed);
}

static void test_a_small_total_hides_and_its_cells_with_it(void **state) {
    (void)state;
    int64_t v[] = {2, 1};
    suppression_cell_t c[3];
    size_t m[2];
    suppression_total_t t;
    table(c, m, &t, v, 2, 3);
    assert_int_equal(suppression_apply(c, 3, &t, 1, T), 0);
    for (int i = 0; i < 3; i++) assert_true(c[i].suppressed && !c[i].secondary);
    /* A zero total with no cells under it is hidden too, and that is all. */
    suppression_cell_t z = {.value = 0};
    suppression_total_t zt = {.total = 0, .members = NULL, .n_members = 0};
    assert_int_equal(suppression_apply(&z, 1, &zt, 1, T), 0);
    assert_true(z.suppressed);
}

static void test_a_hidden_total_needs_a_hidden_cell_under_it(void **state) {
    (void)state;
    /* The caller hides a total (say, of people counted in several cells);
     * all its cells shown would add it back up. */
    int64_t v[] = {9, 6};
    suppression_cell_t c[3];
    size_t m[2];
    suppression_total_t t;
    table(c, m, &t, v, 2, 15);
    c[0].suppressed = true;
    assert_int_equal(suppression_apply(c, 3, &t, 1, T), 0);
    assert_true(c[2].suppressed && c[2].secondary && !c[1].suppressed);
}

static void test_cells_under_several_totals_are_protected_under_each(void **state) {
    (void)state;
    /* Two authorities' totals and a cell in each that is small; each total
     * is its own equation. */
    suppression_cell_t c[7] = {{.value = 12}, {.value = 6}, {.value = 5}, {.value = 1},
                               {.value = 20}, {.value = 10}, {.value = 10}};
    size_t ma[] = {1, 2, 3}, mb[] = {5, 6};
    suppression_total_t t[] = {{0, ma, 3}, {4, mb, 2}};
    assert_int_equal(suppression_apply(c, 7, t, 2, T), 0);
    assert_true(c[3].suppressed && c[2].suppressed && !c[1].suppressed && !c[0].suppressed);
    for (int i = 4; i < 7; i++) assert_false(c[i].suppressed);
    assert_true(suppression_is_safe(c, 7, t, 2, T));
}

static void test_bad_input_is_refused_and_changes_nothing(void **state) {
    (void)state;
    suppression_cell_t c[2] = {{.value = 3}, {.value = -1}};
    size_t m[] = {1};
    suppression_total_t t = {0, m, 1};
    assert_int_equal(suppression_apply(c, 2, &t, 1, T), -1);
    assert_false(c[0].suppressed);
    size_t out_of_range[] = {7};
    c[1].value = 2;
    suppression_total_t bad = {0, out_of_range, 1};
    assert_int_equal(suppression_apply(c, 2, &bad, 1, T), -1);
    size_t itself[] = {0};
    suppression_total_t loop = {0, itself, 1};
    assert_int_equal(suppression_apply(c, 2, &loop, 1, T), -1);
    assert_false(c[0].suppressed || c[1].suppressed);
}

/* ---- brute force: what a reader can derive from one total ------------------ */

typedef struct {
    const suppression_cell_t *c;
    const size_t *hidden; /* indexes of the hidden cells */
    size_t m;
    int64_t d;     /* their sum, as the reader works it out */
    int64_t lo, hi; /* the range the reader assumes for each */
    int64_t x[8];
    int64_t seen_min[8], seen_max[8];
    long solutions;
} search_t;

static void enumerate(search_t *s, size_t k, int64_t left) {
    if (k + 1 == s->m) {
        if (left < s->lo || left > s->hi) return;
        s->x[k] = left;
        s->solutions++;
        for (size_t i = 0; i < s->m; i++) {
            if (s->x[i] < s->seen_min[i]) s->seen_min[i] = s->x[i];
            if (s->x[i] > s->seen_max[i]) s->seen_max[i] = s->x[i];
        }
        return;
    }
    for (int64_t v = s->lo; v <= s->hi && v <= left; v++) {
        s->x[k] = v;
        enumerate(s, k + 1, left - v);
    }
}

/* Every way the hidden cells could add up to d within [lo, hi]; fails the
 * test when one of them has a single possible value. */
static void assert_underivable(search_t *s, int64_t lo, int64_t hi) {
    s->lo = lo;
    s->hi = hi;
    s->solutions = 0;
    for (size_t i = 0; i < s->m; i++) {
        s->seen_min[i] = INT64_MAX;
        s->seen_max[i] = INT64_MIN;
    }
    enumerate(s, 0, s->d);
    for (size_t i = 0; s->solutions > 0 && i < s->m; i++) assert_true(s->seen_min[i] < s->seen_max[i]);
}

static void test_no_table_of_up_to_four_cells_gives_a_hidden_cell_away(void **state) {
    (void)state;
    long checked = 0;
    for (size_t n = 1; n <= 4; n++) {
        int64_t v[4];
        long combos = 1;
        for (size_t i = 0; i < n; i++) combos *= 9;
        for (long code = 0; code < combos; code++) {
            long rest = code;
            int64_t sum = 0;
            for (size_t i = 0; i < n; i++) {
                v[i] = 1 + rest % 9; /* 1..9: below and above the threshold */
                rest /= 9;
                sum += v[i];
            }
            suppression_cell_t c[5];
            size_t m[4];
            suppression_total_t t;
            table(c, m, &t, v, n, sum);
            assert_int_equal(suppression_apply(c, n + 1, &t, 1, T), 0);
            assert_true(suppression_is_safe(c, n + 1, &t, 1, T));
            for (size_t i = 0; i <= n; i++)
                if (c[i].value < T) assert_true(c[i].suppressed);
            if (c[0].suppressed) continue; /* no equation left to solve */
            size_t hidden[4], k = 0;
            int64_t shown = 0;
            for (size_t i = 1; i <= n; i++) {
                if (c[i].suppressed) hidden[k++] = i;
                else shown += c[i].value;
            }
            if (k == 0) continue;
            search_t s = {.c = c, .hidden = hidden, .m = k, .d = c[0].value - shown};
            /* A reader who knows only that a listed group is not empty ... */
            assert_underivable(&s, 1, s.d);
            for (size_t i = 0; i < k; i++) assert_true(s.seen_max[i] >= T); /* ... nor that it is small */
            /* ... and one who takes every hidden cell to be under the threshold. */
            assert_underivable(&s, 1, T - 1);
            checked++;
        }
    }
    assert_true(checked > 1000);
}

/* ---- svc_check_distinct -------------------------------------------------- */

static void test_a_repeated_id_is_named_by_its_index(void **state) {
    (void)state;
    arena_t *a = arena_new();
    bus_response_t res = {.arena = a};
    parley__common__v1__status__init(&res.status);
    char *ids[] = {"0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                   "0F8FAD5B-D9CB-469F-A165-70867728950E"};
    assert_true(svc_check_distinct(&res, "authorityIds", ids, 2, 100));
    assert_int_equal(res.status.n_violations, 0);
    assert_false(svc_check_distinct(&res, "authorityIds", ids, 3, 100));
    assert_int_equal(res.status.n_violations, 1);
    assert_string_equal(res.status.violations[0]->field, "authorityIds[2]");
    assert_string_equal(res.status.violations[0]->description, "repeats authorityIds[0]");
    arena_destroy(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_subtraction_in_the_issue_no_longer_works),
        cmocka_unit_test(test_a_total_is_hidden_when_no_cell_is_left_to_hide),
        cmocka_unit_test(test_two_small_cells_that_sum_small_are_not_enough),
        cmocka_unit_test(test_nothing_small_means_nothing_hidden),
        cmocka_unit_test(test_a_small_total_hides_and_its_cells_with_it),
        cmocka_unit_test(test_a_hidden_total_needs_a_hidden_cell_under_it),
        cmocka_unit_test(test_cells_under_several_totals_are_protected_under_each),
        cmocka_unit_test(test_bad_input_is_refused_and_changes_nothing),
        cmocka_unit_test(test_no_table_of_up_to_four_cells_gives_a_hidden_cell_away),
        cmocka_unit_test(test_a_repeated_id_is_named_by_its_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
