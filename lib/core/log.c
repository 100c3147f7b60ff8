#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_service = "parley";
static log_level_t log_min = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_pid; /* read once: a getpid per line is a system call per line */

void log_init(const char *service) {
    log_service = service;
    log_pid = (int)getpid();
    const char *lvl = getenv("PARLEY_LOG_LEVEL");
    if (lvl == NULL) return;
    if (strcasecmp(lvl, "debug") == 0) log_min = LOG_LEVEL_DEBUG;
    else if (strcasecmp(lvl, "warn") == 0) log_min = LOG_LEVEL_WARN;
    else if (strcasecmp(lvl, "error") == 0) log_min = LOG_LEVEL_ERROR;
}

void log_set_level(log_level_t level) { log_min = level; }

/* The length of the well-formed UTF-8 sequence at s (1..4), or 0 when the
 * bytes there are not one (overlong, a surrogate, past U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s) {
    if (s[0] < 0x80) return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
    if (n == 0 || s[0] >= 0xf8) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0) return 0;  /* overlong */
    if (n == 3 && s[0] == 0xed && s[1] >= 0xa0) return 0; /* surrogate */
    if (n == 4 && s[0] == 0xf0 && s[1] < 0x90) return 0;  /* overlong */
    if (n == 4 && s[0] == 0xf4 && s[1] >= 0x90) return 0; /* past U+10FFFF */
    return n;
}

/* Appends s to out as JSON string content, truncating to fit. Bytes that are
 * not UTF-8 become U+FFFD, so a line is always valid JSON whatever a client
 * put in a URI. */
static size_t json_escape(char *out, size_t cap, const char *s) {
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0' && n + 7 < cap) {
        unsigned char c = *p;
        size_t k = utf8_len(p);
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else if (k == 0) {
            n += (size_t)snprintf(out + n, cap - n, "\\ufffd");
            k = 1;
        } else if (k > 1) {
            memcpy(out + n, p, k);
            n += k;
        } else {
            out[n++] = (char)c;
        }
        p += k ? k : 1;
    }
    out[n] = '\0';
    return n;
}

static void log_line(log_level_t level, const char *request_id, const char *client_request_id, const char *fmt,
                     va_list ap) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_min) return;
    char msg[1024], emsg[2048], erid[160] = "", ecrid[200] = "";
    vsnprintf(msg, sizeof msg, fmt, ap);
    json_escape(emsg, sizeof emsg, msg);
    if (request_id != NULL) json_escape(erid, sizeof erid, request_id);
    if (client_request_id != NULL) {
        char v[160];
        json_escape(v, sizeof v, client_request_id);
        snprintf(ecrid, sizeof ecrid, ",\"clientRequestId\":\"%s\"", v);
    }

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    pthread_mutex_lock(&log_lock);
    fprintf(stderr,
            "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"service\":\"%s\",\"pid\":%d%s%s%s%s,\"msg\":\"%s\"}\n",
            when, ts.tv_nsec / 1000000, names[level], log_service, log_pid ? log_pid : (int)getpid(),
            request_id ? ",\"requestId\":\"" : "", request_id ? erid : "", request_id ? "\"" : "", ecrid, emsg);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

void log_write(log_level_t level, const char *request_id, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(level, request_id, NULL, fmt, ap);
    va_end(ap);
}

void log_request(log_level_t level, const char *request_id, const char *client_request_id, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(level, request_id, client_request_id, fmt, ap);
    va_end(ap);
}
