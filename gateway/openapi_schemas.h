/* openapi_schemas — JSON Schemas of protobuf messages and enums as lib/pb
 * writes them, for the OpenAPI document: a component per message and enum,
 * named by its name within its package ("Case"), or by its full name less
 * "parley." when two packages share a name ("intake.v1.Status"); a
 * Timestamp or wrapper written inline as the bare value lib/pb uses; maps
 * as objects. Each field's rules, description and each message's example
 * come from the table the build generates from the .proto files
 * (lib/pb/rules.h), so the document states what lib/pb enforces. Used by
 * gateway/openapi.c only.
 *
 * Use: add every message the routes send or return, saying on which side
 * (a request, a reply or both); pair each write route's reply with its
 * input (to learn which fields are read-only); then ask for references,
 * field schemas and the components. Names are fixed at the first question,
 * so every add comes before it. */
#ifndef PARLEY_GATEWAY_OPENAPI_SCHEMAS_H
#define PARLEY_GATEWAY_OPENAPI_SCHEMAS_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

typedef struct oas_schemas oas_schemas_t;

/* Where a message is used: in a request (body or parameters), in a reply. A
 * request's schema declares its required fields and no other properties; a
 * reply's declares the fields always present. */
#define OAS_REQUEST 1u
#define OAS_REPLY 2u

/* A new, empty registry, or NULL when out of memory. */
oas_schemas_t *oas_schemas_new(void);
void oas_schemas_destroy(oas_schemas_t **self);

/* Registers desc and every message and enum reachable from it (a Timestamp
 * or wrapper is written inline, never registered), as used on side
 * (OAS_REQUEST, OAS_REPLY, or both). Returns 0, or -1 when out of memory or
 * after the names were fixed. */
int oas_schemas_add(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, unsigned side);

/* Registers what the schema of field f refers to (its enum, its message and
 * what that reaches; a map's value), without the message f belongs to. */
int oas_schemas_add_field(oas_schemas_t *s, const ProtobufCFieldDescriptor *f, unsigned side);

/* Records that out is the reply to a write whose input is in, the fields of
 * in named by skip (n_skip JSON names: those the path binds) being no part
 * of the body. A field of out that the body has no field of the same JSON
 * name for is read-only there, and fields that are messages in both are
 * paired in turn. A field is read-only when it was paired at least once and
 * never found in a body. */
void oas_schemas_pair(oas_schemas_t *s, const ProtobufCMessageDescriptor *out, const ProtobufCMessageDescriptor *in,
                      const char *const *skip, size_t n_skip);

/* Whether f is a map field (a repeated *Entry message with key = 1 and
 * value = 2, the shape lib/pb recognises). */
bool oas_field_is_map(const ProtobufCFieldDescriptor *f);

/* Whether f can be given as a query parameter: a scalar, an enum, a
 * Timestamp or a wrapper, single or repeated (what pb_set_from_string sets). */
bool oas_field_is_queryable(const ProtobufCFieldDescriptor *f);

/* Whether a request must give field f of msg (its rules say required). */
bool oas_field_is_required(const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *f);

/* The description of field f of msg (its comment in the .proto), or NULL. */
const char *oas_field_description(const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *f);

/* {"$ref": "#/components/schemas/<name>"} for a registered message, as a new
 * reference; NULL when desc was never registered. */
json_t *oas_schemas_ref(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc);

/* The schema of field f of message msg with its rules and description (not
 * marked read-only), as a new reference. */
json_t *oas_schemas_field(oas_schemas_t *s, const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *f);

/* The schema of desc as a request body, leaving out the fields whose JSON
 * names are in skip (n_skip of them: those the path binds): an object with
 * its required fields and no other properties, as a new reference. */
json_t *oas_schemas_body(oas_schemas_t *s, const ProtobufCMessageDescriptor *desc, const char *const *skip,
                         size_t n_skip);

/* An example of desc from the table (lib/pb/rules.h), less the fields named
 * in skip, as a new reference; NULL when there is none. */
json_t *oas_schemas_example(const ProtobufCMessageDescriptor *desc, const char *const *skip, size_t n_skip);

/* Every registered message and enum by component name, as a new object. */
json_t *oas_schemas_components(oas_schemas_t *s);

#endif
