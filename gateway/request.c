#include "gateway/request.h"

#include <civetweb.h>
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
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

/* The field of desc with JSON name json, or NULL. */
static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *desc, const char *json) {
    char buf[128];
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (strcmp(pb_json_name(desc->fields[i].name, buf, sizeof buf), json) == 0) return &desc->fields[i];
    return NULL;
}

/* The path parameter named name (len bytes), or NULL. */
static const route_param_t *path_param(const route_match_t *m, const char *name) {
    for (size_t i = 0; i < m->n_params; i++)
        if (strlen(name) == m->params[i].name_len && memcmp(name, m->params[i].name, m->params[i].name_len) == 0)
            return &m->params[i];
    return NULL;
}

typedef struct {
    arena_t *a;
    request_patch_t *patch;
    size_t cap;
    bool over;
} fields_t;

static void collect_items(fields_t *f, const char *path, const json_t *item);

/* Records path (then its members, for an object or an array of them). The
 * depth is bounded by the JSON limits the body passed (PB_JSON_MAX_DEPTH). */
static void collect(fields_t *f, const char *path, const json_t *v) {
    if (path != NULL) {
        if (f->patch->n_fields == REQUEST_MAX_PATCH_FIELDS) {
            f->over = true;
            return;
        }
        if (f->patch->n_fields == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 32;
            char **grown = arena_alloc(f->a, cap * sizeof *grown);
            if (grown == NULL) {
                f->over = true;
                return;
            }
            if (f->cap) memcpy(grown, f->patch->fields, f->cap * sizeof *grown);
            f->patch->fields = grown;
            f->cap = cap;
        }
        f->patch->fields[f->patch->n_fields++] = (char *)path;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)v, key, member) {
            if (f->over) return;
            collect(f, path ? arena_printf(f->a, "%s.%s", path, key) : arena_strdup(f->a, key), member);
        }
    } else if (json_is_array(v) && path != NULL) {
        for (size_t i = 0; i < json_array_size(v) && !f->over; i++) {
            const json_t *item = json_array_get(v, i);
            if (json_is_object(item)) collect_items(f, arena_printf(f->a, "%s[%zu]", path, i), item);
        }
    }
}

/* An array item's members, without the item's own path. */
static void collect_items(fields_t *f, const char *path, const json_t *item) {
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)item, key, member) {
        if (f->over) return;
        collect(f, arena_printf(f->a, "%s.%s", path, key), member);
    }
}

/* A PATCH or PUT body's top level, before it is decoded: a member naming a
 * path parameter must say what the path says (`id` is the object's own id,
 * the path's last parameter) and is then left to the path; a member the
 * reply has and the request does not is read-only here and goes, as sent,
 * to read_only_json for the service to compare. Violations go to errs
 * with patch->cause READ_ONLY_FIELD. */
static size_t sort_members(arena_t *a, json_t *root, const ProtobufCMessageDescriptor *input, const route_match_t *m,
                           request_patch_t *patch, pb_errors_t *errs) {
    size_t refused = 0;
    json_t *echo = json_object();
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(root, tmp, key, value) {
        const route_param_t *p = NULL;
        if (strcmp(key, "id") == 0 && m->n_params > 0) p = &m->params[m->n_params - 1];
        else p = path_param(m, key);
        if (p != NULL) {
            if (!json_is_null(value) && (!json_is_string(value) || p->text == NULL ||
                                         strcasecmp(json_string_value(value), p->text) != 0)) {
                pb_errors_add(errs, key, strcmp(key, "id") == 0 ? "is read-only: it must be the object's id, as in the path"
                                                                : "is read-only: it must be the same as in the path");
                refused++;
            }
            json_object_del(root, key);
        } else if (field_named(input, key) == NULL && patch->reply != NULL && field_named(patch->reply, key) != NULL) {
            json_object_set(echo, key, value);
            json_object_del(root, key);
        }
    }
    if (json_object_size(echo) > 0) {
        char *text = json_dumps(echo, JSON_COMPACT);
        patch->read_only_json = text ? arena_strdup(a, text) : NULL;
        free(text);
        if (patch->read_only_json == NULL) {
            pb_errors_add(errs, "", "out of memory");
            refused++;
        }
    }
    json_decref(echo);
    return refused;
}

int request_build(arena_t *a, const ProtobufCMessageDescriptor *input, const char *body, size_t body_len,
                  const route_match_t *m, const char *query, request_param_fn hook, void *hook_ctx,
                  request_patch_t *patch, ProtobufCMessage **out, pb_errors_t *errs) {
    ProtobufCMessage *msg = NULL;
    if (body != NULL && patch != NULL) {
        patch->cause = BUS_PROBLEM_INVALID_REQUEST;
        json_t *root = pb_json_loadb(body, body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        /* Not an object (or not JSON): the codec says why, as for any body. */
        if (!json_is_object(root)) {
            json_decref(root);
            if (pb_from_json(a, input, body, body_len, &msg, errs) == 0) pb_errors_add(errs, "", "expected a JSON object");
            return -1;
        }
        fields_t f = {a, patch, 0, false};
        collect(&f, NULL, root);
        if (f.over) {
            json_decref(root);
            pb_errors_add(errs, "", arena_printf(a, "a PATCH or PUT body may have at most %d members in all",
                                                 REQUEST_MAX_PATCH_FIELDS));
            return -1;
        }
        size_t refused = sort_members(a, root, input, m, patch, errs);
        /* Decoded even so, so that every mistake is reported at once. */
        int rc = pb_from_json_value(a, input, root, "", &msg, errs);
        json_decref(root);
        if (refused > 0 && rc == 0) patch->cause = BUS_PROBLEM_READ_ONLY_FIELD;
        if (refused > 0 || rc != 0) return -1;
    } else if (body != NULL) {
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
