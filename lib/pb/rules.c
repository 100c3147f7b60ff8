/* rules — lookups in the generated table of field rules and descriptions
 * (lib/pb/rules.h). The table is sorted by full name, so a message or enum is
 * found by binary search; a field by its index in protobuf-c's descriptor,
 * which lists fields in number order as the table does. */
#include "pb/rules.h"

#include <stdlib.h>
#include <string.h>

static int by_message_name(const void *key, const void *entry) {
    return strcmp(key, ((const pb_message_doc_t *)entry)->full_name);
}

static int by_enum_name(const void *key, const void *entry) {
    return strcmp(key, ((const pb_enum_doc_t *)entry)->full_name);
}

const pb_message_doc_t *pb_message_doc(const ProtobufCMessageDescriptor *d) {
    if (d == NULL || d->name == NULL) return NULL;
    return bsearch(d->name, pb__message_docs, pb__n_message_docs, sizeof pb__message_docs[0], by_message_name);
}

const pb_field_doc_t *pb_field_doc(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f) {
    return pb_message_field_doc(pb_message_doc(d), d, f);
}

const pb_field_doc_t *pb_message_field_doc(const pb_message_doc_t *m, const ProtobufCMessageDescriptor *d,
                                           const ProtobufCFieldDescriptor *f) {
    if (m == NULL || d == NULL || f == NULL) return NULL;
    /* f is one of d's fields: its index is where the table has it, unless
     * the descriptor and the table disagree (a descriptor made by hand). */
    if (f >= d->fields && f < d->fields + d->n_fields) {
        size_t i = (size_t)(f - d->fields);
        if (i < m->n_fields && strcmp(m->fields[i].name, f->name) == 0) return &m->fields[i];
    }
    for (size_t i = 0; i < m->n_fields; i++)
        if (strcmp(m->fields[i].name, f->name) == 0) return &m->fields[i];
    return NULL;
}

const pb_rules_t *pb_field_rules(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f) {
    return pb_message_field_rules(pb_message_doc(d), d, f);
}

const pb_rules_t *pb_message_field_rules(const pb_message_doc_t *m, const ProtobufCMessageDescriptor *d,
                                         const ProtobufCFieldDescriptor *f) {
    const pb_field_doc_t *doc = pb_message_field_doc(m, d, f);
    if (doc == NULL) return NULL;
    const pb_rules_t *r = &doc->rules;
    if (r->flags == 0 && r->min_len == 0 && r->max_len == 0 && r->max_items == 0 && r->format == PB_FORMAT_NONE &&
        r->pattern == NULL)
        return NULL;
    return r;
}

const pb_enum_doc_t *pb_enum_doc(const ProtobufCEnumDescriptor *e) {
    if (e == NULL || e->name == NULL) return NULL;
    return bsearch(e->name, pb__enum_docs, pb__n_enum_docs, sizeof pb__enum_docs[0], by_enum_name);
}

const char *pb_enum_value_doc(const ProtobufCEnumDescriptor *e, int number) {
    const pb_enum_doc_t *d = pb_enum_doc(e);
    for (size_t i = 0; d != NULL && i < d->n_values; i++)
        if (d->values[i].number == number) return d->values[i].description;
    return NULL;
}
