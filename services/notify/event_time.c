/* Template times of scheduling's and matching's events (contract in event_time.h). */
#include "services/notify/event_time.h"

#include <stdio.h>
#include <string.h>

#include "services/scheduling/tz.h"

const char *event_time_local(arena_t *a, int64_t seconds, const char *zone) {
    const tz_t *z = zone ? tz_get(zone) : NULL;
    if (z == NULL) return NULL;
    int64_t local = seconds + tz_offset_at(z, seconds);
    int64_t days = tz_floor_days(local), secs = local - days * 86400;
    int y, m, d;
    tz_civil_from_days(days, &y, &m, &d);
    return arena_printf(a, "%04d-%02d-%02d %02d:%02d", y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60));
}

int event_time_parse(const char *text, int64_t *seconds) {
    int y, mo, d, h, mi, s, n = 0;
    if (text == NULL || strlen(text) > 40 ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 19)
        return -1;
    const char *rest = text + 19;
    if (*rest == '.') rest += 1 + strspn(rest + 1, "0123456789");
    if (strcmp(rest, "Z") != 0 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return -1;
    /* A day past the month's end (2026-02-30) would roll into the next. */
    int64_t days = tz_days_from_civil(y, mo, d);
    int cy, cm, cd;
    tz_civil_from_days(days, &cy, &cm, &cd);
    if (cy != y || cm != mo || cd != d) return -1;
    *seconds = days * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}
