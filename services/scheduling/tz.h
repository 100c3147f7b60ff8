/* tz — IANA time zones read from the system's compiled tzfiles (TZif,
 * RFC 8536), for converting between UTC instants and local wall-clock time
 * without touching the C library's process-global TZ.
 *
 * Why our own reader: localtime_r/mktime convert only in the zone named by
 * the TZ environment variable, which is process-wide, so setting it per
 * request races every other handler thread; libical's icaltimezone loads
 * its zones into a process-global array with lazy, unguarded expansion of
 * each zone's changes. A TZif file is small and simple: its transitions
 * (64-bit, version 2+) and the POSIX rule in its footer for instants after
 * the last one. A tz_t is immutable once loaded, so any thread may use it.
 *
 * Ownership: tz_get returns a zone from a process-wide cache (guarded by a
 * mutex, never freed: at most TZ_CACHE_MAX zones); callers borrow it. */
#ifndef PARLEY_SCHEDULING_TZ_H
#define PARLEY_SCHEDULING_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 64
#define TZ_CACHE_MAX 64
#define TZ_MAX_TRANSITIONS 2000
#define TZ_MAX_TYPES 32

typedef struct {
    int32_t offset; /* seconds east of UTC */
    bool dst;
} tz_type_t;

/* A POSIX TZ rule date "Mm.w.d/time": month 1-12, week 1-5 (5: last),
 * weekday 0-6 (Sunday 0), time seconds after local midnight (of the
 * standard offset for the start, the DST offset for the end). */
typedef struct {
    int month, week, wday;
    int32_t time;
} tz_rule_date_t;

typedef struct tz {
    char name[TZ_NAME_MAX + 1];
    size_t n_transitions;
    int64_t at[TZ_MAX_TRANSITIONS];        /* UTC instants, ascending */
    uint8_t type_of[TZ_MAX_TRANSITIONS];   /* index into types */
    tz_type_t types[TZ_MAX_TYPES];
    size_t n_types;
    /* The footer's rule, for instants after the last transition. */
    bool has_rule, rule_dst;
    int32_t std_offset, dst_offset;
    tz_rule_date_t start, end;
} tz_t;

/* Whether name may be a zone name: 1 to TZ_NAME_MAX of [A-Za-z0-9_+-/],
 * no component empty, starting with '.' or "..". */
bool tz_name_ok(const char *name);

/* Parses a TZif image (len bytes) into *z. 0, or -1 when it is not one
 * this reader accepts (bounded: TZ_MAX_TRANSITIONS, TZ_MAX_TYPES). */
int tz_parse(const unsigned char *data, size_t len, const char *name, tz_t *z);

/* The zone name from dir (PARLEY_ZONEINFO_DIR, /usr/share/zoneinfo), loaded
 * once and cached; NULL when the name is not a zone. Thread-safe. */
const tz_t *tz_get(const char *name);

/* The UTC offset (seconds) in force at the UTC instant t. */
int32_t tz_offset_at(const tz_t *z, int64_t t);

/* Local wall-clock seconds (as if the local time were UTC) to a UTC
 * instant. TZ_EXACT: one instant has that wall time. TZ_GAP: none has (the
 * hour skipped in spring): *utc is the instant the wall time would name
 * with the offset before the change, i.e. shifted forward past the gap
 * (01:30 on a UK March change is 02:30 BST). TZ_REPEATED: two have (the
 * autumn hour): *utc is the earlier, *later (may be NULL) the second. */
typedef enum { TZ_EXACT = 0, TZ_GAP = 1, TZ_REPEATED = 2 } tz_local_t;
tz_local_t tz_local_to_utc(const tz_t *z, int64_t local, int64_t *utc, int64_t *later);

/* Civil calendar arithmetic (proleptic Gregorian, days since 1970-01-01). */
int64_t tz_days_from_civil(int y, int m, int d);
void tz_civil_from_days(int64_t days, int *y, int *m, int *d);
/* ISO weekday: Monday 1 .. Sunday 7. */
int tz_iso_weekday(int64_t days);
/* Floor division of seconds into days. */
int64_t tz_floor_days(int64_t seconds);

#endif
