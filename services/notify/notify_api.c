/* The GOV.UK Notify-compatible provider (contract in notify_api.h). */
#include "services/notify/notify_api.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "pb/pb.h"

/* An answer longer than this is cut (Notify's are well under 4 KiB). */
#define MAX_ANSWER (64 * 1024)
#define MAX_ERROR 300

struct notify_api {
    const notify_api_config_t *cfg;
    CURL *curl;
};

typedef struct {
    char *data;
    size_t len;
    bool cut;
} answer_t;

/* The process's bucket: every sender thread's client takes from it. */
static notify_api_limit_t api_limit = NOTIFY_API_LIMIT_INIT;

bool notify_api_url_allowed(const char *url) {
    if (strncmp(url, "https://", 8) == 0) return url[8] != '\0';
    if (strncmp(url, "http://", 7) != 0) return false;
    /* The host: up to a port, a path, a query or a fragment (an '@' of
     * userinfo is no host character, so "127.0.0.1@elsewhere" is refused). */
    const char *host = url + 7;
    size_t n = strcspn(host, ":/?#");
    if (strncmp(host, "[::1]", 5) == 0) return host[5] == '\0' || strchr(":/?#", host[5]) != NULL;
    if (n == 9 && strncmp(host, "localhost", 9) == 0) return true;
    if (n < 5 || strncmp(host, "127.", 4) != 0) return false;
    for (size_t i = 4; i < n; i++)
        if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9'))) return false;
    return true;
}

notify_api_outcome_t notify_api_status_outcome(const char *status) {
    static const struct {
        const char *word;
        notify_api_outcome_t outcome;
    } map[] = {
        {"delivered", NOTIFY_API_DELIVERED},
        {"created", NOTIFY_API_SENDING},
        {"sending", NOTIFY_API_SENDING},
        {"pending", NOTIFY_API_SENDING},
        {"sent", NOTIFY_API_SENDING}, /* international SMS: sent, no receipt to come */
        {"permanent-failure", NOTIFY_API_PERMANENT},
        {"temporary-failure", NOTIFY_API_TEMPORARY},
        {"technical-failure", NOTIFY_API_TEMPORARY},
        /* letters: printed and posted (received), or refused for good. */
        {"accepted", NOTIFY_API_SENDING},
        {"pending-virus-check", NOTIFY_API_SENDING},
        {"received", NOTIFY_API_DELIVERED},
        {"validation-failed", NOTIFY_API_PERMANENT},
        {"virus-scan-failed", NOTIFY_API_PERMANENT},
        {"cancelled", NOTIFY_API_PERMANENT},
    };
    for (size_t i = 0; status && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(status, map[i].word) == 0) return map[i].outcome;
    return NOTIFY_API_SENDING;
}

notify_api_outcome_t notify_api_http_outcome(long code) {
    if (code >= 200 && code < 300) return NOTIFY_API_SENDING;
    if (code == 0 || code == 429 || code >= 500) return NOTIFY_API_TEMPORARY;
    return NOTIFY_API_PERMANENT;
}

int64_t notify_api_bucket_take(notify_api_bucket_t *b, int64_t now_ms) {
    double cap = b->rate < 1 ? 1 : b->rate;
    if (b->at_ms == 0) b->tokens = cap;
    if (b->at_ms == 0 || now_ms < b->at_ms) b->at_ms = now_ms;
    b->tokens += (double)(now_ms - b->at_ms) * b->rate / 1000.0;
    if (b->tokens > cap) b->tokens = cap;
    b->at_ms = now_ms;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    return (int64_t)((1 - b->tokens) * 1000.0 / b->rate) + 1;
}

