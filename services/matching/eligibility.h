/* eligibility — whether a supporter may be offered families, and why not.
 *
 * The one place that decides it: the supporter's status is active, their
 * enhanced DBS vetting is recorded and in date, and their training is not
 * lapsed (the training service's training.status_changed, kept on the
 * supporter: services/matching/events.c). A supporter training has never
 * told matching about is ELIGIBILITY_TRAINING_UNKNOWN, which counts as no
 * objection. Pure: no database, no clock of its own.
 */
#ifndef PARLEY_MATCHING_ELIGIBILITY_H
#define PARLEY_MATCHING_ELIGIBILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef enum {
    ELIGIBILITY_TRAINING_UNKNOWN = 0, /* no training service yet: not held against anyone */
    ELIGIBILITY_TRAINING_CURRENT,
    ELIGIBILITY_TRAINING_LAPSED,
} eligibility_training_t;

typedef struct {
    bool active;               /* status is active */
    const char *status_word;   /* the status as the API writes it ("paused"), for the reason */
    bool has_vetting;          /* a vetting expiry date is recorded */
    int64_t vetting_expires;   /* that date, as days since 1970-01-01 */
    eligibility_training_t training;
    /* When lapsed: why, as training said it ("training_expired: IPS-L2
     * expired on 2026-10-01"), borrowed; NULL otherwise. */
    const char *training_reason;
} eligibility_input_t;

/* Sets in's training from the stored reason (NULL or "": not lapsed),
 * copied into a. */
void eligibility_set_training(arena_t *a, eligibility_input_t *in, const char *reason);

/* Why a supporter is not eligible, as bits (0: eligible). */
#define ELIGIBILITY_NOT_ACTIVE 0x1u
#define ELIGIBILITY_VETTING_MISSING 0x2u
#define ELIGIBILITY_VETTING_EXPIRED 0x4u
#define ELIGIBILITY_TRAINING_LAPSED_BIT 0x8u

/* The reasons in in that rule the supporter out on day today (days since
 * 1970-01-01). Vetting expiring on a date is expired from that date on. */
unsigned eligibility_check(const eligibility_input_t *in, int64_t today);

/* One sentence per bit set in bits, written to out (at most cap; strings in
 * a). Returns how many were written. */
size_t eligibility_reasons(arena_t *a, const eligibility_input_t *in, unsigned bits, char **out, size_t cap);

#endif
