/* Field checks for service-side validation. */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/ids.h"
#include "svc/svc.h"

static bool empty(const char *s) { return s == NULL || *s == '\0'; }

bool svc_check_required(bus_response_t *res, const char *field, const char *value) {
    if (!empty(value)) return true;
    bus_response_violation(res, field, "is required");
    return false;
}

bool svc_check_max_len(bus_response_t *res, const char *field, const char *value, size_t max) {
    if (empty(value) || strlen(value) <= max) return true;
    bus_response_violation(res, field, "must be at most %zu characters", max);
    return false;
}

bool svc_check_uuid(bus_response_t *res, const char *field, const char *value, bool required) {
    if (empty(value)) return required ? svc_check_required(res, field, value) : true;
    if (ids_is_uuid(value)) return true;
    bus_response_violation(res, field, "must be a UUID");
    return false;
}

bool svc_check_distinct(bus_response_t *res, const char *field, char *const *items, size_t n, size_t max) {
    bool ok = true;
    if (n > max) n = max;
    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (items[i] == NULL || items[j] == NULL || strcasecmp(items[i], items[j]) != 0) continue;
            bus_response_violation(res, arena_printf(res->arena, "%s[%zu]", field, i), "repeats %s[%zu]", field, j);
            ok = false;
            break;
        }
    }
    return ok;
}

bool svc_is_email(const char *s) {
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > 254 || at == NULL || at == s || strchr(at + 1, '@') != NULL) return false;
    const char *dot = strrchr(at, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0') return false;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) return false;
    return true;
}

bool svc_check_email(bus_response_t *res, const char *field, const char *value) {
    if (empty(value) || svc_is_email(value)) return true;
    bus_response_violation(res, field, "must be an email address");
    return false;
}

bool svc_check_phone(bus_response_t *res, const char *field, const char *value) {
    if (empty(value)) return true;
    size_t digits = 0, n = strlen(value);
    for (const char *p = value; *p; p++) {
        if (isdigit((unsigned char)*p)) digits++;
        else if (strchr(" +()-", *p) == NULL) digits = 100;
    }
    if (n <= 32 && digits >= 6 && digits <= 15) return true;
    bus_response_violation(res, field, "must be a telephone number");
    return false;
}

/* BCP 47, as far as a caseworker's input needs: a 2-3 letter language, then
 * subtags of 1-8 letters or digits ("en", "cy", "pt-BR", "sr-Latn-RS"). */
bool svc_is_language_tag(const char *s) {
    size_t i = 0, n = strlen(s);
    while (i < n && isalpha((unsigned char)s[i])) i++;
    if (i < 2 || i > 3) return false;
    while (i < n) {
        if (s[i] != '-') return false;
        size_t start = ++i;
        while (i < n && isalnum((unsigned char)s[i])) i++;
        if (i - start < 1 || i - start > 8) return false;
    }
    return n <= 35;
}

bool svc_check_language(bus_response_t *res, const char *field, const char *value) {
    if (empty(value) || svc_is_language_tag(value)) return true;
    bus_response_violation(res, field, "must be a BCP 47 language tag such as en, cy or pl");
    return false;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool svc_parse_date(const char *s, int64_t *days) {
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap)) return false;
    if (days != NULL) *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return true;
}

int64_t svc_today_days(void) { return (int64_t)time(NULL) / 86400; }

bool svc_check_date(bus_response_t *res, const char *field, const char *value, bool required, int64_t *days_out) {
    if (empty(value)) return required ? svc_check_required(res, field, value) : true;
    if (svc_parse_date(value, days_out)) return true;
    bus_response_violation(res, field, "must be a date, YYYY-MM-DD");
    return false;
}
