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

/* Applies "a=1&b=2" to msg. Every pair is tried so all errors are reported. */
static int apply_query(arena_t *a, ProtobufCMessage *msg, const char *query, request_param_fn hook, void *hook_ctx,
                       pb_errors_t *errs) {
    int rc = 0;
    size_t qlen = strlen(query);
    char *buf = arena_strdup(a, query);
    char *save = NULL;
    for (char *pair = strtok_r(buf, "&", &save); pair != NULL; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        const char *raw_value = "";
        if (eq != NULL) {
            *eq = '\0';
            raw_value = eq + 1;
        }
        char *name = arena_alloc(a, qlen + 1), *value = arena_alloc(a, qlen + 1);
        if (mg_url_decode(pair, (int)strlen(pair), name, (int)qlen + 1, 1) < 0 ||
            mg_url_decode(raw_value, (int)strlen(raw_value), value, (int)qlen + 1, 1) < 0) {
            pb_errors_add(errs, pair, "cannot be decoded");
            rc = -1;
            continue;
        }
        if (*name == '\0') continue;
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
    for (size_t i = 0; i < m->n_params; i++) {
        const route_param_t *p = &m->params[i];
        char *name = arena_strndup(a, p->name, p->name_len);
        char *value = arena_strndup(a, p->value, p->value_len);
        char *decoded = arena_alloc(a, p->value_len + 1);
        if (mg_url_decode(value, (int)p->value_len, decoded, (int)p->value_len + 1, 0) < 0) decoded = value;
        /* A body may not set what the path names. */
        if (pb_set_from_string(a, msg, name, decoded, errs) != 0) rc = -1;
    }
    if (query != NULL && *query != '\0' && apply_query(a, msg, query, hook, hook_ctx, errs) != 0) rc = -1;
    *out = msg;
    return rc;
}
