/* The age rule for young people as clients (young_age.h). */
#include "services/intake/young_age.h"

#include <time.h>

#include "services/intake/deadlines.h"

int young_age_years(int64_t born, int64_t on) {
    if (on < born) return -1;
    int by, bm, bd, oy, om, od;
    deadline_civil(born, &by, &bm, &bd);
    deadline_civil(on, &oy, &om, &od);
    int years = oy - by;
    /* Not yet this year's birthday: before its month, or in it before its
     * day. A 29 February birthday in another year falls on 1 March, which
     * this comparison gives (28 February is before 29). */
    if (om < bm || (om == bm && od < bd)) years--;
    return years;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* The day of the last Sunday of month (March or October) of year. */
static int64_t last_sunday(int year, int month) {
    int64_t last = deadline_day(year, month, 31); /* both months have 31 days */
    int64_t weekday = ((last + 4) % 7 + 7) % 7;   /* 1970-01-01 was a Thursday; 0 is Sunday */
    return last - weekday;
}

int64_t young_age_london_day(int64_t unix_seconds) {
    int64_t utc_day = floor_div(unix_seconds, 86400);
    int y, m, d;
    deadline_civil(utc_day, &y, &m, &d);
    int64_t starts = last_sunday(y, 3) * 86400 + 3600, ends = last_sunday(y, 10) * 86400 + 3600;
    if (unix_seconds >= starts && unix_seconds < ends) unix_seconds += 3600;
    return floor_div(unix_seconds, 86400);
}

bool young_age_in_range(int64_t born, int64_t on) {
    int years = young_age_years(born, on);
    return years >= YOUNG_AGE_MIN && years <= YOUNG_AGE_MAX;
}

int64_t young_age_london_today(void) { return young_age_london_day((int64_t)time(NULL)); }
