#include "services/notify/smtp.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "services/notify/render.h"

struct smtp {
    const smtp_config_t *cfg;
    CURL *curl;
};

/* Whether host (len bytes, IPv6 without its brackets) is loopback. */
static bool loopback(const char *host, size_t len) {
    char text[64];
    if (len == 0 || len >= sizeof text) return false;
    memcpy(text, host, len);
    text[len] = '\0';
    if (strcasecmp(text, "localhost") == 0) return true;
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, text, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

int smtp_tls_for(const char *url, const char *setting, bool *starttls) {
    const char *rest;
    if (strncasecmp(url, "smtps://", 8) == 0) rest = NULL;
    else if (strncasecmp(url, "smtp://", 7) == 0) rest = url + 7;
    else return -1;
    bool required = strcmp(setting, "required") == 0, off = strcmp(setting, "off") == 0;
    if (!required && !off && *setting != '\0') return -1;
    if (rest == NULL) {
        *starttls = false;
        return 0;
    }
    /* The authority: [userinfo@]host[:port], up to the path. */
    size_t end = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', end);
    const char *host = at ? at + 1 : rest;
    size_t n = end - (size_t)(host - rest);
    size_t len;
    if (n > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', n);
        if (close == NULL) return -1;
        host++;
        len = (size_t)(close - host);
    } else {
        const char *colon = memchr(host, ':', n);
        len = colon ? (size_t)(colon - host) : n;
    }
    *starttls = required || (!off && !loopback(host, len));
    return 0;
}

smtp_t *smtp_new(const smtp_config_t *cfg) {
    smtp_t *self = calloc(1, sizeof *self);
    if (self == NULL) return NULL;
    self->cfg = cfg;
    if ((self->curl = curl_easy_init()) == NULL) {
        free(self);
        return NULL;
    }
    return self;
}

void smtp_destroy(smtp_t **self) {
    if (self == NULL || *self == NULL) return;
    curl_easy_cleanup((*self)->curl);
    free(*self);
    *self = NULL;
}

/* Whether s may go into a header as it is: no CR, LF or other control. */
static bool header_safe(const char *s) { return s != NULL && !render_has_control(s); }

static struct curl_slist *add(struct curl_slist *list, const char *line, bool *failed) {
    struct curl_slist *grown = line ? curl_slist_append(list, line) : NULL;
    if (grown == NULL) *failed = true;
    return grown ? grown : list;
}

/* The mail's headers, or NULL (with *error) when one cannot be made safely. */
static struct curl_slist *headers(const smtp_config_t *cfg, arena_t *a, const smtp_mail_t *m, const char **error) {
    if (!header_safe(m->to) || !header_safe(m->subject) || !header_safe(m->id) || !header_safe(m->category) ||
        !header_safe(m->language)) {
        *error = "a header value holds a line break";
        return NULL;
    }
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *domain = strchr(cfg->from, '@') ? strchr(cfg->from, '@') + 1 : "parley.invalid";
    bool failed = false;
    struct curl_slist *h = NULL;
    h = add(h, date, &failed);
    h = add(h, arena_printf(a, "From: %s <%s>", render_header_text(a, cfg->from_name), cfg->from), &failed);
    h = add(h, arena_printf(a, "To: <%s>", m->to), &failed);
    h = add(h, arena_printf(a, "Subject: %s", render_header_text(a, m->subject)), &failed);
    h = add(h, arena_printf(a, "Message-ID: <%s@%s>", m->id, domain), &failed);
    /* So a mail client and a screen reader read it in its language. */
    h = add(h, arena_printf(a, "Content-Language: %s", m->language), &failed);
    if (!m->critical)
        h = add(h, arena_printf(a, "List-Unsubscribe: <mailto:%s?subject=unsubscribe%%20%s>", cfg->unsubscribe,
                                m->category), &failed);
    if (failed) {
        curl_slist_free_all(h);
        *error = "out of memory";
        return NULL;
    }
    return h;
}

static bool text_part(curl_mime *mime, const char *data, const char *type) {
    curl_mimepart *part = curl_mime_addpart(mime);
    return part && curl_mime_data(part, data, CURL_ZERO_TERMINATED) == CURLE_OK &&
           curl_mime_type(part, type) == CURLE_OK && curl_mime_encoder(part, "quoted-printable") == CURLE_OK;
}

/* Whether the method may go into a Content-Type: REQUEST or CANCEL. */
static bool itip_method(const char *method) {
    return method != NULL && (strcmp(method, "REQUEST") == 0 || strcmp(method, "CANCEL") == 0);
}

/* An invitation's body: the text (and HTML) with the iCalendar as a third
 * alternative, then the iCalendar again as an attachment. */
static curl_mime *invitation(CURL *c, arena_t *a, const smtp_mail_t *m) {
    curl_mime *mime = curl_mime_init(c), *alt = mime ? curl_mime_init(c) : NULL;
    const char *type = arena_printf(a, "text/calendar; method=%s; charset=UTF-8", m->calendar_method);
    bool ok = alt && type && text_part(alt, m->text, "text/plain; charset=utf-8") &&
              (m->html == NULL || *m->html == '\0' || text_part(alt, m->html, "text/html; charset=utf-8"));
    curl_mimepart *cal = ok ? curl_mime_addpart(alt) : NULL;
    ok = cal && curl_mime_data(cal, m->calendar, CURL_ZERO_TERMINATED) == CURLE_OK &&
         curl_mime_type(cal, type) == CURLE_OK && curl_mime_encoder(cal, "base64") == CURLE_OK;
    curl_mimepart *part = ok ? curl_mime_addpart(mime) : NULL;
    if (part && curl_mime_subparts(part, alt) == CURLE_OK) {
        alt = NULL; /* the part owns it now */
        bool typed = curl_mime_type(part, "multipart/alternative") == CURLE_OK;
        curl_mimepart *file = typed ? curl_mime_addpart(mime) : NULL;
        if (file && curl_mime_data(file, m->calendar, CURL_ZERO_TERMINATED) == CURLE_OK &&
            curl_mime_type(file, arena_printf(a, "application/ics; method=%s", m->calendar_method)) == CURLE_OK &&
            curl_mime_filename(file, "invite.ics") == CURLE_OK && curl_mime_encoder(file, "base64") == CURLE_OK)
            return mime;
    }
    curl_mime_free(alt);
    curl_mime_free(mime);
    return NULL;
}

/* The body: the text alone, or text and HTML as alternatives; an
 * invitation's as invitation() makes it. */
static curl_mime *body(CURL *c, arena_t *a, const smtp_mail_t *m) {
    if (m->calendar != NULL) return itip_method(m->calendar_method) ? invitation(c, a, m) : NULL;
    curl_mime *mime = curl_mime_init(c);
    if (mime == NULL) return NULL;
    if (m->html == NULL || *m->html == '\0') {
        if (text_part(mime, m->text, "text/plain; charset=utf-8")) return mime;
    } else {
        curl_mime *alt = curl_mime_init(c);
        curl_mimepart *part = alt ? curl_mime_addpart(mime) : NULL;
        bool ok = alt && text_part(alt, m->text, "text/plain; charset=utf-8") &&
                  text_part(alt, m->html, "text/html; charset=utf-8");
        if (ok && part && curl_mime_subparts(part, alt) == CURLE_OK) {
            if (curl_mime_type(part, "multipart/alternative") == CURLE_OK) return mime;
        } else {
            curl_mime_free(alt);
        }
    }
    curl_mime_free(mime);
    return NULL;
}

smtp_outcome_t smtp_send(smtp_t *self, arena_t *a, const smtp_mail_t *m, const char **error) {
    const smtp_config_t *cfg = self->cfg;
    CURL *c = self->curl;
    *error = NULL;
    struct curl_slist *h = headers(cfg, a, m, error);
    if (h == NULL) return SMTP_PERMANENT;
    struct curl_slist *rcpt = curl_slist_append(NULL, m->to);
    curl_mime *mime = body(c, a, m);
    if (rcpt == NULL || mime == NULL) {
        curl_slist_free_all(h);
        curl_slist_free_all(rcpt);
        curl_mime_free(mime);
        *error = "the message cannot be made";
        return SMTP_TEMPORARY;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, cfg->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* STARTTLS when required: no falling back to plain text, and the
     * server's certificate verified (curl's default). */
    curl_easy_setopt(c, CURLOPT_USE_SSL, cfg->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms < 5000 ? cfg->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, arena_printf(a, "<%s>", cfg->from));
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_slist_free_all(rcpt);
    curl_mime_free(mime);
    if (rc == CURLE_OK) return SMTP_SENT;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    *error = code ? arena_printf(a, "SMTP %ld: %s", code, why) : arena_printf(a, "SMTP: %s", why);
    return code >= 500 && code < 600 ? SMTP_PERMANENT : SMTP_TEMPORARY;
}
