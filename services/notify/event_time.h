/* event_time — the times notify puts into the templates of scheduling's and
 * matching's events (events_scheduling.c, events_matching.c): an instant as
 * the wall-clock time of a zone, and matching's RFC 3339 instants read.
 * Zones come from scheduling's tzfile reader (services/scheduling/tz.h),
 * never the process-global TZ, so any handler thread may call these. Pure
 * but for tz_get's cache; unit-tested in tests/unit/test_notify_event_time.c. */
#ifndef PARLEY_NOTIFY_EVENT_TIME_H
#define PARLEY_NOTIFY_EVENT_TIME_H

#include <stdint.h>

#include "core/arena.h"

/* seconds (since the epoch) as "YYYY-MM-DD HH:MM", the wall-clock time in
 * zone then (in a); NULL when zone is not a zone, or out of memory. */
const char *event_time_local(arena_t *a, int64_t seconds, const char *zone);

/* RFC 3339 UTC text as matching writes it ("2026-12-01T10:00:00Z", with or
 * without a fraction, which is dropped) into *seconds: 0, or -1 when it is
 * not one (another offset, a date that is not real, longer than 40 bytes). */
int event_time_parse(const char *text, int64_t *seconds);

#endif
