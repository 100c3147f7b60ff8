/* tz — a bounded TZif (RFC 8536) reader and the conversions scheduling
 * needs. See tz.h for why the C library's zone handling is not used. */
#include "services/scheduling/tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

#define TZIF_HEADER 44
#define TZIF_MAX_FILE (256 * 1024)
#define FOOTER_MAX 128

int64_t tz_floor_days(int64_t s) { return s >= 0 ? s / 86400 : -((-s + 86399) / 86400); }

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t tz_days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int tz_iso_weekday(int64_t days) {
    /* 1970-01-01 was a Thursday (4). */
    int64_t w = (days + 3) % 7;
    if (w < 0) w += 7;
    return (int)w + 1;
}

bool tz_name_ok(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/') return false;
    bool start = true;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '/') {
            if (start) return false; /* an empty component */
            start = true;
            continue;
        }
        if (start && c == '.') return false;
        if (!isalnum((unsigned char)c) && c != '_' && c != '+' && c != '-') return false;
        start = false;
    }
    return !start;
}

static int64_t be(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
    if (bytes == 4) return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* ---- the POSIX TZ footer ("GMT0BST,M3.5.0/1,M10.5.0") ---- */

static const char *skip_name(const char *p) {
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e ? e + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p)) p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds; NULL when malformed. */
static const char *parse_hms(const char *p, int32_t *out) {
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    int part[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p)) return i == 0 ? NULL : p;
        int v = 0;
        for (int k = 0; k < 3 && isdigit((unsigned char)*p); k++) v = v * 10 + (*p++ - '0');
        part[i] = v;
        if (*p != ':' || i == 2) break;
        p++;
    }
    if (part[0] > 167 || part[1] > 59 || part[2] > 59) return NULL;
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

static const char *parse_rule_date(const char *p, tz_rule_date_t *r) {
    if (*p++ != 'M') return NULL; /* Jn and n forms: not used by the zones we serve */
    int v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p) && v[i] < 100) v[i] = v[i] * 10 + (*p++ - '0');
        if (i < 2 && *p++ != '.') return NULL;
    }
    if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6) return NULL;
    *r = (tz_rule_date_t){v[0], v[1], v[2], 7200};
    if (*p == '/') {
        p = parse_hms(p + 1, &r->time);
        if (p == NULL) return NULL;
    }
    return p;
}

static int parse_footer(const char *s, tz_t *z) {
    const char *p = skip_name(s);
    int32_t off;
    if (p == NULL || (p = parse_hms(p, &off)) == NULL) return -1;
    z->std_offset = -off; /* POSIX counts west of Greenwich as positive */
    z->has_rule = true;
    if (*p == '\0') return 0;
    if ((p = skip_name(p)) == NULL) return -1;
    z->dst_offset = z->std_offset + 3600;
    if (*p != ',' && *p != '\0') {
        if ((p = parse_hms(p, &off)) == NULL) return -1;
        z->dst_offset = -off;
    }
    if (*p != ',' || (p = parse_rule_date(p + 1, &z->start)) == NULL) return -1;
    if (*p != ',' || (p = parse_rule_date(p + 1, &z->end)) == NULL) return -1;
    z->rule_dst = true;
    return *p == '\0' ? 0 : -1;
}

static int64_t rule_day(int year, const tz_rule_date_t *r) {
    int64_t first = tz_days_from_civil(year, r->month, 1);
    int wd0 = tz_iso_weekday(first) % 7; /* Sunday 0 */
    int64_t day = first + (r->wday - wd0 + 7) % 7 + (int64_t)(r->week - 1) * 7;
    int ny = r->month == 12 ? year + 1 : year, nm = r->month == 12 ? 1 : r->month + 1;
    int64_t next = tz_days_from_civil(ny, nm, 1);
    while (day >= next) day -= 7;
    return day;
}

static int32_t rule_offset(const tz_t *z, int64_t t) {
    if (!z->rule_dst) return z->std_offset;
    int y, m, d;
    tz_civil_from_days(tz_floor_days(t + z->std_offset), &y, &m, &d);
    int64_t start = rule_day(y, &z->start) * 86400 + z->start.time - z->std_offset;
    int64_t end = rule_day(y, &z->end) * 86400 + z->end.time - z->dst_offset;
    bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
    return dst ? z->dst_offset : z->std_offset;
}

