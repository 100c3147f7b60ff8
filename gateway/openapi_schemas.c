#include "gateway/openapi_schemas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/pb.h"
#include "pb/rules.h"

#define NAME_LEN 256
#define MAX_PAIR_DEPTH 32
#define MAX_ADD_DEPTH 64

/* A registered message or enum. */
typedef struct {
    const void *desc;
    bool is_enum;
    const char *full_name; /* "parley.intake.v1.Case" */
    const char *package;   /* "parley.intake.v1" */
    char *name;            /* the component name, once fixed */
    unsigned sides;        /* messages: OAS_REQUEST, OAS_REPLY */
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

bool oas_field_is_required(const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *f) {
    const pb_field_doc_t *doc = pb_field_doc(msg, f);
    return doc != NULL && (doc->rules.flags & PB_RULE_REQUIRED);
}

const char *oas_field_description(const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *f) {
    const pb_field_doc_t *doc = pb_field_doc(msg, f);
    return doc != NULL ? doc->description : NULL;
}

/* Whether lib/pb writes f in every reply: numbers, bools and lists are
 * always written (encode.c); strings, enums and messages only when set. */
static bool always_written(const ProtobufCFieldDescriptor *f) {
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) return false;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return true;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) return false;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
    case PROTOBUF_C_TYPE_ENUM: return false;
    default: return true;
    }
}

static oas_type_t *find(oas_schemas_t *s, const void *desc) {
    for (size_t i = 0; i < s->n; i++)
        if (s->types[i].desc == desc) return &s->types[i];
    return NULL;
}

/* Appends desc; returns its entry, or NULL when out of memory. */
static oas_type_t *push(oas_schemas_t *s, const void *desc, bool is_enum) {
    oas_type_t *t = find(s, desc);
    if (t != NULL) return t;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        oas_type_t *grown = realloc(s->types, cap * sizeof *grown);
        if (grown == NULL) return NULL;
        s->types = grown;
        s->cap = cap;
    }
    t = &s->types[s->n];
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
        if (t->writable == NULL) return NULL;
    }
    s->n++;
    return t;
}

static int add_message(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, unsigned side, int depth);

static int add_field(oas_schemas_t *s, const ProtobufCFieldDescriptor *f, unsigned side, int depth) {
    if (oas_field_is_map(f)) f = &((const ProtobufCMessageDescriptor *)f->descriptor)->fields[1];
    if (f->type == PROTOBUF_C_TYPE_ENUM) return push(s, f->descriptor, true) == NULL ? -1 : 0;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) return add_message(s, f->descriptor, side, depth + 1);
    return 0;
}

/* Registers desc for side, and what it reaches: again when side is new to
 * it, so that a message met first in a reply learns it is in a request too. */
static int add_message(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, unsigned side, int depth) {
    if (is_inline(desc) || depth > MAX_ADD_DEPTH) return 0;
    oas_type_t *t = push(s, desc, false);
    if (t == NULL) return -1;
    if ((t->sides & side) == side) return 0;
    t->sides |= side;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (add_field(s, &desc->fields[i], side, depth) != 0) return -1;
    return 0;
}

int oas_schemas_add_field(oas_schemas_t *s, const ProtobufCFieldDescriptor *f, unsigned side) {
    if (s->named) return -1;
    return add_field(s, f, side, 0);
}

