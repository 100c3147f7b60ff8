/* slots — free slots from weekly local hours; see slots.h. */
#include "services/scheduling/slots.h"

#include <stdbool.h>

static bool is_closed(const slots_calendar_t *c, int64_t day) {
    for (size_t i = 0; i < c->n_closed; i++)
        if (c->closed_days[i] == day) return true;
    return false;
}

static int64_t local_day(const slots_calendar_t *c, int64_t t) {
    return tz_floor_days(t + tz_offset_at(c->zone, t));
}

/* Bookings starting on local days [first, first + days). */
static int count_starting(const slots_calendar_t *c, int64_t first, int days) {
    int n = 0;
    for (size_t i = 0; i < c->n_busy; i++) {
        int64_t d = local_day(c, c->busy[i].start);
        if (d >= first && d < first + days) n++;
    }
    return n;
}

static bool clashes(const slots_calendar_t *c, int64_t s, int64_t e) {
    for (size_t i = 0; i < c->n_busy; i++)
        if (s < c->busy[i].end + c->buffer_after && e + c->buffer_before > c->busy[i].start) return true;
    return false;
}

int slots_free(const slots_calendar_t *c, int64_t from, int64_t to, int minutes, slots_span_t *out, size_t cap,
               size_t *n) {
    *n = 0;
    int64_t len = (int64_t)minutes * 60;
    if (minutes <= 0 || to <= from) return 0;
    int64_t first = local_day(c, from), last = local_day(c, to);
    for (int64_t day = first; day <= last; day++) {
        if (is_closed(c, day)) continue;
        int wd = tz_iso_weekday(day);
        if (c->max_per_day > 0 && count_starting(c, day, 1) >= c->max_per_day) continue;
        if (c->max_per_week > 0 && count_starting(c, day - (wd - 1), 7) >= c->max_per_week) continue;
        for (size_t w = 0; w < c->n_windows; w++) {
            const slots_window_t *win = &c->windows[w];
            if (win->weekday != wd) continue;
            int64_t ws, we, ignored;
            /* A window's start in the repeated hour is its first instance,
             * its end the second: the whole of the hours worked. */
            tz_local_to_utc(c->zone, day * 86400 + win->start_min * 60, &ws, &ignored);
            tz_local_to_utc(c->zone, day * 86400 + (int64_t)win->end_min * 60, &ignored, &we);
            for (int64_t s = ws; s + len <= we; s += SLOTS_STEP_SECONDS) {
                if (s < from) continue;
                if (s + len > to) break;
                if (clashes(c, s, s + len)) continue;
                if (*n == cap) return 1;
                out[(*n)++] = (slots_span_t){s, s + len};
            }
        }
    }
    return 0;
}

/* Local [ws, we) of window w on local day `day`, as slots_free reads it. */
static void window_span(const slots_calendar_t *c, const slots_window_t *w, int64_t day, int64_t *ws, int64_t *we) {
    int64_t ignored;
    tz_local_to_utc(c->zone, day * 86400 + w->start_min * 60, ws, &ignored);
    tz_local_to_utc(c->zone, day * 86400 + (int64_t)w->end_min * 60, &ignored, we);
}

slots_fit_t slots_check(const slots_calendar_t *c, int64_t start, int64_t end, bool hours, int64_t *day) {
    int64_t first = local_day(c, start), last = local_day(c, end - 1);
    if (day != NULL) *day = first;
    if (hours) {
        int wd = tz_iso_weekday(first);
        bool inside = false;
        for (size_t i = 0; i < c->n_windows && !inside; i++) {
            if (c->windows[i].weekday != wd) continue;
            int64_t ws, we;
            window_span(c, &c->windows[i], first, &ws, &we);
            inside = start >= ws && end <= we;
        }
        if (!inside) return SLOTS_OUTSIDE_HOURS;
        for (int64_t d = first; d <= last; d++)
            if (is_closed(c, d)) {
                if (day != NULL) *day = d;
                return SLOTS_CLOSED_DAY;
            }
    }
    if (c->max_per_day > 0 && count_starting(c, first, 1) >= c->max_per_day) return SLOTS_DAY_CAP;
    if (c->max_per_week > 0 && count_starting(c, first - (tz_iso_weekday(first) - 1), 7) >= c->max_per_week)
        return SLOTS_WEEK_CAP;
    return SLOTS_FITS;
}
