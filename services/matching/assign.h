/* assign — batch assignment: when several families wait and places are
 * few, choose all the offers together rather than first come, first served.
 *
 * The problem: requests (families waiting), supporters with a number of
 * free places (slots), and candidate edges (request, supporter, score) —
 * each request's top candidates, already past the hard rules. A request
 * also carries a bonus (its waiting time, weighted: scoring.h's
 * waiting_per_week), added to every one of its edges, so that when places
 * are short the families who have waited longest are served first and no
 * family starves.
 *
 * assign_optimal maximises first the number of families given a supporter,
 * then the total of score + bonus, and between equal totals serves the
 * requests listed first (the caller lists the longest waiting first); it is
 * a rectangular assignment problem
 * solved by the Hungarian method (Kuhn-Munkres with potentials, O(n^2 m)):
 * each supporter is expanded into one column per usable slot, and each
 * request may instead take an "unassigned" column at no gain. Pure: no
 * database; allocates its matrix with malloc and frees it.
 */
#ifndef PARLEY_MATCHING_ASSIGN_H
#define PARLEY_MATCHING_ASSIGN_H

#include <stddef.h>

typedef struct {
    int request;   /* index into the requests */
    int supporter; /* index into the supporters */
    int score;     /* >= 0 */
} assign_edge_t;

typedef struct {
    size_t n_requests;
    const int *bonus; /* per request, >= 0; NULL for none */
    size_t n_supporters;
    const int *slots; /* per supporter: how many more requests it can take */
    const assign_edge_t *edges;
    size_t n_edges;
} assign_problem_t;

/* Writes to choice[i] the supporter given to request i, or -1. Never gives
 * a supporter more requests than its slots, nor a request a supporter it
 * has no edge to. Returns 0, -EINVAL for a malformed problem (an edge out of
 * range, a negative score or bonus), or -ENOMEM. */
int assign_optimal(const assign_problem_t *p, int *choice);

/* First come, first served, for comparison: requests in index order (the
 * caller orders them by waiting time), each takes its best-scoring
 * supporter with a slot left. */
void assign_greedy(const assign_problem_t *p, int *choice);

/* How many requests choice serves, and the total score + bonus it gains. */
size_t assign_served(const assign_problem_t *p, const int *choice);
long assign_total(const assign_problem_t *p, const int *choice);

#endif
