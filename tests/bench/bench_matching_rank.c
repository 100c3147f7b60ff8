/* bench_matching_rank — how long matching's pure ranking takes for one case
 * among N supporters (default 10,000): the hard rules and the score for
 * every supporter, the top 10 kept, and the reasons written for those 10,
 * exactly as services/matching/pool.c does after loading the pool. Prints
 * the median, p99 and mean of R rounds (default 1,000). Measures; asserts
 * nothing. Usage: bench_matching_rank [N [R]]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "services/matching/eligibility.h"
#include "services/matching/scoring.h"

#define TOP 10
#define AUTH_A "aaaaaaaa-0000-4000-8000-000000000001"
#define AUTH_B "bbbbbbbb-0000-4000-8000-000000000002"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 10000;
    int rounds = argc > 2 ? atoi(argv[2]) : 1000;
    if (n == 0 || rounds <= 0) return 2;
    static char *both[] = {AUTH_A, AUTH_B}, *only_a[] = {AUTH_A};
    static char *langs[][3] = {{"en"}, {"en", "pl"}, {"en", "ur"}, {"en", "so", "ar"}, {"cy", "en"}};
    static const size_t n_langs[] = {1, 2, 2, 3, 2};
    static char *areas[][2] = {{"N1", "N7"}, {"E2"}, {"SE15", "SE5"}, {"W1"}, {"N"}};
    static const size_t n_areas[] = {2, 1, 2, 1, 1};
    static char ids[10][37];
    char(*sid)[37] = malloc(n * sizeof *sid);
    supporter_facts_t *s = calloc(n, sizeof *s);
    scoring_slot_t *tmp = malloc(n * sizeof *tmp);
    double *took = malloc((size_t)rounds * sizeof *took);
    arena_t *a = arena_new();
    if (!sid || !s || !tmp || !took || !a) return 1;
    srand(42);
    for (size_t i = 0; i < n; i++) {
        snprintf(sid[i], sizeof sid[i], "%08x-0000-4000-8000-%012x", (unsigned)i & 0xffffffffu, (unsigned)i);
        s[i].id = sid[i];
        s[i].authority_ids = i % 3 ? only_a : both;
        s[i].n_authority_ids = i % 3 ? 1 : 2;
        s[i].languages = langs[i % 5];
        s[i].n_languages = n_langs[i % 5];
        s[i].specialisms = (unsigned)rand() & 0xffe;
        s[i].areas = areas[(i / 5) % 5];
        s[i].n_areas = n_areas[(i / 5) % 5];
        s[i].home_postcode = i % 4 ? NULL : "N7 9AA";
        s[i].capacity = 1 + rand() % 6;
        s[i].active = rand() % s[i].capacity;
        s[i].pending = rand() % 2;
        eligibility_input_t e = {.active = rand() % 20 != 0, .has_vetting = true,
                                 .vetting_expires = 20000 + rand() % 1000};
        s[i].ineligible = eligibility_check(&e, 20100);
    }
    /* An English-speaking family in N1 whose child is autistic with speech
     * and language needs: nearly every supporter passes the hard rules, the
     * most work ranking can have. */
    char *family_langs[] = {"en"}, *needs[] = {"autism", "speech and language"}, *case_needs[] = {"supporter"};
    char *previous[] = {ids[0]};
    snprintf(ids[0], sizeof ids[0], "%s", sid[n / 2]);
    case_input_t in = {.authority_id = AUTH_A, .languages = family_langs, .n_languages = 1, .child_needs = needs,
                       .n_child_needs = 2, .case_needs = case_needs, .n_case_needs = 1, .has_birth_date = true,
                       .child_born = 20100 - 9 * 365, .postcode = "N1 7AA"};
    case_facts_t c;
    scoring_case_facts(&in, 20100, &c);
    c.previous = previous;
    c.n_previous = 1;

    size_t idx[TOP], ranked = 0;
    int scores[TOP];
    long checksum = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        ranked = scoring_rank(&c, s, n, &SCORING_DEFAULT_WEIGHTS, TOP, tmp, idx, scores);
        for (size_t k = 0; k < ranked; k++) {
            reason_t reasons[SCORING_FACTORS];
            checksum += scoring_explain(a, &c, &s[idx[k]], &SCORING_DEFAULT_WEIGHTS, reasons);
        }
        took[r] = now_us() - t0;
        arena_reset(a);
    }
    qsort(took, (size_t)rounds, sizeof *took, cmp_double);
    double sum = 0;
    for (int r = 0; r < rounds; r++) sum += took[r];
    char name[64];
    snprintf(name, sizeof name, "rank 1 case among %zu supporters", n);
    printf("%-42s in process   p50 %6.2fms   p99 %6.2fms   (mean %.2fms, %d rounds, top %zu scores %ld)\n", name,
           took[rounds / 2] / 1000.0, took[(int)(rounds * 0.99)] / 1000.0, sum / rounds / 1000.0, rounds, ranked,
           checksum / rounds);
    arena_destroy(&a);
    free(took);
    free(tmp);
    free(s);
    free(sid);
    return 0;
}
