/* Training's calendar arithmetic (contract in expiry.h). */
#include "services/training/expiry.h"

#include <stdio.h>

/* After H. Hinnant's days_from_civil / civil_from_days. */
int64_t expiry_days_from_civil(int y, int m, int d) {
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void expiry_civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void expiry_format(int64_t days, char out[11]) {
    int y, m, d;
    expiry_civil_from_days(days, &y, &m, &d);
    unsigned uy = (unsigned)(y < 0 ? 0 : y) % 10000u, um = (unsigned)m % 100u, ud = (unsigned)d % 100u;
    snprintf(out, 11, "%04u-%02u-%02u", uy, um, ud);
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

int64_t expiry_add_months(int64_t day, int months) {
    int y, m, d;
    expiry_civil_from_days(day, &y, &m, &d);
    int64_t total = (int64_t)y * 12 + (m - 1) + months;
    int ny = (int)(total / 12), nm = (int)(total % 12) + 1;
    int last = month_days(ny, nm);
    return expiry_days_from_civil(ny, nm, d > last ? last : d);
}

/* The last Sunday of month m of year y, as a day number. */
static int64_t last_sunday(int y, int m) {
    int64_t last = expiry_days_from_civil(y, m, month_days(y, m));
    /* 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) mod 7. */
    int64_t wd = ((last + 4) % 7 + 7) % 7;
    return last - wd;
}

int64_t expiry_london_day(int64_t t) {
    int64_t utc_day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int y, m, d;
    expiry_civil_from_days(utc_day, &y, &m, &d);
    /* BST: from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October. */
    int64_t start = last_sunday(y, 3) * 86400 + 3600, end = last_sunday(y, 10) * 86400 + 3600;
    int64_t local = t + (t >= start && t < end ? 3600 : 0);
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

expiry_state_t expiry_state(bool has_completion, int64_t completed, int valid_months, int64_t today,
                            int window_days, bool *expires, int64_t *expires_on) {
    bool has_end = has_completion && valid_months > 0;
    int64_t end = has_end ? expiry_add_months(completed, valid_months) : 0;
    if (expires) *expires = has_end;
    if (expires_on) *expires_on = end;
    if (!has_completion) return EXPIRY_MISSING;
    if (!has_end) return EXPIRY_COMPLIANT;
    if (today >= end) return EXPIRY_EXPIRED;
    if (end - today <= window_days) return EXPIRY_EXPIRING;
    return EXPIRY_COMPLIANT;
}

expiry_state_t expiry_overall(const expiry_state_t *states, size_t n) {
    static const int rank[] = {0, 0, 2, 1, 3}; /* compliant < expiring < missing < expired */
    expiry_state_t worst = EXPIRY_COMPLIANT;
    for (size_t i = 0; i < n; i++)
        if (states[i] >= EXPIRY_COMPLIANT && states[i] <= EXPIRY_EXPIRED && rank[states[i]] > rank[worst])
            worst = states[i];
    return worst;
}

bool expiry_lapsed(expiry_state_t s) { return s == EXPIRY_MISSING || s == EXPIRY_EXPIRED; }
