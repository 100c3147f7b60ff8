/* pb — one generic JSON <-> protobuf codec, driven by protobuf-c descriptors
 * and following the proto3 JSON mapping. The gateway never copies a field by
 * hand: adding a field to a .proto adds it to the API.
 *
 * Names: JSON uses lowerCamelCase of the proto field name ("given_name" ->
 * "givenName"); only that spelling is accepted on input.
 * Enums: the lowercase value name with the enum's prefix stripped, the prefix
 * being what precedes "UNSPECIFIED" in the name of value 0
 * (CASE_SOURCE_SCHOOL <-> "school"). Value 0 is never accepted nor emitted.
 * Scalars: int64/uint64/sint64/fixed64 as strings on output, strings or
 * numbers on input; 32-bit integers as numbers (strings holding an integer
 * accepted on input); float/double as numbers ("NaN", "Infinity" strings
 * accepted); bool as true/false; bytes as base64.
 * Well-known types: google.protobuf.Timestamp as RFC 3339 (any offset on
 * input, UTC "Z" on output); the wrappers (StringValue ...) as their bare value.
 * Maps (repeated *Entry messages with key=1, value=2) as JSON objects.
 * Oneofs: at most one member may be set.
 *
 * Output emits every field except: empty strings and bytes, unset
 * (NULL) message fields, and enums at 0. Bools, numbers and repeated fields
 * (as []) are always emitted.
 *
 * Input: null means "unset". An unknown field, a wrong type, a bad enum word,
 * a bad timestamp, an out-of-range number each add a violation naming the
 * field's JSON path ("parents[0].communicationNeeds[1]", "" for the body as a
 * whole); decoding goes on to report up to PB_MAX_ERRORS of them. So does a
 * value, or a required field left out, against the field's rules declared
 * in the .proto (pb/rules.h: "is required", "must be at most 100
 * characters", "must be a UUID" ...), in bodies and parameters alike.
 * A message field whose rules name a text_field also takes a JSON string
 * (the form older clients sent): the message with only that string field
 * set to it, checked against that field's rules ("" is "must not be empty").
 *
 * Details the mapping leaves open, as implemented in lib/pb:
 * - Duplicate keys in a body are malformed JSON. A 64-bit value above
 *   INT64_MAX must be a string: jansson cannot parse it as a number.
 * - Enum numbers are refused on input; a number the descriptor does not know
 *   is emitted as that number. A 0 inside a list or map is left out.
 * - Messages nest at most 64 deep, in and out ("nested too deeply").
 * - Invalid UTF-8 in a string from the wire is emitted as U+FFFD.
 * - Doubles are printed by jansson with 17 significant digits (0.1 comes
 *   out as 0.10000000000000001, which reads back as the same double).
 */
#ifndef PARLEY_PB_PB_H
#define PARLEY_PB_PB_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "core/arena.h"

#define PB_MAX_ERRORS 20

typedef struct {
    const char *field;   /* JSON path; "" for the whole body */
    const char *message; /* e.g. "unknown field", "expected a string" */
} pb_error_t;

typedef struct {
    arena_t *arena; /* where items and their strings live */
    pb_error_t *items;
    size_t count, cap;
} pb_errors_t;

/* Empties errs, which will allocate from arena. */
void pb_errors_init(pb_errors_t *errs, arena_t *arena);

/* Appends one error (strings copied into the arena, invalid UTF-8 replaced
 * so that they can always be echoed in JSON). Ignored past PB_MAX_ERRORS. */
void pb_errors_add(pb_errors_t *errs, const char *field, const char *message);

/* Limits on JSON text that any parser of it applies first (see
 * pb_json_over_limits): nesting of arrays and objects, and values in all
 * (counted as the commas and colons between them). */
#define PB_JSON_MAX_DEPTH 32
#define PB_JSON_MAX_VALUES 20000
#define PB_JSON_STR_(x) #x
#define PB_JSON_STR(x) PB_JSON_STR_(x)

/* NULL when text (len bytes) is within the limits; else what it exceeds, as
 * static text ("nests arrays and objects deeper than 32 levels"). Linear in
 * len, no recursion, no allocation. */
const char *pb_json_over_limits(const char *text, size_t len);

/* json_loadb, after the limits: text past them is not parsed, NULL is
 * returned and err->text (when err is not NULL) says which limit. Use it for
 * every JSON text that comes from outside the process. */
json_t *pb_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err);

/* Decodes JSON text (len bytes, not necessarily NUL-terminated) into a new
 * message of type desc allocated in arena. The text must be a JSON object.
 * Returns 0 and sets *out; or -1 with errs filled and *out NULL (malformed
 * JSON is one error with field "" and jansson's line and column; text past
 * the limits above is one error with field "" naming the limit). */
int pb_from_json(arena_t *arena, const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                 ProtobufCMessage **out, pb_errors_t *errs);

/* As pb_from_json, from a parsed JSON object. path is the prefix for error
 * paths ("" at the root). */
int pb_from_json_value(arena_t *arena, const ProtobufCMessageDescriptor *desc, const json_t *value,
                       const char *path, ProtobufCMessage **out, pb_errors_t *errs);

/* Sets one top-level field of msg (allocated in arena) named json_name from a
 * text value, as a path or query parameter gives it: "10" for an int32,
 * "open" for an enum, "true" for a bool. A repeated field gets the value
 * appended. A Timestamp or wrapper field takes its JSON text form
 * ("2024-01-31T09:00:00Z", "7"). Returns 0, or -1 with one error on
 * json_name (unknown name, a map or other message-typed field, or a value
 * that does not parse), leaving msg unchanged. */
int pb_set_from_string(arena_t *arena, ProtobufCMessage *msg, const char *json_name, const char *value,
                       pb_errors_t *errs);

/* The message as a new JSON object (the caller owns the reference), or
 * NULL when out of memory or nested more than 64 deep. */
json_t *pb_to_json(const ProtobufCMessage *msg);

/* The message as compact JSON text, malloc'd (the caller frees), or NULL. */
char *pb_to_json_text(const ProtobufCMessage *msg);

/* lowerCamelCase of a proto field name into out (cap bytes); returns out. */
const char *pb_json_name(const char *proto_name, char *out, size_t cap);

/* The JSON word of enum value value into buf (cap bytes): lowercase, the
 * enum's prefix stripped ("school" for CASE_SOURCE_SCHOOL). Returns buf, or
 * NULL for 0 and for a number the descriptor does not know (the codec never
 * emits either as a word). */
const char *pb_enum_word(const ProtobufCEnumDescriptor *e, int value, char *buf, size_t cap);

#endif
