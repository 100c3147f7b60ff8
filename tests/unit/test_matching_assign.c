/* Batch assignment (services/matching/assign.c): the Hungarian method
 * against first come, first served, and against brute force. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "services/matching/assign.h"

enum { A, B, C };

static assign_problem_t problem(size_t n_requests, const int *bonus, size_t n_supporters, const int *slots,
                                const assign_edge_t *edges, size_t n_edges) {
    assign_problem_t p = {n_requests, bonus, n_supporters, slots, edges, n_edges};
    return p;
}

static void test_greedy_first_come_leaves_a_family_without_a_supporter_that_batch_serves(void **state) {
    (void)state;
    /* Family 0 asked first and could have A or B; family 1 speaks only
     * what A speaks. First come takes A for family 0 and strands family 1. */
    const int slots[] = {1, 1};
    const assign_edge_t edges[] = {{0, A, 90}, {0, B, 85}, {1, A, 80}};
    assign_problem_t p = problem(2, NULL, 2, slots, edges, 3);
    int greedy[2], best[2];
    assign_greedy(&p, greedy);
    assert_int_equal(greedy[0], A);
    assert_int_equal(greedy[1], -1);
    assert_int_equal(assign_optimal(&p, best), 0);
    assert_int_equal(best[0], B);
    assert_int_equal(best[1], A);
    assert_int_equal(assign_served(&p, best), 2);
    assert_int_equal(assign_served(&p, greedy), 1);
    assert_true(assign_total(&p, best) > assign_total(&p, greedy));
}

static void test_batch_beats_greedy_on_total_fit_when_everyone_is_served(void **state) {
    (void)state;
    /* Both families get someone either way; first come gives family 1 a
     * poor fit (10) for a small gain to family 0 (60 over 55). */
    const int slots[] = {1, 1};
    const assign_edge_t edges[] = {{0, A, 60}, {0, B, 55}, {1, A, 90}, {1, B, 10}};
    assign_problem_t p = problem(2, NULL, 2, slots, edges, 4);
    int greedy[2], best[2];
    assign_greedy(&p, greedy);
    assert_int_equal(assign_total(&p, greedy), 70);
    assert_int_equal(assign_optimal(&p, best), 0);
    assert_int_equal(best[0], B);
    assert_int_equal(best[1], A);
    assert_int_equal(assign_total(&p, best), 145);
}

static void test_waiting_time_decides_who_gets_the_last_place(void **state) {
    (void)state;
    /* One place. Family 0 has waited eight weeks (bonus 40) and fits less
     * well than family 1, who asked today. */
    const int slots[] = {1};
    const assign_edge_t edges[] = {{0, A, 50}, {1, A, 80}};
    int none[] = {0, 0}, waited[] = {40, 0}, choice[2];
    assign_problem_t p = problem(2, none, 1, slots, edges, 2);
    assert_int_equal(assign_optimal(&p, choice), 0);
    assert_int_equal(choice[0], -1);
    assert_int_equal(choice[1], A);
    p.bonus = waited;
    assert_int_equal(assign_optimal(&p, choice), 0);
    assert_int_equal(choice[0], A);
    assert_int_equal(choice[1], -1);
}

static void test_between_equal_fits_the_longest_waiting_is_served(void **state) {
    (void)state;
    /* Listed longest-waiting first; both waited under a week (no bonus). */
    const int slots[] = {1};
    const assign_edge_t edges[] = {{2, A, 70}, {1, A, 70}, {0, A, 70}};
    int choice[3];
    assign_problem_t p = problem(3, NULL, 1, slots, edges, 3);
    assert_int_equal(assign_optimal(&p, choice), 0);
    assert_int_equal(choice[0], A);
    assert_int_equal(choice[1], -1);
    assert_int_equal(choice[2], -1);
}

static void test_slots_are_never_exceeded(void **state) {
    (void)state;
    const int slots[] = {2, 0};
    assign_edge_t edges[10];
    for (int i = 0; i < 5; i++) {
        edges[2 * i] = (assign_edge_t){i, A, 50 + i};
        edges[2 * i + 1] = (assign_edge_t){i, B, 99};
    }
    assign_problem_t p = problem(5, NULL, 2, slots, edges, 10);
    int choice[5];
    assert_int_equal(assign_optimal(&p, choice), 0);
    int to_a = 0;
    for (int i = 0; i < 5; i++) {
        assert_true(choice[i] == A || choice[i] == -1);
        to_a += choice[i] == A;
    }
    assert_int_equal(to_a, 2);
    assert_int_equal(choice[4], A); /* the two best fits */
    assert_int_equal(choice[3], A);
}

