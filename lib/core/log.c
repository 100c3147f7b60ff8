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

void log_init(const char *service) {
    log_service = service;
    const char *lvl = getenv("PARLEY_LOG_LEVEL");
    if (lvl == NULL) return;
    if (strcasecmp(lvl, "debug") == 0) log_min = LOG_LEVEL_DEBUG;
    else if (strcasecmp(lvl, "warn") == 0) log_min = LOG_LEVEL_WARN;
    else if (strcasecmp(lvl, "error") == 0) log_min = LOG_LEVEL_ERROR;
}

void log_set_level(log_level_t level) { log_min = level; }

/* Appends s to out as JSON string content, truncating to fit. */
static size_t json_escape(char *out, size_t cap, const char *s) {
    size_t n = 0;
    for (; *s != '\0' && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
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
            when, ts.tv_nsec / 1000000, names[level], log_service, (int)getpid(),
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
