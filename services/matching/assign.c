/* Batch assignment by the Hungarian method (contract in assign.h). */
#include "services/matching/assign.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef long long cost_t;
#define COST_INF LLONG_MAX / 4

typedef struct {
    size_t n, m;         /* rows (requests), columns (slots, then one "unassigned" per request) */
    size_t n_sup;        /* supporters with a usable slot, remapped 0..n_sup-1 */
    cost_t *gain;        /* n x n_sup: what the best edge gains (see matrix_build), or -1 for none */
    int *col_sup;        /* per column (1-based, index 0 unused): remapped supporter, or -1 */
    int *sup_orig;       /* remapped -> original supporter index */
    cost_t big;          /* what being served is worth, above any total of gains */
} matrix_t;

static void matrix_free(matrix_t *x) {
    free(x->gain);
    free(x->col_sup);
    free(x->sup_orig);
}

static int bonus_of(const assign_problem_t *p, size_t i) { return p->bonus ? p->bonus[i] : 0; }

static int matrix_build(const assign_problem_t *p, matrix_t *x) {
    memset(x, 0, sizeof *x);
    x->n = p->n_requests;
    int *remap = malloc((p->n_supporters + 1) * sizeof *remap);
    int *users = calloc(p->n_supporters + 1, sizeof *users);
    if (remap == NULL || users == NULL) goto nomem;
    for (size_t s = 0; s < p->n_supporters; s++) remap[s] = -1;
    for (size_t e = 0; e < p->n_edges; e++) {
        const assign_edge_t *ed = &p->edges[e];
        if (ed->request < 0 || (size_t)ed->request >= p->n_requests || ed->supporter < 0 ||
            (size_t)ed->supporter >= p->n_supporters || ed->score < 0 || bonus_of(p, (size_t)ed->request) < 0) {
            free(remap);
            free(users);
            return -EINVAL;
        }
        if (p->slots[ed->supporter] > 0 && remap[ed->supporter] < 0) remap[ed->supporter] = (int)x->n_sup++;
    }
    x->gain = malloc((x->n * x->n_sup + 1) * sizeof *x->gain);
    x->sup_orig = malloc((x->n_sup + 1) * sizeof *x->sup_orig);
    if (x->gain == NULL || x->sup_orig == NULL) goto nomem;
    for (size_t k = 0; k < x->n * x->n_sup; k++) x->gain[k] = -1;
    for (size_t s = 0; s < p->n_supporters; s++)
        if (remap[s] >= 0) x->sup_orig[remap[s]] = (int)s;
    /* An edge gains score + bonus, scaled so that a tie-break fits under
     * one point: (n - i) for request i, so that between equal totals the
     * requests listed first (the longest waiting) are served. */
    cost_t scale = (cost_t)x->n * ((cost_t)x->n + 1) / 2 + 1, max_gain = 0;
    for (size_t e = 0; e < p->n_edges; e++) {
        const assign_edge_t *ed = &p->edges[e];
        int r = remap[ed->supporter];
        if (r < 0) continue;
        cost_t g = ((cost_t)ed->score + bonus_of(p, (size_t)ed->request)) * scale +
                   (cost_t)(x->n - (size_t)ed->request);
        cost_t *cell = &x->gain[(size_t)ed->request * x->n_sup + (size_t)r];
        if (*cell < 0) users[r]++;
        if (g > *cell) *cell = g;
        if (g > max_gain) max_gain = g;
    }
    /* Columns: a supporter is worth no more slots than requests that want it. */
    size_t cols = x->n;
    for (size_t r = 0; r < x->n_sup; r++) {
        int s = p->slots[x->sup_orig[r]];
        cols += (size_t)(s < users[r] ? s : users[r]);
    }
    x->m = cols;
    x->col_sup = malloc((cols + 1) * sizeof *x->col_sup);
    if (x->col_sup == NULL) goto nomem;
    size_t j = 1;
    for (size_t r = 0; r < x->n_sup; r++) {
        int s = p->slots[x->sup_orig[r]];
        int k = s < users[r] ? s : users[r];
        for (int t = 0; t < k; t++) x->col_sup[j++] = (int)r;
    }
    while (j <= cols) x->col_sup[j++] = -1;
    x->big = (max_gain + 1) * ((cost_t)x->n + 1);
    free(remap);
    free(users);
    return 0;
nomem:
    free(remap);
    free(users);
    matrix_free(x);
    return -ENOMEM;
}