static void test_no_edges_no_requests_and_bad_input(void **state) {
    (void)state;
    const int slots[] = {3};
    int choice[2] = {7, 7};
    assign_problem_t p = problem(2, NULL, 1, slots, NULL, 0);
    assert_int_equal(assign_optimal(&p, choice), 0);
    assert_int_equal(choice[0], -1);
    assert_int_equal(choice[1], -1);
    p = problem(0, NULL, 1, slots, NULL, 0);
    assert_int_equal(assign_optimal(&p, choice), 0);
    const assign_edge_t bad[] = {{0, 5, 10}};
    p = problem(1, NULL, 1, slots, bad, 1);
    assert_int_equal(assign_optimal(&p, choice), -EINVAL);
    const assign_edge_t negative[] = {{0, 0, -1}};
    p = problem(1, NULL, 1, slots, negative, 1);
    assert_int_equal(assign_optimal(&p, choice), -EINVAL);
}

/* Brute force over every assignment: the best (served, total) pair. */
static void brute(const assign_problem_t *p, size_t i, int *cur, int *left, size_t *best_served, long *best_total) {
    if (i == p->n_requests) {
        size_t served = assign_served(p, cur);
        long total = assign_total(p, cur);
        if (served > *best_served || (served == *best_served && total > *best_total)) {
            *best_served = served;
            *best_total = total;
        }
        return;
    }
    cur[i] = -1;
    brute(p, i + 1, cur, left, best_served, best_total);
    for (size_t e = 0; e < p->n_edges; e++) {
        const assign_edge_t *ed = &p->edges[e];
        if ((size_t)ed->request != i || left[ed->supporter] <= 0) continue;
        cur[i] = ed->supporter;
        left[ed->supporter]--;
        brute(p, i + 1, cur, left, best_served, best_total);
        left[ed->supporter]++;
        cur[i] = -1;
    }
}

static void test_optimal_equals_brute_force_on_random_small_problems(void **state) {
    (void)state;
    srand(11);
    int greedy_worse = 0;
    for (int round = 0; round < 400; round++) {
        size_t n = 1 + (size_t)(rand() % 6), s = 1 + (size_t)(rand() % 3);
        int slots[3], bonus[6];
        for (size_t j = 0; j < s; j++) slots[j] = rand() % 3;
        for (size_t i = 0; i < n; i++) bonus[i] = rand() % 4 == 0 ? rand() % 50 : 0;
        assign_edge_t edges[18];
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < s; j++)
                if (rand() % 3) edges[m++] = (assign_edge_t){(int)i, (int)j, rand() % 100};
        assign_problem_t p = problem(n, bonus, s, slots, edges, m);
        int choice[6], greedy[6], cur[6], left[3];
        memcpy(left, slots, sizeof left);
        size_t best_served = 0;
        long best_total = 0;
        brute(&p, 0, cur, left, &best_served, &best_total);
        assert_int_equal(assign_optimal(&p, choice), 0);
        int used[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++)
            if (choice[i] >= 0) used[choice[i]]++;
        for (size_t j = 0; j < s; j++) assert_true(used[j] <= slots[j]);
        assert_int_equal(assign_served(&p, choice), best_served);
        assert_int_equal(assign_total(&p, choice), best_total);
        assign_greedy(&p, greedy);
        size_t gs = assign_served(&p, greedy);
        assert_true(gs <= best_served);
        if (gs < best_served || assign_total(&p, greedy) < best_total) greedy_worse++;
    }
    assert_true(greedy_worse > 0); /* the constructed cases above are not flukes */
}

static void test_a_hundred_families_and_eight_hundred_slots_solve_quickly(void **state) {
    (void)state;
    enum { N = 100, S = 200, K = 8 };
    int slots[S];
    for (int j = 0; j < S; j++) slots[j] = 4;
    assign_edge_t *edges = malloc(N * K * sizeof *edges);
    srand(3);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) edges[i * K + k] = (assign_edge_t){i, rand() % S, rand() % 100};
    assign_problem_t p = problem(N, NULL, S, slots, edges, N * K);
    int choice[N];
    assert_int_equal(assign_optimal(&p, choice), 0);
    assert_true(assign_served(&p, choice) >= 95);
    free(edges);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_first_come_leaves_a_family_without_a_supporter_that_batch_serves),
        cmocka_unit_test(test_batch_beats_greedy_on_total_fit_when_everyone_is_served),
        cmocka_unit_test(test_waiting_time_decides_who_gets_the_last_place),
        cmocka_unit_test(test_between_equal_fits_the_longest_waiting_is_served),
        cmocka_unit_test(test_slots_are_never_exceeded),
        cmocka_unit_test(test_no_edges_no_requests_and_bad_input),
        cmocka_unit_test(test_optimal_equals_brute_force_on_random_small_problems),
        cmocka_unit_test(test_a_hundred_families_and_eight_hundred_slots_solve_quickly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
