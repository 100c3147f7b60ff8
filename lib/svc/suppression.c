/* Small-number suppression with secondary suppression (svc/suppression.h). */
#include "svc/suppression.h"

/* What a reader can derive from total t: 1 when it gives a hidden cell
 * away, 0 when not. *pick gets the smallest shown member (or SIZE_MAX). */
static int total_leaks(const suppression_cell_t *cells, const suppression_total_t *t, int64_t threshold,
                       size_t *pick) {
    size_t hidden = 0;
    int64_t shown_sum = 0;
    *pick = SIZE_MAX;
    for (size_t i = 0; i < t->n_members; i++) {
        const suppression_cell_t *c = &cells[t->members[i]];
        if (c->suppressed) {
            hidden++;
            continue;
        }
        shown_sum += c->value;
        if (*pick == SIZE_MAX || c->value < cells[*pick].value) *pick = t->members[i];
    }
    if (cells[t->total].suppressed) return hidden == 0 && t->n_members > 0;
    if (hidden == 0) return 0;
    int64_t m = (int64_t)hidden, d = cells[t->total].value - shown_sum;
    if (m < 2 || d - (m - 1) < threshold) return 1;
    return d == m * (threshold - 1);
}

static bool args_ok(const suppression_cell_t *cells, size_t n_cells, const suppression_total_t *totals,
                    size_t n_totals) {
    if (n_cells > SUPPRESSION_MAX_CELLS || n_totals > SUPPRESSION_MAX_TOTALS) return false;
    for (size_t i = 0; i < n_cells; i++)
        if (cells[i].value < 0) return false;
    for (size_t k = 0; k < n_totals; k++) {
        if (totals[k].total >= n_cells || totals[k].n_members > n_cells) return false;
        for (size_t i = 0; i < totals[k].n_members; i++)
            if (totals[k].members[i] >= n_cells || totals[k].members[i] == totals[k].total) return false;
    }
    return true;
}

bool suppression_is_safe(const suppression_cell_t *cells, size_t n_cells, const suppression_total_t *totals,
                         size_t n_totals, int64_t threshold) {
    if (!args_ok(cells, n_cells, totals, n_totals)) return false;
    for (size_t i = 0; i < n_cells; i++)
        if (!cells[i].suppressed && cells[i].value < threshold) return false;
    size_t pick;
    for (size_t k = 0; k < n_totals; k++)
        if (total_leaks(cells, &totals[k], threshold, &pick)) return false;
    return true;
}

int suppression_apply(suppression_cell_t *cells, size_t n_cells, const suppression_total_t *totals,
                      size_t n_totals, int64_t threshold) {
    if (!args_ok(cells, n_cells, totals, n_totals)) return -1;
    for (size_t i = 0; i < n_cells; i++) {
        cells[i].secondary = false;
        if (cells[i].value < threshold) cells[i].suppressed = true;
    }
    /* Each round that changes anything hides one more cell, so at most
     * n_cells rounds change anything; the last round finds nothing. */
    for (size_t round = 0; round <= n_cells; round++) {
        bool changed = false;
        for (size_t k = 0; k < n_totals; k++) {
            size_t pick;
            if (!total_leaks(cells, &totals[k], threshold, &pick)) continue;
            size_t hide = pick != SIZE_MAX ? pick : totals[k].total;
            if (cells[hide].suppressed) continue; /* a hidden total with no member: nothing to hide */
            cells[hide].suppressed = cells[hide].secondary = true;
            changed = true;
        }
        if (!changed) return 0;
    }
    return 0;
}
