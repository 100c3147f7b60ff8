#include "gateway/openapi_schemas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/pb.h"

#define NAME_LEN 256
#define MAX_PAIR_DEPTH 32

/* A registered message or enum. */
typedef struct {
    const void *desc;
    bool is_enum;
    const char *full_name; /* "parley.intake.v1.Case" */
    const char *package;   /* "parley.intake.v1" */
    char *name;            /* the component name, once fixed */
    bool paired;           /* messages: compared with an input at least once */
    bool *writable;        /* messages: per field, found in some input */
} oas_type_t;

struct oas_schemas {
    oas_type_t *types;
    size_t n, cap;
    bool named;
};

/* Component names the document uses for its own schemas. */
static const char *const reserved[] = {"Problem", "ProblemError"};

oas_schemas_t *oas_schemas_new(void) { return calloc(1, sizeof(oas_schemas_t)); }

void oas_schemas_destroy(oas_schemas_t **self) {
    if (self == NULL || *self == NULL) return;
    oas_schemas_t *s = *self;
    for (size_t i = 0; i < s->n; i++) {
        free(s->types[i].name);
        free(s->types[i].writable);
    }
    free(s->types);
    free(s);
    *self = NULL;
}

static bool is_timestamp(const ProtobufCMessageDescriptor *d) {
    return strcmp(d->name, "google.protobuf.Timestamp") == 0;
}

static bool is_wrapper(const ProtobufCMessageDescriptor *d) {
    size_t n = strlen(d->short_name);
    return strcmp(d->package_name, "google.protobuf") == 0 && n > 5 && strcmp(d->short_name + n - 5, "Value") == 0 &&
           d->n_fields == 1 && d->fields[0].type != PROTOBUF_C_TYPE_MESSAGE;
}

/* A message written inline as a bare value rather than as a component. */
static bool is_inline(const ProtobufCMessageDescriptor *d) { return is_timestamp(d) || is_wrapper(d); }

bool oas_field_is_map(const ProtobufCFieldDescriptor *f) {
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = d ? strlen(d->short_name) : 0;
    return d != NULL && d->n_fields == 2 && n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 &&
           d->fields[0].id == 1 && strcmp(d->fields[0].name, "key") == 0 && d->fields[1].id == 2 &&
           strcmp(d->fields[1].name, "value") == 0;
}

bool oas_field_is_queryable(const ProtobufCFieldDescriptor *f) {
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) return true;
    return !oas_field_is_map(f) && is_inline(f->descriptor);
}

static oas_type_t *find(oas_schemas_t *s, const void *desc) {
    for (size_t i = 0; i < s->n; i++)
        if (s->types[i].desc == desc) return &s->types[i];
    return NULL;
}

/* Appends desc; returns 1 when new, 0 when known, -1 when out of memory. */
static int push(oas_schemas_t *s, const void *desc, bool is_enum) {
    if (find(s, desc) != NULL) return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        oas_type_t *t = realloc(s->types, cap * sizeof *t);
        if (t == NULL) return -1;
        s->types = t;
        s->cap = cap;
    }
    oas_type_t *t = &s->types[s->n];
    memset(t, 0, sizeof *t);
    t->desc = desc;
    t->is_enum = is_enum;
    if (is_enum) {
        const ProtobufCEnumDescriptor *e = desc;
        t->full_name = e->name;
        t->package = e->package_name;
    } else {
        const ProtobufCMessageDescriptor *m = desc;
        t->full_name = m->name;
        t->package = m->package_name;
        t->writable = calloc(m->n_fields ? m->n_fields : 1, sizeof(bool));
        if (t->writable == NULL) return -1;
    }
    s->n++;
    return 1;
}

int oas_schemas_add_field(oas_schemas_t *s, const ProtobufCFieldDescriptor *f) {
    if (s->named) return -1;
    if (oas_field_is_map(f)) f = &((const ProtobufCMessageDescriptor *)f->descriptor)->fields[1];
    if (f->type == PROTOBUF_C_TYPE_ENUM) return push(s, f->descriptor, true) < 0 ? -1 : 0;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) return oas_schemas_add(s, f->descriptor);
    return 0;
}

