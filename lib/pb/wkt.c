/* wkt — the well-known types whose JSON is not an object:
 * google.protobuf.Timestamp as RFC 3339 text, and the wrappers
 * (StringValue, Int32Value ...) as their bare value. Recognised by name and
 * shape, and read through their descriptors like any other message. */
#include <stdio.h>
#include <string.h>

#include "pb/internal.h"

#define BAD_TIMESTAMP "expected an RFC 3339 timestamp"

/* Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define TS_MIN_SECONDS (-62135596800LL)
#define TS_MAX_SECONDS 253402300799LL

static int is_timestamp(const ProtobufCMessageDescriptor *d) {
    return strcmp(d->name, "google.protobuf.Timestamp") == 0 && d->n_fields == 2 &&
           d->fields[0].type == PROTOBUF_C_TYPE_INT64 && d->fields[1].type == PROTOBUF_C_TYPE_INT32 &&
           d->fields[0].label != PROTOBUF_C_LABEL_REPEATED && d->fields[1].label != PROTOBUF_C_LABEL_REPEATED;
}

static int is_wrapper(const ProtobufCMessageDescriptor *d) {
    size_t n = strlen(d->short_name);
    return strcmp(d->package_name, "google.protobuf") == 0 && n > 5 && strcmp(d->short_name + n - 5, "Value") == 0 &&
           d->n_fields == 1 && d->fields[0].id == 1 && strcmp(d->fields[0].name, "value") == 0 &&
           d->fields[0].label != PROTOBUF_C_LABEL_REPEATED && d->fields[0].type != PROTOBUF_C_TYPE_MESSAGE;
}

int pb__wkt_is(const ProtobufCMessageDescriptor *desc) { return is_timestamp(desc) || is_wrapper(desc); }

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The n decimal digits at s as a number, or -1. */
static int digits(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

const char *pb__timestamp_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos) {
    /* YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|+hh:mm|-hh:mm) */
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return BAD_TIMESTAMP;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), min = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 ||
        sec > 59)
        return BAD_TIMESTAMP;
    if ((unsigned)day > days_in_month(year, (unsigned)month)) return BAD_TIMESTAMP;
    size_t i = 19;
    int32_t frac = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 9) frac = frac * 10 + (s[i++] - '0');
        if (i == start) return BAD_TIMESTAMP;
        for (size_t k = i - start; k < 9; k++) frac *= 10;
    }
    int offset = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (len - i < 6 || s[i + 3] != ':') return BAD_TIMESTAMP;
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return BAD_TIMESTAMP;
        offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return BAD_TIMESTAMP;
    }
    if (i != len) return BAD_TIMESTAMP;
    /* Local time minus its offset is UTC: 10:00+01:00 is 09:00Z. */
    int64_t t = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hour * 3600 + min * 60 + sec - offset;
    if (t < TS_MIN_SECONDS || t > TS_MAX_SECONDS) return "timestamp out of range (years 0001 to 9999)";
    *seconds = t;
    *nanos = frac;
    return NULL;
}

int pb__timestamp_format(int64_t seconds, int32_t nanos, char *out, size_t cap) {
    if (seconds < TS_MIN_SECONDS || seconds > TS_MAX_SECONDS || nanos < 0 || nanos > 999999999) return -1;
    int64_t days = seconds / 86400, rem = seconds % 86400;
    if (rem < 0) rem += 86400, days--;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char frac[16] = "";
    if (nanos == 0) frac[0] = '\0';
    else if (nanos % 1000000 == 0) snprintf(frac, sizeof frac, ".%03d", (int)(nanos / 1000000));
    else if (nanos % 1000 == 0) snprintf(frac, sizeof frac, ".%06d", (int)(nanos / 1000));
    else snprintf(frac, sizeof frac, ".%09d", (int)nanos);
    int n = snprintf(out, cap, "%04d-%02u-%02uT%02d:%02d:%02d%sZ", (int)y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60), frac);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void *field_slot(ProtobufCMessage *msg, unsigned i) {
    return (char *)msg + msg->descriptor->fields[i].offset;
}

static const void *field_cslot(const ProtobufCMessage *msg, unsigned i) {
    return (const char *)msg + msg->descriptor->fields[i].offset;
}

static const char *timestamp_from_text(ProtobufCMessage *msg, const char *s, size_t len) {
    int64_t seconds;
    int32_t nanos;
    const char *err = pb__timestamp_parse(s, len, &seconds, &nanos);
    if (err != NULL) return err;
    *(int64_t *)field_slot(msg, 0) = seconds;
    *(int32_t *)field_slot(msg, 1) = nanos;
    return NULL;
}

const char *pb__wkt_from_json(arena_t *arena, ProtobufCMessage *msg, const json_t *v) {
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (is_timestamp(d)) {
        if (!json_is_string(v)) return BAD_TIMESTAMP;
        return timestamp_from_text(msg, json_string_value(v), json_string_length(v));
    }
    return pb__scalar_from_json(arena, &d->fields[0], v, field_slot(msg, 0));
}

const char *pb__wkt_from_text(arena_t *arena, ProtobufCMessage *msg, const char *s, size_t len) {
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (is_timestamp(d)) return timestamp_from_text(msg, s, len);
    return pb__scalar_from_text(arena, &d->fields[0], s, len, field_slot(msg, 0));
}

json_t *pb__wkt_to_json(const ProtobufCMessage *msg) {
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (is_timestamp(d)) {
        char buf[64];
        int64_t seconds = *(const int64_t *)field_cslot(msg, 0);
        int32_t nanos = *(const int32_t *)field_cslot(msg, 1);
        if (pb__timestamp_format(seconds, nanos, buf, sizeof buf) != 0) return json_null();
        return json_string(buf);
    }
    return pb__scalar_to_json(&d->fields[0], field_cslot(msg, 0));
}
