/* Sub-messages (weekly hours, a location, participants) kept as the API's
 * JSON in jsonb columns, and read back through the codec. */
#include <stdlib.h>
#include <string.h>

#include "pb/pb.h"
#include "services/scheduling/scheduling.h"
#include "svc/svc.h"

const char *sched_json_array(arena_t *a, ProtobufCMessage *const *items, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *j = pb_to_json(items[i]);
        if (j == NULL || json_array_append_new(arr, j) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    const char *out = text ? arena_strdup(a, text) : NULL;
    free(text);
    return out;
}

const char *sched_json_one(arena_t *a, const ProtobufCMessage *m) {
    if (m == NULL) return "{}";
    char *text = pb_to_json_text(m);
    const char *out = text ? arena_strdup(a, text) : NULL;
    free(text);
    return out;
}

ProtobufCMessage **sched_json_items(arena_t *a, const char *text, const ProtobufCMessageDescriptor *desc, size_t max,
                                    size_t *n) {
    *n = 0;
    json_t *arr = pb_json_loadb(text ? text : "", text ? strlen(text) : 0, 0, NULL);
    size_t count = json_is_array(arr) ? json_array_size(arr) : 0;
    if (count > max) count = max;
    ProtobufCMessage **out = arena_alloc(a, (count + 1) * sizeof *out);
    for (size_t i = 0; out && i < count; i++) {
        pb_errors_t errs;
        pb_errors_init(&errs, a);
        ProtobufCMessage *m = NULL;
        if (pb_from_json_value(a, desc, json_array_get(arr, i), "", &m, &errs) == 0 && m) out[(*n)++] = m;
    }
    json_decref(arr);
    return out;
}

ProtobufCMessage *sched_json_message(arena_t *a, const char *text, const ProtobufCMessageDescriptor *desc) {
    pb_errors_t errs;
    pb_errors_init(&errs, a);
    ProtobufCMessage *m = NULL;
    if (text == NULL || pb_from_json(a, desc, text, strlen(text), &m, &errs) != 0) return NULL;
    return m;
}

const char *sched_supporter(const bus_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header ? req->header->principal : NULL;
    if (p == NULL) return NULL;
    for (size_t i = 0; i < p->n_roles; i++)
        if (strcmp(p->roles[i], "supporter") == 0) return svc_opt(p->supporter_id) ? p->supporter_id : "";
    return NULL;
}

int64_t sched_seconds(const Google__Protobuf__Timestamp *t) { return t ? t->seconds : 0; }