void notify_api_limit_wait(notify_api_limit_t *l, double rate) {
    if (rate <= 0) return;
    for (;;) {
        pthread_mutex_lock(&l->lock);
        l->bucket.rate = rate;
        int64_t wait = notify_api_bucket_take(&l->bucket, clock_mono_ms());
        pthread_mutex_unlock(&l->lock);
        if (wait <= 0) return;
        struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

notify_api_t *notify_api_new(const notify_api_config_t *cfg) {
    notify_api_t *self = calloc(1, sizeof *self);
    if (self == NULL) return NULL;
    self->cfg = cfg;
    if ((self->curl = curl_easy_init()) == NULL) {
        free(self);
        return NULL;
    }
    return self;
}

void notify_api_destroy(notify_api_t **self) {
    if (self == NULL || *self == NULL) return;
    curl_easy_cleanup((*self)->curl);
    free(*self);
    *self = NULL;
}

static size_t keep(char *data, size_t size, size_t n, void *arg) {
    answer_t *ans = arg;
    size_t len = size * n, room = MAX_ANSWER - ans->len;
    if (len > room) ans->cut = true;
    size_t take = len > room ? room : len;
    if (take) {
        char *grown = realloc(ans->data, ans->len + take + 1);
        if (grown == NULL) return 0;
        memcpy(grown + ans->len, data, take);
        ans->data = grown;
        ans->len += take;
        ans->data[ans->len] = '\0';
    }
    return len;
}

/* Notify's error answer {"status_code", "errors": [{"error", "message"}]}
 * as "403 AuthError: Invalid token: ..." (the first error). */
static const char *error_text(arena_t *a, long code, json_t *body) {
    json_t *first = json_array_get(json_object_get(body, "errors"), 0);
    const char *kind = json_string_value(json_object_get(first, "error"));
    const char *message = json_string_value(json_object_get(first, "message"));
    if (kind == NULL && message == NULL) return arena_printf(a, "Notify API %ld", code);
    return arena_printf(a, "Notify API %ld %.50s: %.*s", code, kind ? kind : "error", MAX_ERROR,
                        message ? message : "");
}

/* One request, method POST when body is not NULL (a JSON object, taken),
 * else GET, to path under the API's URL; *code the HTTP status (0: no
 * answer, *error then says why), *reply the answer's JSON (the caller
 * decrefs; NULL when it is not JSON). */
static void request(notify_api_t *self, arena_t *a, const char *path, json_t *body, long *code, json_t **reply,
                    const char **error) {
    const notify_api_config_t *cfg = self->cfg;
    CURL *c = self->curl;
    char token[JWT_MAX];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    *code = 0;
    *reply = NULL;
    *error = NULL;
    if ((body && text == NULL) || jwt_token(&cfg->key, (int64_t)time(NULL), token, sizeof token) != 0) {
        free(text);
        *error = "the request cannot be made (out of memory)";
        return;
    }
    notify_api_limit_wait(&api_limit, cfg->rate);
    struct curl_slist *h = NULL, *grown;
    const char *lines[] = {arena_printf(a, "Authorization: Bearer %s", token), "Content-Type: application/json",
                           "Accept: application/json", "User-Agent: parley-notify"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (lines[i] == NULL || (grown = curl_slist_append(h, lines[i])) == NULL) {
            curl_slist_free_all(h);
            free(text);
            *error = "the request cannot be made (out of memory)";
            return;
        }
        h = grown;
    }
    answer_t ans = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, arena_printf(a, "%s%s", cfg->url, path));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms < 5000 ? cfg->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
    if (text) curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    else *error = arena_printf(a, "Notify API: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    free(text);
    if (ans.data && !ans.cut) *reply = pb_json_loadb(ans.data, ans.len, 0, NULL);
    free(ans.data);
    if (*code != 0 && (*code < 200 || *code >= 300)) *error = error_text(a, *code, *reply);
}

/* A POST's answer: Notify's id of what it took, or the failure. */
static notify_api_outcome_t sent(arena_t *a, long code, json_t *reply, char **provider_id, const char **error) {
    notify_api_outcome_t out = notify_api_http_outcome(code);
    const char *id = json_string_value(json_object_get(reply, "id"));
    if (out == NOTIFY_API_SENDING && (id == NULL || *id == '\0' || strlen(id) > 100)) {
        /* Taken, perhaps, but with no id to follow: sending again may send twice, so say so. */
        *error = arena_printf(a, "Notify API %ld: the answer has no notification id", code);
        out = NOTIFY_API_TEMPORARY;
    } else if (out == NOTIFY_API_SENDING) {
        *provider_id = arena_strdup(a, id);
    }
    json_decref(reply);
    return out;
}

notify_api_outcome_t notify_api_send_sms(notify_api_t *self, arena_t *a, const char *phone, const char *text,
                                         const char *reference, char **provider_id, const char **error) {
    json_t *body = json_pack("{s:s, s:s, s:{s:s}, s:s}", "phone_number", phone, "template_id",
                             self->cfg->sms_template, "personalisation", "body", text, "reference", reference);
    long code;
    json_t *reply;
    request(self, a, "/v2/notifications/sms", body, &code, &reply, error);
    return sent(a, code, reply, provider_id, error);
}

notify_api_outcome_t notify_api_send_email(notify_api_t *self, arena_t *a, const char *address, const char *subject,
                                           const char *body_text, const char *reference, char **provider_id,
                                           const char **error) {
    json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "email_address", address, "template_id",
                             self->cfg->email_template, "personalisation", "subject", subject, "body", body_text,
                             "reference", reference);
    long code;
    json_t *reply;
    request(self, a, "/v2/notifications/email", body, &code, &reply, error);
    return sent(a, code, reply, provider_id, error);
}

notify_api_outcome_t notify_api_send_letter(notify_api_t *self, arena_t *a, const char *pdf_base64,
                                            const char *reference, char **provider_id, const char **error) {
    json_t *body = json_pack("{s:s, s:s}", "reference", reference, "content", pdf_base64);
    long code;
    json_t *reply;
    request(self, a, "/v2/notifications/letter", body, &code, &reply, error);
    return sent(a, code, reply, provider_id, error);
}

notify_api_outcome_t notify_api_poll(notify_api_t *self, arena_t *a, const char *provider_id, const char **status,
                                     const char **error) {
    long code;
    json_t *reply;
    *status = NULL;
    char *escaped = curl_easy_escape(self->curl, provider_id, 0);
    if (escaped == NULL) {
        *error = "out of memory";
        return NOTIFY_API_UNREAD;
    }
    const char *path = arena_printf(a, "/v2/notifications/%s", escaped);
    curl_free(escaped);
    request(self, a, path, NULL, &code, &reply, error);
    const char *word = json_string_value(json_object_get(reply, "status"));
    notify_api_outcome_t out = NOTIFY_API_UNREAD;
    if (code >= 200 && code < 300 && word) {
        *status = arena_strdup(a, word);
        out = notify_api_status_outcome(word);
        if (out == NOTIFY_API_PERMANENT || out == NOTIFY_API_TEMPORARY)
            *error = arena_printf(a, "Notify: %.40s", word);
    } else if (code >= 200 && code < 300) {
        *error = arena_printf(a, "Notify API %ld: the answer has no status", code);
    }
    json_decref(reply);
    return out;
}
