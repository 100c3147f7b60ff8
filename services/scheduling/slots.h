/* slots — a calendar's free slots between two instants: its weekly hours in
 * its zone, less its closed dates (leave, bank holidays), less its
 * bookings widened by its buffers, within its per-day and per-week caps.
 * Pure arithmetic over arrays the caller owns; no allocation. */
#ifndef PARLEY_SCHEDULING_SLOTS_H
#define PARLEY_SCHEDULING_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "services/scheduling/tz.h"

#define SLOTS_MAX_WINDOWS 70  /* weekly hours: 10 a day */
#define SLOTS_MAX_CLOSED 1000 /* exceptions and bank holidays in range */
#define SLOTS_STEP_SECONDS 900 /* slots start on the quarter hour of a window */

typedef struct {
    int weekday;             /* ISO: Monday 1 .. Sunday 7 */
    int start_min, end_min;  /* local minutes after midnight, start < end <= 1440 */
} slots_window_t;

typedef struct {
    int64_t start, end; /* UTC seconds, start < end */
} slots_span_t;

typedef struct {
    const tz_t *zone;
    const slots_window_t *windows;
    size_t n_windows;
    const int64_t *closed_days; /* local dates (days since 1970-01-01), any order */
    size_t n_closed;
    const slots_span_t *busy; /* bookings, any order */
    size_t n_busy;
    int buffer_before, buffer_after; /* seconds kept free around each booking */
    int max_per_day, max_per_week;   /* 0: no cap */
} slots_calendar_t;

/* Writes up to cap free slots of `minutes` in [from, to) to out, earliest
 * first; *n their count. Returns 0, or 1 when there were more than cap
 * (the first cap are written). */
int slots_free(const slots_calendar_t *c, int64_t from, int64_t to, int minutes, slots_span_t *out, size_t cap,
               size_t *n);

#endif
