/* suppression — small-number suppression of published counts, with the
 * secondary (complementary) suppression that stops a suppressed count being
 * worked out by subtraction from a total shown beside it.
 *
 * The caller lists its counts as cells and says which cells are totals of
 * which others (a total's cells need not be disjoint from another total's:
 * a cell may sit under several totals). Primary suppression hides every
 * cell under the threshold, zero included (a zero can be the complement
 * that gives a small cell away). Then, for every total, until nothing
 * changes:
 *
 *   - a hidden total needs at least one hidden cell under it, else it is
 *     their sum;
 *   - a shown total with hidden cells under it: what a reader can work out
 *     is their sum, D = total - the shown cells. With m hidden cells each
 *     at least 1 (a listed group is never empty), each one is at most
 *     D - (m - 1). That bound must reach the threshold t, so that a reader
 *     cannot even tell a hidden cell is small; m = 1 never passes (the cell
 *     is D). A reader who assumes every hidden cell is under t (1..t-1)
 *     also pins them all down when D = m (t - 1), so that fails too. Until
 *     the total passes, the smallest shown cell under it is hidden too
 *     (ties: the first listed), and when none is left, the total.
 *
 * Hiding only ever grows, so this ends after at most n_cells rounds. The
 * rule is conservative where a total counts distinct people who may sit in
 * several of its cells (then the cells add up to more than the total, and D
 * as computed is at most the true sum of the hidden cells).
 *
 * Pure: no allocation, no I/O. Reused by every report that publishes counts
 * (matching's unmet demand; feedback's analytics). */
#ifndef PARLEY_SVC_SUPPRESSION_H
#define PARLEY_SVC_SUPPRESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a caller's cells and totals reach past these, it gets -1 and must
 * not publish: the loops are bounded. */
#define SUPPRESSION_MAX_CELLS 100000
#define SUPPRESSION_MAX_TOTALS 10000

typedef struct {
    int64_t value;   /* the count; never negative */
    bool suppressed; /* out: hidden (in: true hides it whatever its value) */
    bool secondary;  /* out: hidden only to protect another cell */
} suppression_cell_t;

typedef struct {
    size_t total;          /* index of the total's own cell */
    const size_t *members; /* indexes of the cells it adds up (borrowed) */
    size_t n_members;
} suppression_total_t;

/* Applies primary and secondary suppression at threshold (a count under it
 * is hidden) to cells, in place. Returns 0, or -1 (cells unchanged) when an
 * index is out of range, a value is negative, or a bound is exceeded. */
int suppression_apply(suppression_cell_t *cells, size_t n_cells, const suppression_total_t *totals,
                      size_t n_totals, int64_t threshold);

/* Whether cells, as suppressed, let no hidden cell be derived under totals
 * (the check suppression_apply makes safe; unit tests use it too). */
bool suppression_is_safe(const suppression_cell_t *cells, size_t n_cells, const suppression_total_t *totals,
                         size_t n_totals, int64_t threshold);

#endif