int oas_schemas_add(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, unsigned side) {
    if (s->named) return -1;
    return add_message(s, desc, side, 0);
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

/* The schema of one value of a scalar type, as lib/pb writes it, with the
 * bounds the type itself sets where it is written as a string. */
static json_t *scalar_schema(ProtobufCType type) {
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_pack("{s:s, s:s}", "type", "integer", "format", "int32");
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_pack("{s:s, s:s, s:i, s:I}", "type", "integer", "format", "int64", "minimum", 0, "maximum",
                         (json_int_t)4294967295LL);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_pack("{s:s, s:s, s:i, s:s}", "type", "string", "format", "int64", "maxLength", 20, "pattern",
                         "^-?[0-9]+$");
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_pack("{s:s, s:s, s:i, s:s}", "type", "string", "format", "uint64", "maxLength", 20, "pattern",
                         "^[0-9]+$");
    case PROTOBUF_C_TYPE_FLOAT: return json_pack("{s:s, s:s}", "type", "number", "format", "float");
    case PROTOBUF_C_TYPE_DOUBLE: return json_pack("{s:s, s:s}", "type", "number", "format", "double");
    case PROTOBUF_C_TYPE_BOOL: return json_pack("{s:s}", "type", "boolean");
    case PROTOBUF_C_TYPE_BYTES:
        return json_pack("{s:s, s:s, s:s}", "type", "string", "format", "byte", "contentEncoding", "base64");
    default: return json_pack("{s:s}", "type", "string");
    }
}

/* Timestamp as date-time (RFC 3339: at most 35 characters with nanoseconds
 * and an offset); a wrapper as its value's schema, or null. */
static json_t *inline_schema(const ProtobufCMessageDescriptor *d) {
    if (is_timestamp(d)) return json_pack("{s:s, s:s, s:i}", "type", "string", "format", "date-time", "maxLength", 35);
    json_t *sch = scalar_schema(d->fields[0].type);
    json_t *type = json_object_get(sch, "type");
    json_object_set_new(sch, "type", json_pack("[s, s]", json_string_value(type), "null"));
    return sch;
}

/* What a format writes into a string's schema: the JSON Schema format, and a
 * pattern and length that say no more than lib/pb/formats.c checks. */
static void format_keywords(json_t *sch, pb_format_t f, uint32_t *max_len) {
    static const struct {
        const char *format, *pattern;
        uint32_t max_len;
    } formats[] = {
        [PB_FORMAT_DATE] = {"date", NULL, 10},
        [PB_FORMAT_UUID] = {"uuid", NULL, 36},
        [PB_FORMAT_EMAIL] = {"email", NULL, 254},
        [PB_FORMAT_HTTP_URL] = {"uri", "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$", 0},
        [PB_FORMAT_LANGUAGE_TAG] = {NULL, "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", 35},
        [PB_FORMAT_PHONE] = {NULL, "^[0-9 +()-]{6,32}$", 32},
    };
    if (f == PB_FORMAT_NONE || (size_t)f >= sizeof formats / sizeof formats[0]) return;
    if (formats[f].format) json_object_set_new(sch, "format", json_string(formats[f].format));
    if (formats[f].pattern) json_object_set_new(sch, "pattern", json_string(formats[f].pattern));
    if (formats[f].max_len && (*max_len == 0 || formats[f].max_len < *max_len)) *max_len = formats[f].max_len;
}

/* A value's bounds from the rules r shows (r may be NULL). */
static void value_keywords(json_t *sch, const pb_rules_t *r, bool required) {
    if (r == NULL) return;
    const char *type = json_string_value(json_object_get(sch, "type"));
    json_t *types = json_object_get(sch, "type");
    if (json_is_array(types)) type = json_string_value(json_array_get(types, 0));
    if (type != NULL && strcmp(type, "string") == 0 && json_object_get(sch, "format") == NULL) {
        uint32_t max_len = r->max_len;
        format_keywords(sch, r->format, &max_len);
        if (r->pattern != NULL) json_object_set_new(sch, "pattern", json_string(r->pattern));
        uint32_t min_len = r->min_len ? r->min_len : required ? 1 : 0;
        if (min_len) json_object_set_new(sch, "minLength", json_integer(min_len));
        if (max_len) json_object_set_new(sch, "maxLength", json_integer(max_len));
    }
    if (type != NULL && (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0)) {
        if (r->flags & PB_RULE_MIN) json_object_set_new(sch, "minimum", json_integer(r->min));
        if (r->flags & PB_RULE_MAX) json_object_set_new(sch, "maximum", json_integer(r->max));
    }
}