int oas_schemas_add(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc) {
    if (s->named) return -1;
    if (is_inline(desc)) return 0;
    int rc = push(s, desc, false);
    if (rc <= 0) return rc;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (oas_schemas_add_field(s, &desc->fields[i]) != 0) return -1;
    return 0;
}

static const ProtobufCFieldDescriptor *field_by_json_name(const ProtobufCMessageDescriptor *d, const char *json) {
    char buf[NAME_LEN];
    for (unsigned i = 0; i < d->n_fields; i++)
        if (strcmp(pb_json_name(d->fields[i].name, buf, sizeof buf), json) == 0) return &d->fields[i];
    return NULL;
}

static bool skipped(const char *name, const char *const *skip, size_t n_skip) {
    for (size_t k = 0; k < n_skip; k++)
        if (strcmp(name, skip[k]) == 0) return true;
    return false;
}

static void pair(oas_schemas_t *s, const ProtobufCMessageDescriptor *out, const ProtobufCMessageDescriptor *in,
                 const char *const *skip, size_t n_skip, int depth) {
    oas_type_t *t = find(s, out);
    if (t == NULL || depth > MAX_PAIR_DEPTH) return;
    t->paired = true;
    char buf[NAME_LEN];
    for (unsigned i = 0; i < out->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &out->fields[i];
        const char *name = pb_json_name(f->name, buf, sizeof buf);
        const ProtobufCFieldDescriptor *g = skipped(name, skip, n_skip) ? NULL : field_by_json_name(in, name);
        if (g == NULL) continue;
        t->writable[i] = true;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && g->type == PROTOBUF_C_TYPE_MESSAGE && !oas_field_is_map(f) &&
            !oas_field_is_map(g))
            pair(s, f->descriptor, g->descriptor, NULL, 0, depth + 1);
    }
}

void oas_schemas_pair(oas_schemas_t *s, const ProtobufCMessageDescriptor *out, const ProtobufCMessageDescriptor *in,
                      const char *const *skip, size_t n_skip) {
    pair(s, out, in, skip, n_skip, 0);
}

/* The name within its package ("Case", "Outer.Inner"). */
static const char *local_name(const oas_type_t *t) {
    size_t p = strlen(t->package);
    if (p > 0 && strncmp(t->full_name, t->package, p) == 0 && t->full_name[p] == '.') return t->full_name + p + 1;
    return t->full_name;
}

/* Names every type by its local name, or by its full name less "parley."
 * when another type (or a reserved schema) has the same local name. */
static int fix_names(oas_schemas_t *s) {
    if (s->named) return 0;
    s->named = true;
    for (size_t i = 0; i < s->n; i++) {
        const char *base = local_name(&s->types[i]);
        bool clash = false;
        for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++) clash |= strcmp(base, reserved[k]) == 0;
        for (size_t j = 0; j < s->n && !clash; j++) clash = j != i && strcmp(base, local_name(&s->types[j])) == 0;
        const char *name = s->types[i].full_name;
        if (clash && strncmp(name, "parley.", 7) == 0) name += 7;
        s->types[i].name = strdup(clash ? name : base);
        if (s->types[i].name == NULL) return -1;
    }
    return 0;
}

static json_t *ref_to(const char *name) {
    json_t *r = json_object();
    char buf[NAME_LEN + 32];
    snprintf(buf, sizeof buf, "#/components/schemas/%s", name);
    json_object_set_new(r, "$ref", json_string(buf));
    return r;
}

static json_t *ref_of(oas_schemas_t *s, const void *desc) {
    if (fix_names(s) != 0) return NULL;
    oas_type_t *t = find(s, desc);
    return t ? ref_to(t->name) : NULL;
}

json_t *oas_schemas_ref(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc) { return ref_of(s, desc); }

