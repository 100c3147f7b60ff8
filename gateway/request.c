#include "gateway/request.h"

#include <civetweb.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

bool request_is_json(const char *ct) {
    if (ct == NULL) return false;
    while (*ct == ' ') ct++;
    if (strncasecmp(ct, "application/json", 16) != 0) return false;
    const char *p = ct + 16;
    while (*p == ' ') p++;
    if (*p == '\0') return true;
    if (*p != ';') return false;
    for (p++; *p == ' '; p++) {
    }
    if (strncasecmp(p, "charset=", 8) != 0) return false;
    p += 8;
    if (*p == '"') p++;
    return strncasecmp(p, "utf-8", 5) == 0 && (p[5] == '\0' || p[5] == '"' || p[5] == ' ');
}

bool request_id_is_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("._:-", s[i]) == NULL) return false;
    return true;
}

/* Whether name is one of the route's path parameters. */
static bool names_path_param(const route_match_t *m, const char *name) {
    for (size_t i = 0; i < m->n_params; i++)
        if (strlen(name) == m->params[i].name_len && memcmp(name, m->params[i].name, m->params[i].name_len) == 0)
            return true;
    return false;
}

/* Applies "a=1&b=2" to msg, in one pass: each name and value is decoded
 * into a copy of its own length, so the work and the memory are linear in
 * the query's length. Every pair is tried so all errors are reported. */
static int apply_query(arena_t *a, ProtobufCMessage *msg, const route_match_t *m, const char *query,
                       request_param_fn hook, void *hook_ctx, pb_errors_t *errs) {
    int pairs = 0;
    for (const char *p = query; *p != '\0'; p += *p == '&') {
        size_t len = strcspn(p, "&");
        pairs += len > 0;
        p += len;
    }
    if (pairs > REQUEST_MAX_QUERY_PARAMS) {
        pb_errors_add(errs, "", arena_printf(a, "at most %d query parameters are accepted", REQUEST_MAX_QUERY_PARAMS));
        return -1;
    }
    int rc = 0;
    for (const char *p = query; *p != '\0';) {
        size_t len = strcspn(p, "&");
        const char *pair = p;
        p += len;
        if (*p == '&') p++;
        if (len == 0) continue;
        const char *eq = memchr(pair, '=', len);
        size_t name_len = eq ? (size_t)(eq - pair) : len;
        size_t value_len = eq ? len - name_len - 1 : 0;
        char *name = arena_alloc(a, name_len + 1), *value = arena_alloc(a, value_len + 1);
        if (name == NULL || value == NULL) return -1;
        int nl = mg_url_decode(pair, (int)name_len, name, (int)name_len + 1, 1);
        int vl = eq ? mg_url_decode(eq + 1, (int)value_len, value, (int)value_len + 1, 1) : 0;
        /* A decoded NUL would cut the text short of what was sent. */
        if (nl < 0 || vl < 0 || (size_t)nl != strlen(name) || (size_t)vl != strlen(value)) {
            pb_errors_add(errs, "", "a query parameter cannot be decoded");
            rc = -1;
            continue;
        }
        if (*name == '\0') continue;
        if (names_path_param(m, name)) {
            pb_errors_add(errs, name, "is set by the path, not the query");
            rc = -1;
            continue;
        }
        const char *v = hook ? hook(hook_ctx, name, value, errs) : value;
        if (v == NULL || pb_set_from_string(a, msg, name, v, errs) != 0) rc = -1;
    }
    return rc;
}

int request_build(arena_t *a, const ProtobufCMessageDescriptor *input, const char *body, size_t body_len,
                  const route_match_t *m, const char *query, request_param_fn hook, void *hook_ctx,
                  ProtobufCMessage **out, pb_errors_t *errs) {
    ProtobufCMessage *msg = NULL;
    if (body != NULL) {
        if (pb_from_json(a, input, body, body_len, &msg, errs) != 0) return -1;
    } else {
        msg = arena_alloc(a, input->sizeof_message);
        if (msg == NULL) return -1;
        protobuf_c_message_init(input, msg);
    }
    int rc = 0;
    if (query != NULL && *query != '\0' && apply_query(a, msg, m, query, hook, hook_ctx, errs) != 0) rc = -1;
    /* Last, so that nothing in the body can stand in for what the path names.
     * The values were decoded and checked once, by routes_decode_params. */
    for (size_t i = 0; i < m->n_params; i++) {
        const route_param_t *p = &m->params[i];
        char *name = arena_strndup(a, p->name, p->name_len);
        if (p->text == NULL || pb_set_from_string(a, msg, name, p->text, errs) != 0) rc = -1;
    }
    *out = msg;
    return rc;
}