/* The schema of one value of f (an element, when f is repeated). */
static json_t *value_schema(oas_schemas_t *s, const ProtobufCFieldDescriptor *f) {
    if (f->type == PROTOBUF_C_TYPE_ENUM) return ref_of(s, f->descriptor);
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) return scalar_schema(f->type);
    const ProtobufCMessageDescriptor *d = f->descriptor;
    return is_inline(d) ? inline_schema(d) : ref_of(s, d);
}

/* An element that may also be given as a string (the text_field rule): the
 * object, or the string its text field is set to, for older clients. */
static json_t *text_form(const ProtobufCFieldDescriptor *f, const pb_rules_t *r, json_t *object) {
    const ProtobufCFieldDescriptor *tf = protobuf_c_message_descriptor_get_field_by_name(f->descriptor, r->text_field);
    const pb_rules_t *tr = tf ? pb_field_rules(f->descriptor, tf) : NULL;
    char name[NAME_LEN];
    json_t *text = json_pack("{s:s, s:i, s:b, s:s}", "type", "string", "minLength", 1, "deprecated", 1,
                             "description", "");
    if (text == NULL) return object;
    if (tr != NULL && tr->max_len) json_object_set_new(text, "maxLength", json_integer(tr->max_len));
    char *d = NULL;
    if (asprintf(&d, "The form older clients send: the same as an object with only `%s` set to the string.",
                 pb_json_name(r->text_field, name, sizeof name)) >= 0) {
        json_object_set_new(text, "description", json_string(d));
        free(d);
    }
    return json_pack("{s:[o,o]}", "oneOf", object, text);
}

json_t *oas_schemas_field(oas_schemas_t *s, const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *f) {
    const pb_field_doc_t *doc = msg ? pb_field_doc(msg, f) : NULL;
    const pb_rules_t *r = doc ? &doc->shown : NULL;
    bool required = r != NULL && (r->flags & PB_RULE_REQUIRED);
    json_t *sch;
    if (oas_field_is_map(f)) {
        const ProtobufCMessageDescriptor *entry = f->descriptor;
        json_t *value = value_schema(s, &entry->fields[1]);
        /* A map's rules are its values' (and max_items its entries'). */
        if (entry->fields[1].type != PROTOBUF_C_TYPE_MESSAGE) value_keywords(value, r, false);
        sch = json_pack("{s:s, s:o*}", "type", "object", "additionalProperties", value);
        if (r != NULL && r->max_items) json_object_set_new(sch, "maxProperties", json_integer(r->max_items));
    } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        json_t *item = value_schema(s, f);
        /* An element of a list of strings is never empty (lib/pb/check.c). */
        value_keywords(item, r, f->type == PROTOBUF_C_TYPE_STRING && r != NULL);
        if (r != NULL && r->text_field != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) item = text_form(f, r, item);
        sch = json_pack("{s:s, s:o*}", "type", "array", "items", item);
        if (r != NULL && r->max_items) json_object_set_new(sch, "maxItems", json_integer(r->max_items));
        if (required) json_object_set_new(sch, "minItems", json_integer(1));
    } else {
        sch = value_schema(s, f);
        value_keywords(sch, r, required);
    }
    if (sch != NULL && doc != NULL && doc->description != NULL)
        json_object_set_new(sch, "description", json_string(doc->description));
    return sch;
}

/* The properties of desc (less skip), read-only fields marked, and the
 * required ones in *required (a new array). */
static json_t *properties(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, const char *const *skip,
                          size_t n_skip, unsigned sides, json_t **required) {
    oas_type_t *t = find(s, desc);
    json_t *props = json_object();
    *required = json_array();
    char buf[NAME_LEN];
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *name = pb_json_name(f->name, buf, sizeof buf);
        if (skipped(name, skip, n_skip)) continue;
        json_t *sch = oas_schemas_field(s, desc, f);
        if (sch == NULL) continue;
        if (t != NULL && t->paired && !t->writable[i]) json_object_set_new(sch, "readOnly", json_true());
        json_object_set_new(props, name, sch);
        /* A request states what it must give; a reply only (never in a
         * request) also what lib/pb always writes. */
        bool must = oas_field_is_required(desc, f) || (sides == OAS_REPLY && always_written(f));
        if (must) json_array_append_new(*required, json_string(name));
    }
    return props;
}

