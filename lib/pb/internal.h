/* pb internals — shared by the files of lib/pb only; nothing outside lib/pb
 * may include this header. Names use the libuv `pb__` convention.
 *
 * Conventions: a parser returns NULL on success or a short, static or
 * arena-owned message for the API client ("expected an integer"), and writes
 * its result only on success. Text given as (s, len) must have s[len] == '\0'
 * (JSON strings and C strings both do); an embedded NUL makes the text invalid.
 */
#ifndef PARLEY_PB_INTERNAL_H
#define PARLEY_PB_INTERNAL_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "pb/rules.h"

/* Deepest message nesting decoded or encoded; protects the stack from
 * recursive message types fed with hostile input. */
#define PB__MAX_DEPTH 64

/* names.c: JSON names, enum words, descriptor questions. */

/* The field of desc whose JSON name is json_name, or NULL. */
const ProtobufCFieldDescriptor *pb__field_by_json_name(const ProtobufCMessageDescriptor *desc,
                                                       const char *json_name);

/* Whether f is a map (a repeated *Entry message with key = 1, value = 2). */
int pb__field_is_map(const ProtobufCFieldDescriptor *f);

/* The enum word for value into out ("dark_blue"); NULL for 0 or a number the
 * descriptor does not know. */
const char *pb__enum_word(const ProtobufCEnumDescriptor *e, int32_t value, char *out, size_t cap);

/* The value whose word is word (len bytes); value 0 never matches.
 * Returns 0, or -1 when no value matches. */
int pb__enum_from_word(const ProtobufCEnumDescriptor *e, const char *word, size_t len, int32_t *out);

/* "expected one of: red, dark_blue", in the arena (a static fallback on OOM). */
const char *pb__enum_choices(arena_t *arena, const ProtobufCEnumDescriptor *e);

/* "only one of a, b may be set" for the oneof f belongs to, in the arena. */
const char *pb__oneof_conflict(arena_t *arena, const ProtobufCMessageDescriptor *desc,
                               const ProtobufCFieldDescriptor *f);

/* scalar.c: one non-message value, as protobuf-c lays it out. */

/* Bytes one element of type t occupies in a message or repeated array. */
size_t pb__slot_size(ProtobufCType t);

/* Parses a JSON value / a text (a path or query parameter) for field f's
 * type into dst. Strings and bytes are copied into arena. */
const char *pb__scalar_from_json(arena_t *arena, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst);
const char *pb__scalar_from_text(arena_t *arena, const ProtobufCFieldDescriptor *f, const char *s, size_t len,
                                 void *dst);

/* The value at src as a new JSON value, or NULL when out of memory. An enum
 * the descriptor does not know (or 0) comes out as its number. */
json_t *pb__scalar_to_json(const ProtobufCFieldDescriptor *f, const void *src);

/* text.c: base64 and UTF-8. */

/* Decodes standard or URL-safe base64, padded or not, into the arena.
 * Returns 0, or -1 for text that is not base64 (or out of memory). */
int pb__base64_decode(arena_t *arena, const char *s, size_t len, ProtobufCBinaryData *out);

/* Standard padded base64 of data as a new JSON string, or NULL on OOM. */
json_t *pb__base64_json(const uint8_t *data, size_t len);

/* A new JSON string of s; invalid UTF-8 (which protobuf-c does not reject
 * on the wire) becomes U+FFFD instead of failing. NULL when out of memory. */
json_t *pb__json_string(const char *s, size_t len);

/* Whether s (len bytes) is valid UTF-8. */
int pb__utf8_valid(const char *s, size_t len);

/* s with invalid UTF-8 replaced, malloc'd and NUL-terminated (the caller
 * frees), its length in *out_len (may be NULL); NULL when out of memory. */
char *pb__utf8_clean(const char *s, size_t len, size_t *out_len);

/* wkt.c: well-known types with a JSON form of their own. */

/* Whether desc is google.protobuf.Timestamp or a wrapper (StringValue ...). */
int pb__wkt_is(const ProtobufCMessageDescriptor *desc);

/* Fills msg (of a WKT type, already initialised) from a JSON value / text. */
const char *pb__wkt_from_json(arena_t *arena, ProtobufCMessage *msg, const json_t *v);
const char *pb__wkt_from_text(arena_t *arena, ProtobufCMessage *msg, const char *s, size_t len);

/* msg as its bare JSON value, or NULL when out of memory. A Timestamp
 * outside 0001..9999 or with bad nanos comes out as null. */
json_t *pb__wkt_to_json(const ProtobufCMessage *msg);

/* Parses RFC 3339 text into seconds and nanoseconds since the epoch (UTC). */
const char *pb__timestamp_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos);

/* Formats as RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.
 * Returns 0, or -1 when out of the Timestamp range. */
int pb__timestamp_format(int64_t seconds, int32_t nanos, char *out, size_t cap);

/* check.c: field rules (lib/pb/rules.h) against what a request gave. */

/* One value of f (an element, for a list) at src against r (may be NULL):
 * NULL when it satisfies them, else the message. A singular empty string is
 * "not given" and satisfies them; an empty element of a list does not. */
const char *pb__rules_check_value(arena_t *arena, const pb_rules_t *r, const ProtobufCFieldDescriptor *f,
                                  const void *src);

/* A list of n elements against r's max_items: NULL, or the message. */
const char *pb__rules_check_count(arena_t *arena, const pb_rules_t *r, size_t n);

/* What is said of a required field f left out ("is required", "at least one
 * child is required"). */
const char *pb__rules_required_message(arena_t *arena, const pb_rules_t *r, const ProtobufCFieldDescriptor *f);

/* Whether msg has f given: a non-empty string, list or bytes, a message, an
 * enum other than 0, the oneof member set; a number or bool always. */
int pb__field_is_given(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *msg);

#endif
