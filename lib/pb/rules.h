/* rules — each field's rules, description and example as the .proto files
 * declare them (the parley.options.v1.rules field option, and the comment
 * before the field: proto/parley/options/v1/rules.proto). protobuf-c keeps no
 * custom options at run time, so the build reads them from a descriptor set
 * into a static table (tools/gen_field_rules.py writes $(GEN)/pb/field_rules.c).
 *
 * lib/pb enforces `rules` whenever it decodes a request (pb_from_json_value,
 * pb_set_from_string); the OpenAPI generator writes `shown`, the descriptions
 * and the examples. Everything returned is static and borrowed. */
#ifndef PARLEY_PB_RULES_H
#define PARLEY_PB_RULES_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* What a string holds (parley.options.v1.Format, in the same order). */
typedef enum {
    PB_FORMAT_NONE = 0,
    PB_FORMAT_DATE,
    PB_FORMAT_UUID,
    PB_FORMAT_EMAIL,
    PB_FORMAT_HTTP_URL,
    PB_FORMAT_LANGUAGE_TAG,
    PB_FORMAT_PHONE,
} pb_format_t;

#define PB_RULE_REQUIRED 1u /* a request must give it; a reply-only message always has it */
#define PB_RULE_MIN 2u      /* min holds a bound */
#define PB_RULE_MAX 4u      /* max holds a bound */

typedef struct {
    unsigned flags;              /* PB_RULE_* */
    const char *required_reason; /* after "is required: ", or NULL */
    const char *item, *items;    /* a list's element, singular and plural, or NULL */
    uint32_t min_len, max_len;   /* characters of a string (each element of a list); 0: no bound */
    uint32_t max_items;          /* elements of a list; 0: no bound */
    int64_t min, max;            /* a number's bounds, inclusive, when flags say */
    pb_format_t format;
    const char *pattern;         /* POSIX ERE that is also ECMA-262, or NULL */
    const char *pattern_message; /* what is said when a string does not match */
    const char *text_field;      /* a message field: the string field a JSON string given instead stands for */
} pb_rules_t;

typedef struct {
    const char *name;        /* the proto field name ("given_name") */
    pb_rules_t rules;        /* what a request's value must satisfy */
    pb_rules_t shown;        /* what the document states: rules, and for a reply's field the limits of the
                                request fields that set it (never `required`) */
    const char *description; /* the field's comment, or NULL */
} pb_field_doc_t;

typedef struct {
    const char *full_name;   /* "parley.intake.v1.ParentInput" */
    const char *description; /* the message's comment, or NULL */
    const char *example;     /* an example of the message as JSON text, or NULL */
    size_t n_fields;
    const pb_field_doc_t *fields; /* one per field, in field-number order (protobuf-c's order) */
} pb_message_doc_t;

typedef struct {
    int number;
    const char *description; /* the value's comment, or NULL */
} pb_enum_value_doc_t;

typedef struct {
    const char *full_name;
    const char *description;
    size_t n_values;
    const pb_enum_value_doc_t *values;
} pb_enum_doc_t;

/* The table entry of message d, or NULL when the build knows none (a
 * descriptor made by hand). */
const pb_message_doc_t *pb_message_doc(const ProtobufCMessageDescriptor *d);

/* Field f of message d: its entry, or NULL. */
const pb_field_doc_t *pb_field_doc(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f);

/* The rules lib/pb enforces on field f of d, or NULL when it has none. */
const pb_rules_t *pb_field_rules(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f);

/* The same two, with d's entry m already found (m may be NULL): what a
 * decoder walking d's fields uses, so it searches the table once. */
const pb_field_doc_t *pb_message_field_doc(const pb_message_doc_t *m, const ProtobufCMessageDescriptor *d,
                                           const ProtobufCFieldDescriptor *f);
const pb_rules_t *pb_message_field_rules(const pb_message_doc_t *m, const ProtobufCMessageDescriptor *d,
                                         const ProtobufCFieldDescriptor *f);

const pb_enum_doc_t *pb_enum_doc(const ProtobufCEnumDescriptor *e);

/* The comment of e's value number, or NULL. */
const char *pb_enum_value_doc(const ProtobufCEnumDescriptor *e, int number);

/* NULL when s (len bytes, valid UTF-8) is of format f; else the message for
 * the API client ("must be a UUID"). PB_FORMAT_NONE accepts everything. */
const char *pb_format_check(pb_format_t f, const char *s, size_t len);

/* The generated table (field_rules.c), sorted by full name. */
extern const pb_message_doc_t pb__message_docs[];
extern const size_t pb__n_message_docs;
extern const pb_enum_doc_t pb__enum_docs[];
extern const size_t pb__n_enum_docs;

#endif