static json_t *object_schema(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, const char *const *skip,
                             size_t n_skip, unsigned sides) {
    json_t *required;
    json_t *sch = json_pack("{s:s, s:o*}", "type", "object", "properties",
                            properties(s, desc, skip, n_skip, sides, &required));
    const pb_message_doc_t *doc = pb_message_doc(desc);
    if (doc != NULL && doc->description != NULL) json_object_set_new(sch, "description", json_string(doc->description));
    if (json_array_size(required) > 0) json_object_set_new(sch, "required", required);
    else json_decref(required);
    /* What a request may hold is all there is: lib/pb refuses any other field. */
    if (sides & OAS_REQUEST) json_object_set_new(sch, "additionalProperties", json_false());
    return sch;
}

json_t *oas_schemas_body(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, const char *const *skip,
                         size_t n_skip) {
    return object_schema(s, desc, skip, n_skip, OAS_REQUEST);
}

json_t *oas_schemas_example(const ProtobufCMessageDescriptor *desc, const char *const *skip, size_t n_skip) {
    const pb_message_doc_t *doc = pb_message_doc(desc);
    if (doc == NULL || doc->example == NULL) return NULL;
    json_t *example = json_loads(doc->example, 0, NULL);
    if (!json_is_object(example)) {
        json_decref(example);
        return NULL;
    }
    for (size_t i = 0; i < n_skip; i++) json_object_del(example, skip[i]);
    return example;
}

static json_t *enum_schema(const ProtobufCEnumDescriptor *e) {
    json_t *words = json_array();
    char buf[NAME_LEN];
    const pb_enum_doc_t *doc = pb_enum_doc(e);
    /* The description lists what each word means, where it needs saying. */
    size_t cap = 64 + (doc && doc->description ? strlen(doc->description) : 0), len = 0;
    for (unsigned i = 0; i < e->n_values; i++) {
        const char *d = pb_enum_value_doc(e, e->values[i].value);
        cap += strlen(e->values[i].name) + (d ? strlen(d) : 0) + 16;
    }
    char *text = malloc(cap);
    if (text != NULL) {
        text[0] = '\0';
        if (doc && doc->description) len += (size_t)snprintf(text, cap, "%s", doc->description);
    }
    /* values holds each number once (aliases live only in values_by_name). */
    bool listed = false;
    for (unsigned i = 0; i < e->n_values; i++) {
        const char *w = pb_enum_word(e, e->values[i].value, buf, sizeof buf);
        if (w == NULL) continue;
        json_array_append_new(words, json_string(w));
        const char *d = pb_enum_value_doc(e, e->values[i].value);
        if (d == NULL || text == NULL || len >= cap) continue;
        const char *sep = listed ? "\n" : len > 0 ? "\n\n" : "";
        len += (size_t)snprintf(text + len, cap - len, "%s- `%s`: %s", sep, w, d);
        listed = true;
    }
    json_t *sch = json_pack("{s:s, s:o}", "type", "string", "enum", words);
    if (text != NULL && len > 0) json_object_set_new(sch, "description", json_string(text));
    free(text);
    return sch;
}

json_t *oas_schemas_components(oas_schemas_t *s) {
    if (fix_names(s) != 0) return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < s->n; i++) {
        const oas_type_t *t = &s->types[i];
        json_t *sch = t->is_enum ? enum_schema(t->desc) : object_schema(s, t->desc, NULL, 0, t->sides);
        json_object_set_new(out, t->name, sch);
    }
    return out;
}
