/* formats — the string formats a field rule may name (lib/pb/rules.h), with
 * the words the services' own checks use (lib/svc/checks.c), so an API client
 * reads the same message whichever refuses a value first. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "pb/rules.h"

static bool is_date(const char *s, size_t n) {
    if (n != 10 || s[4] != '-' || s[7] != '-') return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

static bool is_email(const char *s, size_t n) {
    const char *at = memchr(s, '@', n);
    if (n < 3 || n > 254 || at == NULL || at == s || memchr(at + 1, '@', n - (size_t)(at + 1 - s)) != NULL)
        return false;
    const char *dot = strrchr(at, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0') return false;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)s[i]) || iscntrl((unsigned char)s[i])) return false;
    return true;
}

static bool is_http_url(const char *s, size_t n) {
    if (strncasecmp(s, "https://", 8) != 0 && strncasecmp(s, "http://", 7) != 0) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7F) return false;
    return n > 8;
}

static bool is_language_tag(const char *s, size_t n) {
    size_t i = 0;
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

static bool is_phone(const char *s, size_t n) {
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)s[i])) digits++;
        else if (s[i] == '\0' || strchr(" +()-", s[i]) == NULL) return false;
    }
    return n <= 32 && digits >= 6 && digits <= 15;
}

const char *pb_format_check(pb_format_t f, const char *s, size_t len) {
    switch (f) {
    case PB_FORMAT_DATE: return is_date(s, len) ? NULL : "must be a date, YYYY-MM-DD";
    case PB_FORMAT_UUID: return len == IDS_UUID_LEN && ids_is_uuid(s) ? NULL : "must be a UUID";
    case PB_FORMAT_EMAIL: return is_email(s, len) ? NULL : "must be an email address";
    case PB_FORMAT_HTTP_URL: return is_http_url(s, len) ? NULL : "must be an http(s) URL";
    case PB_FORMAT_LANGUAGE_TAG:
        return is_language_tag(s, len) ? NULL : "must be a BCP 47 language tag such as en, cy or pl";
    case PB_FORMAT_PHONE: return is_phone(s, len) ? NULL : "must be a telephone number";
    case PB_FORMAT_NONE: return NULL;
    }
    return NULL;
}
