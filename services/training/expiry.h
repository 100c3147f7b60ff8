/* expiry — the calendar arithmetic of training records, pure: no database,
 * no clock of its own. Days are counted from 1970-01-01 (day 0).
 *
 * A completion on day C of a course valid for M months is in date up to,
 * not including, C + M months; "C + M months" keeps C's day of the month,
 * or the month's last day when it has none (31 January + 1 month is 28
 * February, or 29 in a leap year). Validity 0 means it never expires. The
 * expiry counts from the day the course was completed, never from the day
 * it was recorded, so a completion entered late or back-dated expires when
 * it would have had it been entered at once.
 */
#ifndef PARLEY_TRAINING_EXPIRY_H
#define PARLEY_TRAINING_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ordered best to worst; the values are the proto's Standing. */
typedef enum {
    EXPIRY_COMPLIANT = 1,
    EXPIRY_MISSING = 2,
    EXPIRY_EXPIRING = 3,
    EXPIRY_EXPIRED = 4,
} expiry_state_t;

/* The day number of y-m-d (m 1..12, d 1..31; not checked). */
int64_t expiry_days_from_civil(int y, int m, int d);
/* y-m-d of a day number. */
void expiry_civil_from_days(int64_t days, int *y, int *m, int *d);
/* YYYY-MM-DD of a day number into out (11 bytes). */
void expiry_format(int64_t days, char out[11]);

/* day + months, clamped to the end of a shorter month (months >= 0). */
int64_t expiry_add_months(int64_t day, int months);

/* The calendar date in London (GMT, or BST from 01:00 UTC on the last
 * Sunday of March to 01:00 UTC on the last Sunday of October) at unix time
 * t (seconds). */
int64_t expiry_london_day(int64_t t);

/* Where one required course stands on day today: has_completion false is
 * MISSING; else, with valid_months > 0, EXPIRED from the expiry day on,
 * EXPIRING when the expiry day is at most window_days away, else
 * COMPLIANT. *expires_on (may be NULL) gets the expiry day and *expires
 * whether there is one. */
expiry_state_t expiry_state(bool has_completion, int64_t completed, int valid_months, int64_t today,
                            int window_days, bool *expires, int64_t *expires_on);

/* The person's standing from their courses': the worst of them, EXPIRED
 * before MISSING before EXPIRING; COMPLIANT when n is 0. */
expiry_state_t expiry_overall(const expiry_state_t *states, size_t n);

/* Whether the standing keeps a supporter from being offered families. */
bool expiry_lapsed(expiry_state_t s);

#endif
