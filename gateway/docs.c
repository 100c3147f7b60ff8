#include "gateway/docs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "gateway/problems.h"

#define BUNDLE "redoc.standalone.js"
#define BUNDLE_MAX (16 * 1024 * 1024)

/* Scripts only from this gateway, data only from it: the browser itself
 * refuses any other host. Redoc styles inline and searches in a blob: worker. */
#define CSP                                                                                                  \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; worker-src blob:; connect-src 'self'; " \
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; base-uri 'none'; "            \
    "form-action 'none'; frame-ancestors 'none'\r\n"

static const char page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Parley API</title>\n"
    "<style>body { margin: 0; padding: 0; }</style>\n"
    "</head>\n"
    "<body>\n"
    "<redoc spec-url=\"/v1/openapi.json\" expand-responses=\"200,201\" required-props-first=\"true\""
    " sort-props-alphabetically=\"false\"></redoc>\n"
    "<noscript><p>This page needs JavaScript. The document itself is at "
    "<a href=\"/v1/openapi.json\">/v1/openapi.json</a>.</p></noscript>\n"
    "<script src=\"/docs/" BUNDLE "\"></script>\n"
    "</body>\n"
    "</html>\n";

/* The bundle, read once it is there (a later install is picked up). */
static pthread_mutex_t bundle_lock = PTHREAD_MUTEX_INITIALIZER;
static char *bundle;
static size_t bundle_len;

/* Reads path whole into a new buffer. Returns 0, or -1 when it cannot. */
static int read_file(const char *path, char **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    char *buf = NULL;
    int rc = -1;
    long size;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > BUNDLE_MAX || fseek(f, 0, SEEK_SET) != 0)
        goto cleanup;
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) goto cleanup;
    *out = buf;
    *len = (size_t)size;
    buf = NULL;
    rc = 0;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

/* Whether the bundle is loaded (loading it if it can). */
static bool bundle_ready(void) {
    pthread_mutex_lock(&bundle_lock);
    if (bundle == NULL) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", config_str("PARLEY_DOCS_DIR", DOCS_DIR_DEFAULT), BUNDLE);
        if (read_file(path, &bundle, &bundle_len) != 0) log_warn(NULL, "docs: cannot read %s", path);
    }
    bool ok = bundle != NULL;
    pthread_mutex_unlock(&bundle_lock);
    return ok;
}

/* text as HTML, with `code` spans; appended to out at *n (cap bytes). */
static void append_html(char *out, size_t *n, size_t cap, const char *text) {
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
        if (*n + k >= cap) return;
        memcpy(out + *n, s, k);
        *n += k;
        out[*n] = '\0';
    }
}

static int problems_page(const http_ctx_t *h) {
    size_t cap = 16384, n = 0, count;
    char *out = arena_alloc(h->arena, cap);
    if (out == NULL) return http_problem(h, 500, NULL, NULL, NULL);
    out[0] = '\0';
    n += (size_t)snprintf(out + n, cap - n, "%s",
                          "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                          "<title>Parley API: problem types</title>\n"
                          "<style>body { font-family: sans-serif; max-width: 48rem; margin: 2rem auto; "
                          "line-height: 1.5; padding: 0 1rem; } code { background: #eee; padding: 0 .2rem; }"
                          "</style>\n</head>\n<body>\n<h1>Problem types</h1>\n"
                          "<p>Every error of the <a href=\"/docs\">Parley API</a> is an RFC 9457 "
                          "<code>application/problem+json</code> body whose <code>type</code> is one of the "
                          "addresses below. <code>requestId</code> names the request in the gateway's logs; "
                          "<code>errors</code> lists each invalid field by its JSON path.</p>\n");
    const problem_kind_t *k = problems_table(&count);
    for (size_t i = 0; i < count && n < cap; i++) {
        char slug[64];
        problems_slug(k[i].status, slug, sizeof slug);
        n += (size_t)snprintf(out + n, cap - n, "<section id=\"%s\">\n<h2>%d %s</h2>\n<p><code>/docs/problems#%s</code></p>\n<p>",
                              slug, k[i].status, http_reason(k[i].status), slug);
        if (n >= cap) break;
        append_html(out, &n, cap, k[i].when);
        n += (size_t)snprintf(out + n, cap - n, "</p>\n</section>\n");
    }
    if (n >= cap) return http_problem(h, 500, "the problem types do not fit the page", NULL, NULL);
    n += (size_t)snprintf(out + n, cap - n, "</body>\n</html>\n");
    return http_send(h, 200, "text/html; charset=utf-8", out, strlen(out));
}

bool docs_owns(const char *uri) { return strcmp(uri, "/docs") == 0 || strncmp(uri, "/docs/", 6) == 0; }

int docs_serve(const http_ctx_t *h, const char *method, const char *uri) {
    if (strcmp(method, "GET") != 0) return http_problem(h, 405, NULL, NULL, "Allow: GET\r\n");
    if (strcmp(uri, "/docs/problems") == 0) return problems_page(h);
    bool is_page = strcmp(uri, "/docs") == 0, is_bundle = strcmp(uri, "/docs/" BUNDLE) == 0;
    if (!is_page && !is_bundle) return http_problem(h, 404, "no such page", NULL, NULL);
    if (!bundle_ready())
        return http_problem(h, 503,
                            "the API documentation viewer (Redoc) is not installed: run scripts/install-deps.sh, "
                            "or set PARLEY_DOCS_DIR to the folder that holds " BUNDLE ". The document itself is "
                            "at /v1/openapi.json",
                            NULL, NULL);
    http_ctx_t hx = *h;
    if (is_bundle) return http_send(h, 200, "text/javascript; charset=utf-8", bundle, bundle_len);
    hx.extra_headers = h->extra_headers ? arena_printf(h->arena, "%s%s", h->extra_headers, CSP) : CSP;
    return http_send(&hx, 200, "text/html; charset=utf-8", page, sizeof page - 1);
}
