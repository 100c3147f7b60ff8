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

static int problems_page(const http_ctx_t *h) {
    size_t len = 0;
    char *page = problems_html(h->arena, &len);
    if (page == NULL) return http_problem(h, 500, "the problem types do not fit the page", NULL, NULL);
    return http_send(h, 200, "text/html; charset=utf-8", page, len);
}

bool docs_owns(const char *uri) { return strcmp(uri, "/docs") == 0 || strncmp(uri, "/docs/", 6) == 0; }

int docs_serve(const http_ctx_t *h, const char *method, const char *uri) {
    if (strcmp(method, "GET") != 0) return http_problem(h, 405, NULL, NULL, "Allow: GET\r\n");
    if (strcmp(uri, "/docs/problems") == 0) return problems_page(h);
    bool is_page = strcmp(uri, "/docs") == 0, is_bundle = strcmp(uri, "/docs/" BUNDLE) == 0;
    if (!is_page && !is_bundle) return http_problem_as(h, BUS_PROBLEM_NO_ROUTE, NULL, NULL, NULL);
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
