/* log — one JSON object a line on stderr.
 *
 * Every line carries ts, level, service, pid and msg; a request id when one is
 * given. Never log a secret, an API key or a child's personal data: log ids.
 */
#ifndef PARLEY_CORE_LOG_H
#define PARLEY_CORE_LOG_H

typedef enum { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;

/* Names the process in every line ("gateway", "intake", ...). The string is
 * borrowed and must outlive the process's logging. */
void log_init(const char *service);

/* Lines below this level are dropped (PARLEY_LOG_LEVEL: debug|info|warn|error). */
void log_set_level(log_level_t level);

/* Writes one line. request_id may be NULL. fmt is a printf format whose
 * result becomes the JSON-escaped "msg". */
void log_write(log_level_t level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As log_write, with the X-Request-Id a client sent (already validated by
 * the caller) as a field of its own, "clientRequestId", when not NULL. */
void log_request(log_level_t level, const char *request_id, const char *client_request_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(rid, ...) log_write(LOG_LEVEL_DEBUG, (rid), __VA_ARGS__)
#define log_info(rid, ...) log_write(LOG_LEVEL_INFO, (rid), __VA_ARGS__)
#define log_warn(rid, ...) log_write(LOG_LEVEL_WARN, (rid), __VA_ARGS__)
#define log_error(rid, ...) log_write(LOG_LEVEL_ERROR, (rid), __VA_ARGS__)

#endif
