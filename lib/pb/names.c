/* names — how protobuf names appear in JSON: lowerCamelCase field names, enum
 * words without their prefix, and the descriptor questions that depend on
 * names (is this a map? which fields share this oneof?). */
#include <string.h>

#include "pb/internal.h"
#include "pb/pb.h"

/* Long enough for any sane field name; a longer one is truncated and so
 * simply never matches. */
#define NAME_MAX_LEN 256

const char *pb_json_name(const char *proto_name, char *out, size_t cap) {
    if (cap == 0) return out;
    size_t n = 0;
    int upper_next = 0;
    /* protoc's rule: drop each '_' and uppercase the letter after it. */
    for (const char *p = proto_name; *p != '\0' && n + 1 < cap; p++) {
        if (*p == '_') {
            upper_next = 1;
        } else if (upper_next && *p >= 'a' && *p <= 'z') {
            out[n++] = (char)(*p - 'a' + 'A');
            upper_next = 0;
        } else {
            out[n++] = *p;
            upper_next = 0;
        }
    }
    out[n] = '\0';
    return out;
}

const ProtobufCFieldDescriptor *pb__field_by_json_name(const ProtobufCMessageDescriptor *desc,
                                                       const char *json_name) {
    char buf[NAME_MAX_LEN];
    for (unsigned i = 0; i < desc->n_fields; i++) {
        if (strcmp(pb_json_name(desc->fields[i].name, buf, sizeof buf), json_name) == 0) return &desc->fields[i];
    }
    return NULL;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int pb__field_is_map(const ProtobufCFieldDescriptor *f) {
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    /* protobuf-c keeps no map_entry option, so recognise the shape protoc
     * generates: a nested FooEntry with exactly key = 1 and value = 2. */
    if (d == NULL || d->n_fields != 2 || !ends_with(d->short_name, "Entry")) return 0;
    return d->fields[0].id == 1 && strcmp(d->fields[0].name, "key") == 0 && d->fields[1].id == 2 &&
           strcmp(d->fields[1].name, "value") == 0;
}

/* The prefix every word of an enum drops: its first len bytes of from. */
typedef struct {
    const char *from;
    size_t len;
} prefix_t;

/* What precedes "UNSPECIFIED" in the name of value 0, else the names' common
 * prefix up to its last '_' (for enums such as Code whose value 0 is CODE_OK).
 * Computed once per call, as it costs a pass over the values. */
static prefix_t enum_prefix(const ProtobufCEnumDescriptor *e) {
    prefix_t p = {"", 0};
    const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(e, 0);
    if (zero != NULL && ends_with(zero->name, "UNSPECIFIED")) {
        p.from = zero->name;
        p.len = strlen(zero->name) - strlen("UNSPECIFIED");
        return p;
    }
    if (e->n_values == 0) return p;
    p.from = e->values[0].name;
    p.len = strlen(p.from);
    for (unsigned i = 1; i < e->n_values; i++) {
        size_t k = 0;
        while (k < p.len && p.from[k] == e->values[i].name[k]) k++;
        p.len = k;
    }
    while (p.len > 0 && p.from[p.len - 1] != '_') p.len--;
    return p;
}

/* The part of a value's name its word is made of: the name less the prefix,
 * or the whole name when it does not start with the prefix. */
static const char *enum_stem(prefix_t p, const char *name) {
    if (p.len < strlen(name) && strncmp(name, p.from, p.len) == 0) return name + p.len;
    return name;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* The word of the value named name into out. */
static const char *word_of(prefix_t p, const char *name, char *out, size_t cap) {
    const char *stem = enum_stem(p, name);
    size_t n = 0;
    for (; stem[n] != '\0' && n + 1 < cap; n++) out[n] = lower(stem[n]);
    out[n] = '\0';
    return out;
}

const char *pb__enum_word(const ProtobufCEnumDescriptor *e, int32_t value, char *out, size_t cap) {
    if (value == 0 || cap == 0) return NULL;
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(e, value);
    if (v == NULL) return NULL;
    return word_of(enum_prefix(e), v->name, out, cap);
}

int pb__enum_from_word(const ProtobufCEnumDescriptor *e, const char *word, size_t len, int32_t *out) {
    prefix_t p = enum_prefix(e);
    /* values_by_name also holds aliases, which values leaves out. */
    for (unsigned i = 0; i < e->n_value_names; i++) {
        unsigned index = (unsigned)e->values_by_name[i].index;
        if (index >= e->n_values || e->values[index].value == 0) continue;
        const char *stem = enum_stem(p, e->values_by_name[i].name);
        if (strlen(stem) != len) continue;
        /* Only the lowercase spelling is a word; "DARK_BLUE" is not. */
        size_t k = 0;
        while (k < len && lower(stem[k]) == word[k]) k++;
        if (k == len) {
            *out = e->values[index].value;
            return 0;
        }
    }
    return -1;
}

const char *pb__enum_choices(arena_t *arena, const ProtobufCEnumDescriptor *e) {
    static const char head[] = "expected one of: ";
    prefix_t p = enum_prefix(e);
    size_t len = sizeof head;
    for (unsigned i = 0; i < e->n_values; i++) len += strlen(e->values[i].name) + 2;
    char *out = arena_alloc(arena, len);
    if (out == NULL) return "expected a known value";
    strcpy(out, head);
    size_t n = sizeof head - 1;
    for (unsigned i = 0; i < e->n_values; i++) {
        if (e->values[i].value == 0) continue;
        if (n > sizeof head - 1) {
            memcpy(out + n, ", ", 2);
            n += 2;
        }
        /* A word is never longer than its name, and len counted every name. */
        word_of(p, e->values[i].name, out + n, len - n);
        n += strlen(out + n);
    }
    out[n] = '\0';
    return out;
}

static int in_same_oneof(const ProtobufCFieldDescriptor *a, const ProtobufCFieldDescriptor *b) {
    return (a->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && (b->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           a->quantifier_offset == b->quantifier_offset;
}

const char *pb__oneof_conflict(arena_t *arena, const ProtobufCMessageDescriptor *desc,
                               const ProtobufCFieldDescriptor *f) {
    static const char head[] = "only one of ", tail[] = " may be set";
    char name[NAME_MAX_LEN];
    size_t len = sizeof head + sizeof tail;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        if (in_same_oneof(&desc->fields[i], f)) len += strlen(pb_json_name(desc->fields[i].name, name, sizeof name)) + 2;
    }
    char *out = arena_alloc(arena, len);
    if (out == NULL) return "only one of these fields may be set";
    strcpy(out, head);
    size_t n = sizeof head - 1;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        if (!in_same_oneof(&desc->fields[i], f)) continue;
        if (n > sizeof head - 1) {
            memcpy(out + n, ", ", 2);
            n += 2;
        }
        size_t w = strlen(pb_json_name(desc->fields[i].name, name, sizeof name));
        memcpy(out + n, name, w);
        n += w;
    }
    memcpy(out + n, tail, sizeof tail);
    return out;
}
