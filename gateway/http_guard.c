#include "gateway/http_guard.h"

#include <civetweb.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Headers the gateway acts on: a second copy would be a guess at which one
 * a proxy in front used. */
static const char *const single[] = {"Host",         "Content-Length",  "Transfer-Encoding", "Authorization",
                                     "Content-Type", "Idempotency-Key", "X-Request-Id",      "Origin"};
/* (If-Match is a list: its lines combine, RFC 9110 §5.3; gateway/dispatch.c.) */

static http_guard_t refuse(int status, const char *detail) { return (http_guard_t){status, detail}; }

/* CivetWeb's parser, on "Name: value\r\n", writes NUL over the colon (and
 * over any spaces before it) and over the CR and LF, so that the name and the
 * value are strings in place. In the bytes from the end of the name to the
 * value, then, a well-formed line has exactly one NUL (the colon) and only
 * spaces or tabs after it. */
static bool name_ends_at_colon(const struct mg_header *hd) {
    const char *p = hd->name + strlen(hd->name);
    if (hd->value < p || hd->value - p > 8192) return false; /* not the layout we know: refuse */
    int nuls = 0;
    for (; p < hd->value; p++) {
        if (*p == '\0') nuls++;
        else if (*p != ' ' && *p != '\t') return false;
    }
    return nuls == 1;
}

/* After a line's last string (the version on the request line, a header's
 * value) come its CR and LF, both NUL now: the next line starts two bytes on.
 * A bare LF, a folded line or a NUL inside a line breaks that. */
static const char *next_line(const char *last) { return last + strlen(last) + 2; }

static bool crlf_after(const char *last) {
    const char *e = last + strlen(last);
    return e[0] == '\0' && e[1] == '\0';
}

/* The length of s without trailing spaces and tabs (optional whitespace). */
static size_t trimmed_len(const char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return n;
}

static bool all_digits(const char *s) {
    size_t n = trimmed_len(s);
    if (n == 0 || n > 18) return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

http_guard_t http_guard_check(const struct mg_request_info *ri) {
    int n = ri->num_headers;
    bool http11 = ri->http_version != NULL && strcmp(ri->http_version, "1.1") == 0;
    if (ri->http_version == NULL || !crlf_after(ri->http_version))
        return refuse(400, "the request line must end in CRLF");
    if (n == 0) return http11 ? refuse(400, "HTTP/1.1 requires a Host header") : refuse(0, NULL);
    if (ri->http_headers[0].name != next_line(ri->http_version))
        return refuse(400, "a header line is malformed (folded, or not ending in CRLF)");
    for (int i = 0; i < n; i++) {
        const struct mg_header *hd = &ri->http_headers[i];
        if (!name_ends_at_colon(hd)) return refuse(400, "a header name is followed by whitespace before its colon");
        if (!crlf_after(hd->value)) return refuse(400, "a header line does not end in CRLF");
        const char *next = next_line(hd->value);
        if (i + 1 < n && ri->http_headers[i + 1].name != next)
            return refuse(400, "a header line is malformed (folded, or not ending in CRLF)");
        /* After the last header, the blank line: its CR (its LF is NUL). */
        if (i + 1 == n && next[0] != '\r')
            return n == MG_MAX_HEADERS ? refuse(431, "more than 64 request headers")
                                       : refuse(400, "a header line is malformed");
    }
    int host = 0, cl = 0, te = 0;
    for (int i = 0; i < n; i++) {
        const struct mg_header *hd = &ri->http_headers[i];
        for (size_t k = 0; k < sizeof single / sizeof single[0]; k++) {
            if (strcasecmp(hd->name, single[k]) != 0) continue;
            for (int j = i + 1; j < n; j++)
                if (strcasecmp(ri->http_headers[j].name, single[k]) == 0)
                    return refuse(400, "a header the gateway acts on is repeated");
        }
        if (strcasecmp(hd->name, "Host") == 0) host++;
        if (strcasecmp(hd->name, "Content-Length") == 0) {
            cl++;
            if (!all_digits(hd->value)) return refuse(400, "Content-Length must be a number of bytes");
        }
        if (strcasecmp(hd->name, "Transfer-Encoding") == 0) {
            te++;
            if (trimmed_len(hd->value) != 7 || strncasecmp(hd->value, "chunked", 7) != 0)
                return refuse(501, "the only transfer coding accepted is chunked");
        }
    }
    if (http11 && host == 0) return refuse(400, "HTTP/1.1 requires a Host header");
    if (cl > 0 && te > 0) return refuse(400, "a request may not have both Content-Length and Transfer-Encoding");
    return refuse(0, NULL);
}

int http_guard_has_body(const struct mg_request_info *ri) {
    if (ri->content_length > 0) return 1;
    for (int i = 0; i < ri->num_headers; i++)
        if (strcasecmp(ri->http_headers[i].name, "Transfer-Encoding") == 0) return 1;
    return 0;
}