int tz_parse(const unsigned char *data, size_t len, const char *name, tz_t *z) {
    memset(z, 0, sizeof *z);
    snprintf(z->name, sizeof z->name, "%s", name ? name : "");
    if (len < TZIF_HEADER || memcmp(data, "TZif", 4) != 0 || data[4] < '2') return -1;
    /* Skip the version 1 block (32-bit times) to the version 2 header. */
    int64_t c[6];
    for (int i = 0; i < 6; i++) c[i] = be(data + 20 + 4 * i, 4);
    for (int i = 0; i < 6; i++)
        if (c[i] < 0 || c[i] > 100000) return -1;
    size_t v1 = (size_t)(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    size_t off = TZIF_HEADER + v1;
    if (off + TZIF_HEADER > len || memcmp(data + off, "TZif", 4) != 0) return -1;
    for (int i = 0; i < 6; i++) c[i] = be(data + off + 20 + 4 * i, 4);
    int64_t isut = c[0], isstd = c[1], leap = c[2], timecnt = c[3], typecnt = c[4], charcnt = c[5];
    if (timecnt < 0 || timecnt > TZ_MAX_TRANSITIONS || typecnt < 1 || typecnt > TZ_MAX_TYPES || charcnt < 0 ||
        charcnt > 1000 || leap < 0 || leap > 1000 || isut < 0 || isut > typecnt || isstd < 0 || isstd > typecnt)
        return -1;
    const unsigned char *p = data + off + TZIF_HEADER;
    size_t need = (size_t)(timecnt * 9 + typecnt * 6 + charcnt + leap * 12 + isstd + isut);
    if ((size_t)(p - data) + need > len) return -1;
    z->n_transitions = (size_t)timecnt;
    z->n_types = (size_t)typecnt;
    for (int64_t i = 0; i < timecnt; i++) {
        z->at[i] = be(p + 8 * i, 8);
        if (i > 0 && z->at[i] <= z->at[i - 1]) return -1;
    }
    p += timecnt * 8;
    for (int64_t i = 0; i < timecnt; i++) {
        if (p[i] >= typecnt) return -1;
        z->type_of[i] = p[i];
    }
    p += timecnt;
    for (int64_t i = 0; i < typecnt; i++) {
        int64_t o = be(p + 6 * i, 4);
        if (o < -26 * 3600 || o > 26 * 3600) return -1;
        z->types[i] = (tz_type_t){(int32_t)o, p[6 * i + 4] != 0};
    }
    p += typecnt * 6 + charcnt + leap * 12 + isstd + isut;
    /* The footer: "\n" rule "\n" (may be empty). */
    size_t rest = len - (size_t)(p - data);
    if (rest >= 2 && p[0] == '\n') {
        const unsigned char *e = memchr(p + 1, '\n', rest - 1);
        size_t n = e ? (size_t)(e - p - 1) : 0;
        if (e && n > 0 && n < FOOTER_MAX) {
            char footer[FOOTER_MAX];
            memcpy(footer, p + 1, n);
            footer[n] = '\0';
            if (parse_footer(footer, z) != 0) z->has_rule = false;
        }
    }
    return 0;
}

int32_t tz_offset_at(const tz_t *z, int64_t t) {
    size_t n = z->n_transitions;
    if (n == 0 || t < z->at[0]) {
        if (n == 0 && z->has_rule) return rule_offset(z, t);
        for (size_t i = 0; i < z->n_types; i++)
            if (!z->types[i].dst) return z->types[i].offset;
        return z->types[0].offset;
    }
    if (t >= z->at[n - 1] && z->has_rule) return rule_offset(z, t);
    size_t lo = 0, hi = n; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t) lo = mid;
        else hi = mid;
    }
    return z->types[z->type_of[lo]].offset;
}

tz_local_t tz_local_to_utc(const tz_t *z, int64_t local, int64_t *utc, int64_t *later) {
    /* Real zones change offset at most once within a day either side, so
     * the offsets a day before and after are the only candidates. */
    int32_t before = tz_offset_at(z, local - 86400), after = tz_offset_at(z, local + 86400);
    int64_t a = local - before, b = local - after;
    bool a_ok = tz_offset_at(z, a) == before, b_ok = tz_offset_at(z, b) == after;
    if (a_ok && b_ok && a != b) {
        *utc = a < b ? a : b;
        if (later) *later = a < b ? b : a;
        return TZ_REPEATED;
    }
    if (a_ok || b_ok) {
        *utc = a_ok ? a : b;
        if (later) *later = *utc;
        return TZ_EXACT;
    }
    *utc = a; /* in the gap: read with the offset before the change */
    if (later) *later = a;
    return TZ_GAP;
}

/* ---- the process-wide cache ---- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static tz_t *cache[TZ_CACHE_MAX];
static size_t n_cache;

static tz_t *load(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", config_str("PARLEY_ZONEINFO_DIR", "/usr/share/zoneinfo"), name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    unsigned char *buf = malloc(TZIF_MAX_FILE);
    tz_t *z = malloc(sizeof *z);
    size_t len = buf ? fread(buf, 1, TZIF_MAX_FILE, f) : 0;
    bool whole = buf && feof(f);
    fclose(f);
    if (z == NULL || !whole || tz_parse(buf, len, name, z) != 0) {
        free(z);
        z = NULL;
    }
    free(buf);
    return z;
}

const tz_t *tz_get(const char *name) {
    if (!tz_name_ok(name)) return NULL;
    const tz_t *found = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < n_cache && found == NULL; i++)
        if (strcmp(cache[i]->name, name) == 0) found = cache[i];
    if (found == NULL && n_cache < TZ_CACHE_MAX) {
        tz_t *z = load(name);
        if (z != NULL) found = cache[n_cache++] = z;
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}
