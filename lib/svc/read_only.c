/* Merge-patch presence and read-only members sent back (contract in
 * read_only.h). */
#include "svc/read_only.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pb/pb.h"
#include "svc/svc.h"

bool svc_sent(const bus_request_t *req, const char *path) {
    const bus_header_t *h = req->header;
    for (size_t i = 0; path != NULL && i < h->n_body_fields; i++)
        if (strcmp(h->body_fields[i], path) == 0) return true;
    return false;
}

bool svc_sentf(const bus_request_t *req, arena_t *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *path = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return svc_sent(req, path);
}

/* An RFC 3339 date-time: seconds since the epoch, its fraction in
 * nanoseconds and how many digits the fraction had. */
static bool rfc3339(const char *s, int64_t *secs, long *nanos, int *digits) {
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19) return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
    const char *p = s + n;
    *nanos = 0;
    *digits = 0;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p) && *digits < 9; p++, (*digits)++) *nanos = *nanos * 10 + (*p - '0');
        if (*digits == 0 || isdigit((unsigned char)*p)) return false;
        for (int k = *digits; k < 9; k++) *nanos *= 10;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59) return false;
        offset = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0') return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    *secs = (int64_t)timegm(&tm) - offset;
    return true;
}

/* The same instant, at the coarser of the two precisions. */
static bool same_time(const char *a, const char *b) {
    int64_t sa, sb;
    long na, nb;
    int da, db;
    if (!rfc3339(a, &sa, &na, &da) || !rfc3339(b, &sb, &nb, &db)) return false;
    if (sa != sb) return false;
    long scale = 1;
    for (int k = da < db ? da : db; k < 9; k++) scale *= 10;
    return na / scale == nb / scale;
}

static bool is_empty(const json_t *v) {
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

bool svc_json_same(const json_t *sent, const json_t *stored, int depth) {
    if (is_empty(sent) && is_empty(stored)) return true;
    if (sent == NULL || stored == NULL || depth <= 0) return false;
    if (json_is_number(sent) && json_is_number(stored)) return json_number_value(sent) == json_number_value(stored);
    if (json_is_string(sent) && json_is_string(stored))
        return strcmp(json_string_value(sent), json_string_value(stored)) == 0 ||
               same_time(json_string_value(sent), json_string_value(stored));
    if (json_is_array(sent) && json_is_array(stored)) {
        if (json_array_size(sent) != json_array_size(stored)) return false;
        for (size_t i = 0; i < json_array_size(sent); i++)
            if (!svc_json_same(json_array_get(sent, i), json_array_get(stored, i), depth - 1)) return false;
        return true;
    }
    if (json_is_object(sent) && json_is_object(stored)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)sent, key, v) {
            if (!svc_json_same(v, json_object_get(stored, key), depth - 1)) return false;
        }
        json_object_foreach((json_t *)stored, key, v) {
            if (json_object_get(sent, key) == NULL && !is_empty(v)) return false;
        }
        return true;
    }
    return json_equal((json_t *)sent, (json_t *)stored);
}

static bool ignored(const char *name, const char *const *ignore) {
    for (size_t i = 0; ignore != NULL && ignore[i] != NULL; i++)
        if (strcmp(ignore[i], name) == 0) return true;
    return false;
}

int svc_check_read_only(const bus_request_t *req, bus_response_t *res, const ProtobufCMessage *stored,
                        const char *const *ignore) {
    const char *text = req->header->read_only_json;
    if (text == NULL || *text == '\0') return 0;
    json_t *sent = pb_json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, NULL);
    json_t *now = pb_to_json(stored);
    int rc = 0;
    if (!json_is_object(sent) || now == NULL) {
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
        rc = -1;
        goto done;
    }
    json_t *version = json_object_get(sent, "version"), *current = json_object_get(now, "version");
    if (version != NULL && !ignored("version", ignore) && !svc_json_same(version, current, PB_JSON_MAX_DEPTH)) {
        /* Sent back stale: the object changed since it was read, exactly
         * what If-Match with that version would have said. */
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION,
                             "the object has changed since that version (it is at version %lld); read it again",
                             (long long)json_integer_value(current));
        rc = -1;
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(sent, key, v) {
        if (ignored(key, ignore) || svc_json_same(v, json_object_get(now, key), PB_JSON_MAX_DEPTH)) continue;
        if (rc == 0) bus_response_problem(res, BUS_PROBLEM_READ_ONLY_FIELD, NULL);
        bus_response_violation(res, key, "is read-only: send it as read, or leave it out");
        rc = -1;
    }
done:
    json_decref(sent);
    json_decref(now);
    return rc;
}
