/* slots — a calendar's free slots between two instants: its weekly hours in
 * its zone, less its closed dates (leave, bank holidays), less its
 * bookings widened by its buffers, within its per-day and per-week caps.
 * Pure arithmetic over arrays the caller owns; no allocation. */
#ifndef PARLEY_SCHEDULING_SLOTS_H
#define PARLEY_SCHEDULING_SLOTS_H

#include <stdbool.h>
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

/* ics: whether one booking may be made, and if not why. */
typedef enum {
    SLOTS_FITS = 0,
    SLOTS_OUTSIDE_HOURS, /* not inside one of the weekly windows of its local day */
    SLOTS_CLOSED_DAY,    /* a local day it touches is closed */
    SLOTS_DAY_CAP,       /* its local day already has max_per_day bookings starting on it */
    SLOTS_WEEK_CAP,      /* its ISO week (local) already has max_per_week */
} slots_fit_t;

/* Whether [start, end) may be booked on c, whose busy spans are its other
 * active bookings: with hours, it must lie inside one weekly window of the
 * local day it starts on (a window read as slots_free reads it, across a
 * change) and touch no closed day; whatever hours says, the bookings
 * starting on its local day and in its ISO week must stay within the caps.
 * Checked in that order; *day (may be NULL) is the local day at fault. */
slots_fit_t slots_check(const slots_calendar_t *c, int64_t start, int64_t end, bool hours, int64_t *day);

#endif
