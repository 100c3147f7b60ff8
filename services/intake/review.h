/* review — when a leaflet of the information library is next due for
 * review. Pure: no database, no clock.
 *
 * A review lasts review_interval_months calendar months (1 to 60; 12 when
 * none is given): reviewed on R, the leaflet is next due R + that many
 * months, by the "corresponding date" rule of deadlines.h (31 January + 1
 * month = 28 or 29 February). Dates are day numbers since 1970-01-01. */
#ifndef PARLEY_INTAKE_REVIEW_H
#define PARLEY_INTAKE_REVIEW_H

#include <stdbool.h>
#include <stdint.h>

#define REVIEW_DEFAULT_MONTHS 12
#define REVIEW_MAX_MONTHS 60

/* The interval a request asks for: REVIEW_DEFAULT_MONTHS for 0 (absent). */
int review_interval(int32_t requested);

/* Whether months is an interval a resource may have (1..REVIEW_MAX_MONTHS). */
bool review_interval_is_valid(int32_t months);

/* The next review date after a review on reviewed_on. */
int64_t review_next_due(int64_t reviewed_on, int months);

#endif