/* The schema of one value of a scalar type, as lib/pb writes it. */
static json_t *scalar_schema(ProtobufCType type) {
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_pack("{s:s, s:s}", "type", "integer", "format", "int32");
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_pack("{s:s, s:i, s:I}", "type", "integer", "minimum", 0, "maximum", (json_int_t)4294967295LL);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return json_pack("{s:s, s:s}", "type", "string", "format", "int64");
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return json_pack("{s:s, s:s}", "type", "string", "format", "uint64");
    case PROTOBUF_C_TYPE_FLOAT: return json_pack("{s:s, s:s}", "type", "number", "format", "float");
    case PROTOBUF_C_TYPE_DOUBLE: return json_pack("{s:s, s:s}", "type", "number", "format", "double");
    case PROTOBUF_C_TYPE_BOOL: return json_pack("{s:s}", "type", "boolean");
    case PROTOBUF_C_TYPE_BYTES:
        return json_pack("{s:s, s:s, s:s}", "type", "string", "format", "byte", "contentEncoding", "base64");
    default: return json_pack("{s:s}", "type", "string");
    }
}

/* Timestamp as date-time; a wrapper as its value's schema, or null. */
static json_t *inline_schema(const ProtobufCMessageDescriptor *d) {
    if (is_timestamp(d)) return json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
    json_t *sch = scalar_schema(d->fields[0].type);
    json_t *type = json_object_get(sch, "type");
    json_object_set_new(sch, "type", json_pack("[s, s]", json_string_value(type), "null"));
    return sch;
}

/* The schema of one value of f (an element, when f is repeated). */
static json_t *value_schema(oas_schemas_t *s, const ProtobufCFieldDescriptor *f) {
    if (f->type == PROTOBUF_C_TYPE_ENUM) return ref_of(s, f->descriptor);
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) return scalar_schema(f->type);
    const ProtobufCMessageDescriptor *d = f->descriptor;
    return is_inline(d) ? inline_schema(d) : ref_of(s, d);
}

json_t *oas_schemas_field(oas_schemas_t *s, const ProtobufCFieldDescriptor *f) {
    if (oas_field_is_map(f)) {
        const ProtobufCMessageDescriptor *entry = f->descriptor;
        return json_pack("{s:s, s:o*}", "type", "object", "additionalProperties", value_schema(s, &entry->fields[1]));
    }
    json_t *v = value_schema(s, f);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return json_pack("{s:s, s:o*}", "type", "array", "items", v);
    return v;
}

json_t *oas_schemas_properties(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, const char *const *skip,
                               size_t n_skip) {
    oas_type_t *t = find(s, desc);
    json_t *props = json_object();
    char buf[NAME_LEN];
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const char *name = pb_json_name(desc->fields[i].name, buf, sizeof buf);
        if (skipped(name, skip, n_skip)) continue;
        json_t *sch = oas_schemas_field(s, &desc->fields[i]);
        if (sch == NULL) continue;
        if (t != NULL && t->paired && !t->writable[i]) json_object_set_new(sch, "readOnly", json_true());
        json_object_set_new(props, name, sch);
    }
    return props;
}

static json_t *enum_schema(const ProtobufCEnumDescriptor *e) {
    json_t *words = json_array();
    char buf[NAME_LEN];
    /* values holds each number once (aliases live only in values_by_name). */
    for (unsigned i = 0; i < e->n_values; i++) {
        const char *w = pb_enum_word(e, e->values[i].value, buf, sizeof buf);
        if (w != NULL) json_array_append_new(words, json_string(w));
    }
    return json_pack("{s:s, s:o}", "type", "string", "enum", words);
}

json_t *oas_schemas_components(oas_schemas_t *s) {
    if (fix_names(s) != 0) return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < s->n; i++) {
        const oas_type_t *t = &s->types[i];
        json_t *sch;
        if (t->is_enum) {
            sch = enum_schema(t->desc);
        } else {
            sch = json_pack("{s:s, s:o*}", "type", "object", "properties", oas_schemas_properties(s, t->desc, NULL, 0));
        }
        json_object_set_new(out, t->name, sch);
    }
    return out;
}