/* The cost of giving row i (1-based) column j (1-based): minimised. */
static cost_t cost(const matrix_t *x, size_t i, size_t j) {
    int r = x->col_sup[j];
    if (r < 0) return 0;
    cost_t g = x->gain[(i - 1) * x->n_sup + (size_t)r];
    return g < 0 ? 4 * x->big : -(x->big + g);
}

int assign_optimal(const assign_problem_t *p, int *choice) {
    for (size_t i = 0; i < p->n_requests; i++) choice[i] = -1;
    if (p->n_requests == 0) return 0;
    matrix_t x;
    int rc = matrix_build(p, &x);
    if (rc != 0) return rc;
    size_t n = x.n, m = x.m;
    cost_t *u = calloc(n + 1, sizeof *u), *v = calloc(m + 1, sizeof *v), *minv = malloc((m + 1) * sizeof *minv);
    size_t *pr = calloc(m + 1, sizeof *pr), *way = calloc(m + 1, sizeof *way);
    bool *used = malloc((m + 1) * sizeof *used);
    if (!u || !v || !minv || !pr || !way || !used) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 1; i <= n; i++) {
        pr[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= m; j++) {
            minv[j] = COST_INF;
            used[j] = false;
        }
        do {
            used[j0] = true;
            size_t i0 = pr[j0], j1 = 0;
            cost_t delta = COST_INF;
            for (size_t j = 1; j <= m; j++) {
                if (used[j]) continue;
                cost_t cur = cost(&x, i0, j) - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[pr[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (pr[j0] != 0);
        do {
            size_t j1 = way[j0];
            pr[j0] = pr[j1];
            j0 = j1;
        } while (j0 != 0);
    }
    for (size_t j = 1; j <= m; j++) {
        if (pr[j] == 0 || x.col_sup[j] < 0) continue;
        size_t i = pr[j] - 1;
        if (x.gain[i * x.n_sup + (size_t)x.col_sup[j]] >= 0) choice[i] = x.sup_orig[x.col_sup[j]];
    }
done:
    free(u);
    free(v);
    free(minv);
    free(pr);
    free(way);
    free(used);
    matrix_free(&x);
    return rc;
}

void assign_greedy(const assign_problem_t *p, int *choice) {
    int *left = malloc((p->n_supporters + 1) * sizeof *left);
    for (size_t i = 0; i < p->n_requests; i++) choice[i] = -1;
    if (left == NULL) return;
    for (size_t s = 0; s < p->n_supporters; s++) left[s] = p->slots[s];
    for (size_t i = 0; i < p->n_requests; i++) {
        int best = -1, best_score = -1;
        for (size_t e = 0; e < p->n_edges; e++) {
            const assign_edge_t *ed = &p->edges[e];
            if ((size_t)ed->request != i || left[ed->supporter] <= 0) continue;
            if (ed->score > best_score || (ed->score == best_score && ed->supporter < best)) {
                best = ed->supporter;
                best_score = ed->score;
            }
        }
        if (best >= 0) {
            choice[i] = best;
            left[best]--;
        }
    }
    free(left);
}

size_t assign_served(const assign_problem_t *p, const int *choice) {
    size_t n = 0;
    for (size_t i = 0; i < p->n_requests; i++) n += choice[i] >= 0;
    return n;
}

long assign_total(const assign_problem_t *p, const int *choice) {
    long total = 0;
    for (size_t i = 0; i < p->n_requests; i++) {
        if (choice[i] < 0) continue;
        int best = -1;
        for (size_t e = 0; e < p->n_edges; e++)
            if ((size_t)p->edges[e].request == i && p->edges[e].supporter == choice[i] && p->edges[e].score > best)
                best = p->edges[e].score;
        if (best >= 0) total += best + bonus_of(p, i);
    }
    return total;
}
