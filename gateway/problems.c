#include "gateway/problems.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bus/problems.h"
#include "gateway/http.h"

static const problem_kind_t kinds[] = {
    {400, "The request is not valid: malformed JSON, an unknown or read-only field, a value of the wrong type, "
          "a bad enum word or a missing required value. `errors` names each field by its JSON path "
          "(`parents[0].email`) with a message; nothing was stored."},
    {401, "No API key was sent, or the key is not valid (unknown, malformed or revoked). The answer carries "
          "`WWW-Authenticate: Bearer`."},
    {403, "The API client's roles do not admit this route."},
    {404, "No such route, or no such object among those of the authorities this API client serves. An object of "
          "another authority is indistinguishable from one that does not exist."},
    {405, "The path exists but not with this method; `Allow` lists the methods it has."},
    {408, "The body did not all arrive within the gateway's body deadline (`PARLEY_HTTP_BODY_TIMEOUT_MS`); "
          "nothing was done, and the connection is closed."},
    {409, "The request conflicts with the state of the object, or a request with the same `Idempotency-Key` is "
          "still in flight: try again once it has finished."},
    {412, "`If-Match` names a version that is no longer current: read the object again (its `ETag`) and reapply "
          "the change."},
    {413, "The body is larger than 1 MiB."},
    {415, "The body is not `application/json` (optionally with `charset=utf-8`)."},
    {422, "The `Idempotency-Key` was used before with a different body."},
    {428, "The change needs `If-Match` with the `ETag` last read (a leaflet's or an agency's PATCH): nothing "
          "was changed."},
    {429, "The API client is over its rate limit; `Retry-After` says how many seconds to wait."},
    {431, "The request has more than 64 header lines; the connection is closed."},
    {500, "Something failed inside Parley. The `requestId` lets an operator find what happened in the logs."},
    {501, "The route is known but its service does not implement it yet."},
    {503, "A service, the message bus, PostgreSQL or Redis cannot answer right now; nothing was lost. Retry after "
          "`Retry-After` seconds."},
    {504, "A service did not answer before the request's deadline; its effect, if any, is unknown: repeat a POST "
          "with the same `Idempotency-Key` to find out safely."},
};

const problem_kind_t *problems_table(size_t *n) {
    *n = sizeof kinds / sizeof kinds[0];
    return kinds;
}

const problem_kind_t *problems_find(int status) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].status == status) return &kinds[i];
    return NULL;
}

/* The same rule http_problem applies to the reason phrase. */
const char *problems_slug(int status, char *buf, size_t cap) {
    if (cap == 0) return buf;
    const char *title = http_reason(status);
    size_t n = 0;
    for (; title[n] != '\0' && n + 1 < cap; n++)
        buf[n] = title[n] == ' ' ? '-' : (char)tolower((unsigned char)title[n]);
    buf[n] = '\0';
    return buf;
}

/* text as HTML, with `code` spans; appended to out at *n (cap bytes).
 * Returns false when it did not fit. */
static bool append_html(char *out, size_t *n, size_t cap, const char *text) {
    bool code = false;
    for (const char *p = text; *p != '\0'; p++) {
        const char *s = NULL;
        char one[2] = {*p, '\0'};
        switch (*p) {
        case '<': s = "&lt;"; break;
        case '>': s = "&gt;"; break;
        case '&': s = "&amp;"; break;
        case '"': s = "&quot;"; break;
        case '`': s = (code = !code) ? "<code>" : "</code>"; break;
        default: s = one;
        }
        size_t k = strlen(s);
        if (*n + k >= cap) return false;
        memcpy(out + *n, s, k);
        *n += k;
        out[*n] = '\0';
    }
    return true;
}

/* Appends formatted text; false when it did not fit. */
static bool append(char *out, size_t *n, size_t cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool append(char *out, size_t *n, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *n) return false;
    *n += (size_t)k;
    return true;
}

char *problems_html(arena_t *a, size_t *len) {
    size_t cap = 65536, n = 0, count, n_codes;
    char *out = arena_alloc(a, cap);
    if (out == NULL) return NULL;
    out[0] = '\0';
    bool ok = append(out, &n, cap, "%s",
                     "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<title>Parley API: problem types</title>\n"
                     "<style>body { font-family: sans-serif; max-width: 48rem; margin: 2rem auto; "
                     "line-height: 1.5; padding: 0 1rem; } code { background: #eee; padding: 0 .2rem; } "
                     "dt { margin-top: .6rem; }</style>\n</head>\n<body>\n<h1>Problem types</h1>\n"
                     "<p>Every error of the <a href=\"/docs\">Parley API</a> is an RFC 9457 "
                     "<code>application/problem+json</code> body whose <code>type</code> is one of the "
                     "addresses below, by HTTP status. Its <code>code</code> names the cause, a stable word a "
                     "program can act on: each is listed under its status, with what it means. "
                     "<code>detail</code> says the same in words; <code>requestId</code> names the request in the "
                     "gateway's logs; <code>errors</code> lists each invalid field by its JSON path.</p>\n");
    const problem_kind_t *k = problems_table(&count);
    const bus_problem_info_t *codes = bus_problems(&n_codes);
    /* Every status a kind or a cause has, in order: a status no kind
     * explains is explained by its generic cause. */
    int statuses[64];
    size_t n_statuses = 0;
    for (size_t i = 0; i < count + n_codes; i++) {
        int st = i < count ? k[i].status : codes[i - count].http;
        size_t at = 0;
        while (at < n_statuses && statuses[at] < st) at++;
        if ((at < n_statuses && statuses[at] == st) || n_statuses == sizeof statuses / sizeof statuses[0]) continue;
        memmove(statuses + at + 1, statuses + at, (n_statuses - at) * sizeof statuses[0]);
        statuses[at] = st;
        n_statuses++;
    }
    for (size_t i = 0; i < n_statuses && ok; i++) {
        int st = statuses[i];
        const problem_kind_t *kind = problems_find(st);
        const bus_problem_info_t *generic = bus_problem_default(st);
        const char *when = kind ? kind->when : generic ? generic->meaning : http_reason(st);
        char slug[64];
        problems_slug(st, slug, sizeof slug);
        ok = append(out, &n, cap, "<section id=\"%s\">\n<h2>%d %s</h2>\n<p><code>/docs/problems#%s</code></p>\n<p>",
                    slug, st, http_reason(st), slug) &&
             append_html(out, &n, cap, when) && append(out, &n, cap, "</p>\n<dl>\n");
        for (size_t c = 0; c < n_codes && ok; c++) {
            if (codes[c].http != st) continue;
            ok = append(out, &n, cap, "<dt id=\"%s\"><code>%s</code>%s</dt>\n<dd>", codes[c].word, codes[c].word,
                        codes[c].is_default ? " (when nothing more specific applies)" : "") &&
                 append_html(out, &n, cap, codes[c].meaning) && append(out, &n, cap, "</dd>\n");
        }
        ok = ok && append(out, &n, cap, "</dl>\n</section>\n");
    }
    ok = ok && append(out, &n, cap, "</body>\n</html>\n");
    if (!ok) return NULL;
    *len = n;
    return out;
}
