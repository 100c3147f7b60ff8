/* encode — a protobuf-c message as JSON, walking its descriptor. Fields come
 * out in tag order. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/internal.h"
#include "pb/pb.h"

static json_t *encode_message(const ProtobufCMessage *m, int depth);

static const void *slot(const ProtobufCMessage *m, size_t offset) { return (const char *)m + offset; }

/* Enum value 0 means "not given" and is never emitted, even in a list. */
static int is_zero_enum(const ProtobufCFieldDescriptor *f, const void *src) {
    return f->type == PROTOBUF_C_TYPE_ENUM && *(const int32_t *)src == 0;
}

/* One value of f (an element, for a repeated field) at src. */
static json_t *encode_value(const ProtobufCFieldDescriptor *f, const void *src, int depth) {
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)src;
        return m == NULL ? json_null() : encode_message(m, depth + 1);
    }
    return pb__scalar_to_json(f, src);
}

static json_t *encode_repeated(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m, int depth) {
    size_t n = *(const size_t *)slot(m, f->quantifier_offset);
    const char *items = *(char *const *)slot(m, f->offset);
    size_t size = pb__slot_size(f->type);
    json_t *arr = json_array();
    if (arr == NULL) return NULL;
    for (size_t i = 0; items != NULL && i < n; i++) {
        const void *src = items + i * size;
        if (is_zero_enum(f, src)) continue;
        json_t *v = encode_value(f, src, depth);
        /* append_new takes v even when it fails. */
        if (v == NULL || json_array_append_new(arr, v) != 0) goto fail;
    }
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

/* A map key as JSON object keys spell it. */
static const char *map_key(const ProtobufCFieldDescriptor *f, const void *src, char *buf, size_t cap) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        return s == NULL ? "" : s;
    }
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)src ? "true" : "false";
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: snprintf(buf, cap, "%" PRId32, *(const int32_t *)src); return buf;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: snprintf(buf, cap, "%" PRIu32, *(const uint32_t *)src); return buf;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: snprintf(buf, cap, "%" PRId64, *(const int64_t *)src); return buf;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: snprintf(buf, cap, "%" PRIu64, *(const uint64_t *)src); return buf;
    default: return NULL; /* protoc allows no other key type */
    }
}

static json_t *encode_map(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m, int depth) {
    const ProtobufCFieldDescriptor *key_f = &((const ProtobufCMessageDescriptor *)f->descriptor)->fields[0];
    const ProtobufCFieldDescriptor *value_f = &((const ProtobufCMessageDescriptor *)f->descriptor)->fields[1];
    size_t n = *(const size_t *)slot(m, f->quantifier_offset);
    ProtobufCMessage *const *entries = *(ProtobufCMessage *const **)slot(m, f->offset);
    json_t *obj = json_object();
    if (obj == NULL) return NULL;
    for (size_t i = 0; entries != NULL && i < n; i++) {
        const ProtobufCMessage *e = entries[i];
        if (e == NULL || is_zero_enum(value_f, slot(e, value_f->offset))) continue;
        char buf[32];
        const char *key = map_key(key_f, slot(e, key_f->offset), buf, sizeof buf);
        if (key == NULL) continue;
        char *clean = NULL;
        if (!pb__utf8_valid(key, strlen(key))) {
            clean = pb__utf8_clean(key, strlen(key), NULL);
            if (clean == NULL) goto fail;
            key = clean;
        }
        json_t *v = encode_value(value_f, slot(e, value_f->offset), depth);
        /* set_new takes v even when it fails; a repeated key keeps the last
         * value, as the wire format's merge rule does. */
        int rc = v == NULL ? -1 : json_object_set_new(obj, key, v);
        free(clean);
        if (rc != 0) goto fail;
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

/* Whether a singular, non-oneof field holds its "not given" value. */
static int is_omitted(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m) {
    const void *src = slot(m, f->offset);
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE && !*(const protobuf_c_boolean *)slot(m, f->quantifier_offset))
        return 1;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)src)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)src == NULL;
    case PROTOBUF_C_TYPE_ENUM: return is_zero_enum(f, src);
    default: return 0;
    }
}

static json_t *encode_field(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m, int depth) {
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return pb__field_is_map(f) ? encode_map(f, m, depth) : encode_repeated(f, m, depth);
    return encode_value(f, slot(m, f->offset), depth);
}

/* Whether f is to be emitted at all. A set oneof member is emitted even when
 * it holds "" or 0, since being set is what it says. */
static int is_present(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m) {
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)slot(m, f->quantifier_offset) == f->id && !is_zero_enum(f, slot(m, f->offset));
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return 1;
    return !is_omitted(f, m);
}

static json_t *encode_message(const ProtobufCMessage *m, int depth) {
    if (depth > PB__MAX_DEPTH) return NULL;
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    if (pb__wkt_is(desc)) return pb__wkt_to_json(m);
    json_t *obj = json_object();
    if (obj == NULL) return NULL;
    char name[256];
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!is_present(f, m)) continue;
        json_t *v = encode_field(f, m, depth);
        if (v == NULL || json_object_set_new(obj, pb_json_name(f->name, name, sizeof name), v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *pb_to_json(const ProtobufCMessage *msg) {
    if (msg == NULL) return NULL;
    return encode_message(msg, 0);
}

char *pb_to_json_text(const ProtobufCMessage *msg) {
    json_t *v = pb_to_json(msg);
    if (v == NULL) return NULL;
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return text;
}
