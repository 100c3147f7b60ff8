/* decode — JSON (or one parameter's text) into a protobuf-c message in an
 * arena, walking the descriptors. Every violation is recorded on its JSON
 * path and decoding goes on, so a client learns of all its mistakes at once.
 * Each field's rules (lib/pb/rules.h) are checked as its value is decoded,
 * and a message's required fields once all its keys are read. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pb/internal.h"
#include "pb/pb.h"
#include "pb/rules.h"

/* Longest error path kept; deeper paths are cut, never overrun. */
#define PATH_CAP 512

typedef struct {
    arena_t *arena;
    pb_errors_t *errs;
    int failed;      /* any violation, even one past PB_MAX_ERRORS */
    size_t n_errors; /* violations found by this decode */
    int depth;
    size_t path_len;
    char path[PATH_CAP];
} decoder_t;

static void decoder_init(decoder_t *d, arena_t *arena, pb_errors_t *errs, const char *path) {
    d->arena = arena;
    d->errs = errs;
    d->failed = 0;
    d->n_errors = 0;
    d->depth = 0;
    d->path_len = 0;
    d->path[0] = '\0';
    if (path != NULL) {
        snprintf(d->path, sizeof d->path, "%s", path);
        d->path_len = strlen(d->path);
    }
}

static void fail(decoder_t *d, const char *message) {
    d->failed = 1;
    d->n_errors++;
    pb_errors_add(d->errs, d->path, message);
}

/* Whether to stop looking: the client will not see more errors anyway. */
static int full(const decoder_t *d) { return d->n_errors >= PB_MAX_ERRORS; }

/* Appends ".name" (or "name" at the root) to the path; returns what to pass
 * to path_pop. */
static size_t path_push_name(decoder_t *d, const char *name) {
    size_t saved = d->path_len;
    int n = snprintf(d->path + saved, sizeof d->path - saved, "%s%s", saved > 0 ? "." : "", name);
    if (n > 0) d->path_len = saved + (size_t)n < sizeof d->path ? saved + (size_t)n : sizeof d->path - 1;
    return saved;
}

static size_t path_push_index(decoder_t *d, size_t i) {
    size_t saved = d->path_len;
    int n = snprintf(d->path + saved, sizeof d->path - saved, "[%zu]", i);
    if (n > 0) d->path_len = saved + (size_t)n < sizeof d->path ? saved + (size_t)n : sizeof d->path - 1;
    return saved;
}

static void path_pop(decoder_t *d, size_t saved) {
    d->path_len = saved;
    d->path[saved] = '\0';
}

static ProtobufCMessage *message_new(decoder_t *d, const ProtobufCMessageDescriptor *desc) {
    ProtobufCMessage *m = arena_alloc(d->arena, desc->sizeof_message);
    if (m == NULL) {
        fail(d, "out of memory");
        return NULL;
    }
    protobuf_c_message_init(desc, m);
    return m;
}

static void decode_fields(decoder_t *d, ProtobufCMessage *msg, const json_t *obj);

/* A message value: an object, or a well-known type's own JSON form. */
static ProtobufCMessage *decode_message(decoder_t *d, const ProtobufCMessageDescriptor *desc, const json_t *v) {
    int wkt = pb__wkt_is(desc);
    if (!wkt && !json_is_object(v)) {
        fail(d, "expected an object");
        return NULL;
    }
    if (d->depth >= PB__MAX_DEPTH) {
        fail(d, "nested too deeply");
        return NULL;
    }
    ProtobufCMessage *m = message_new(d, desc);
    if (m == NULL) return NULL;
    if (wkt) {
        const char *err = pb__wkt_from_json(d->arena, m, v);
        if (err != NULL) fail(d, err);
        return m;
    }
    d->depth++;
    decode_fields(d, m, v);
    d->depth--;
    return m;
}

/* A message given as a JSON string, as its text_field rule allows: the
 * message with only that string field set, checked against the field's own
 * rules (its path is the element's, as the client wrote no key). */
static ProtobufCMessage *decode_text_form(decoder_t *d, const ProtobufCMessageDescriptor *desc, const char *name,
                                          const json_t *v) {
    const ProtobufCFieldDescriptor *tf = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    if (tf == NULL || tf->type != PROTOBUF_C_TYPE_STRING || tf->label == PROTOBUF_C_LABEL_REPEATED) {
        fail(d, "expected an object");
        return NULL;
    }
    if (json_string_length(v) == 0) {
        fail(d, "must not be empty");
        return NULL;
    }
    ProtobufCMessage *m = message_new(d, desc);
    if (m == NULL) return NULL;
    void *slot = (char *)m + tf->offset;
    const char *err = pb__scalar_from_json(d->arena, tf, v, slot);
    if (err == NULL) err = pb__rules_check_value(d->arena, pb_field_rules(desc, tf), tf, slot);
    if (err != NULL) fail(d, err);
    return m;
}

/* One value of f (an element, for a repeated field) into dst, then checked
 * against f's rules r (may be NULL) when it decoded. */
static void decode_value(decoder_t *d, const ProtobufCFieldDescriptor *f, const pb_rules_t *r, const json_t *v,
                         void *dst) {
    size_t before = d->n_errors;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && json_is_string(v) && r != NULL && r->text_field != NULL) {
        *(ProtobufCMessage **)dst = decode_text_form(d, f->descriptor, r->text_field, v);
        return;
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        *(ProtobufCMessage **)dst = decode_message(d, f->descriptor, v);
    } else {
        const char *err = pb__scalar_from_json(d->arena, f, v, dst);
        if (err != NULL) fail(d, err);
    }
    if (r == NULL || d->n_errors != before) return;
    const char *err = pb__rules_check_value(d->arena, r, f, dst);
    if (err != NULL) fail(d, err);
}

/* Room for n elements of f's type in the arena, or NULL (and a violation). */
static void *elements_new(decoder_t *d, const ProtobufCFieldDescriptor *f, size_t n) {
    size_t size = pb__slot_size(f->type);
    if (size == 0 || n > SIZE_MAX / 2 / size) {
        fail(d, "too many elements");
        return NULL;
    }
    void *p = arena_alloc(d->arena, n * size);
    if (p == NULL) fail(d, "out of memory");
    return p;
}

static void decode_repeated(decoder_t *d, const ProtobufCFieldDescriptor *f, const pb_rules_t *r, const json_t *v,
                            ProtobufCMessage *msg) {
    if (!json_is_array(v)) {
        fail(d, "expected an array");
        return;
    }
    size_t n = json_array_size(v), size = pb__slot_size(f->type);
    const char *over = pb__rules_check_count(d->arena, r, n);
    if (over != NULL) fail(d, over);
    if (n == 0) return;
    char *items = elements_new(d, f, n);
    if (items == NULL) return;
    for (size_t i = 0; i < n && !full(d); i++) {
        size_t saved = path_push_index(d, i);
        decode_value(d, f, r, json_array_get(v, i), items + i * size);
        path_pop(d, saved);
    }
    *(size_t *)((char *)msg + f->quantifier_offset) = n;
    *(void **)((char *)msg + f->offset) = items;
}

/* A map: a JSON object whose keys become entry keys (parsed as the key
 * field's type, since JSON keys are always strings). The map's rules r
 * (may be NULL) bound its entries (max_items) and apply to each value. */
static void decode_map(decoder_t *d, const ProtobufCFieldDescriptor *f, const pb_rules_t *r, const json_t *v,
                       ProtobufCMessage *msg) {
    if (!json_is_object(v)) {
        fail(d, "expected an object");
        return;
    }
    const ProtobufCMessageDescriptor *entry_desc = f->descriptor;
    const ProtobufCFieldDescriptor *key_f = &entry_desc->fields[0], *value_f = &entry_desc->fields[1];
    size_t n = json_object_size(v);
    const char *over = pb__rules_check_count(d->arena, r, n);
    if (over != NULL) fail(d, over);
    if (n == 0) return;
    ProtobufCMessage **entries = elements_new(d, f, n);
    if (entries == NULL) return;
    size_t count = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value) {
        if (count == n || full(d)) break;
        size_t saved = path_push_name(d, key);
        ProtobufCMessage *entry = message_new(d, entry_desc);
        if (entry != NULL) {
            const char *err = pb__scalar_from_text(d->arena, key_f, key, strlen(key), (char *)entry + key_f->offset);
            if (err != NULL) fail(d, err);
            decode_value(d, value_f, value_f->type == PROTOBUF_C_TYPE_MESSAGE ? NULL : r, value,
                         (char *)entry + value_f->offset);
            entries[count++] = entry;
        }
        path_pop(d, saved);
    }
    *(size_t *)((char *)msg + f->quantifier_offset) = count;
    *(void **)((char *)msg + f->offset) = entries;
}

/* The has_ flag of a proto2 optional scalar, or NULL when f has none. */
static protobuf_c_boolean *presence_flag(const ProtobufCFieldDescriptor *f, ProtobufCMessage *msg) {
    if (f->label != PROTOBUF_C_LABEL_OPTIONAL || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) return NULL;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) return NULL;
    return (protobuf_c_boolean *)((char *)msg + f->quantifier_offset);
}

/* Claims f's oneof for f; a violation when another member holds it. */
static int oneof_claim(decoder_t *d, const ProtobufCFieldDescriptor *f, ProtobufCMessage *msg) {
    uint32_t *which = (uint32_t *)((char *)msg + f->quantifier_offset);
    if (*which != 0 && *which != f->id) {
        fail(d, pb__oneof_conflict(d->arena, msg->descriptor, f));
        return -1;
    }
    *which = f->id;
    return 0;
}

static void decode_field(decoder_t *d, const ProtobufCFieldDescriptor *f, const pb_rules_t *r, const json_t *v,
                         ProtobufCMessage *msg) {
    if (json_is_null(v)) return; /* null means unset */
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (pb__field_is_map(f)) decode_map(d, f, r, v, msg);
        else decode_repeated(d, f, r, v, msg);
        return;
    }
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && oneof_claim(d, f, msg) != 0) return;
    decode_value(d, f, r, v, (char *)msg + f->offset);
    protobuf_c_boolean *has = presence_flag(f, msg);
    if (has != NULL) *has = 1;
}

/* The rules of field f of doc's message (doc may be NULL), or NULL. */
static const pb_rules_t *rules_of(const pb_message_doc_t *doc, const ProtobufCMessageDescriptor *desc,
                                  const ProtobufCFieldDescriptor *f) {
    return pb_message_field_rules(doc, desc, f);
}

/* The required fields msg lacks, each on its own path; a field whose value
 * was refused already (failed[i]) is not said to be missing as well. */
static void check_required(decoder_t *d, const ProtobufCMessage *msg, const pb_message_doc_t *doc,
                           const bool *failed) {
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    char name[256];
    for (unsigned i = 0; i < desc->n_fields && !full(d); i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const pb_rules_t *r = rules_of(doc, desc, f);
        if (r == NULL || !(r->flags & PB_RULE_REQUIRED) || (failed != NULL && failed[i]) ||
            pb__field_is_given(f, msg))
            continue;
        size_t saved = path_push_name(d, pb_json_name(f->name, name, sizeof name));
        fail(d, pb__rules_required_message(d->arena, r, f));
        path_pop(d, saved);
    }
}

static void decode_fields(decoder_t *d, ProtobufCMessage *msg, const json_t *obj) {
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const pb_message_doc_t *doc = pb_message_doc(desc);
    bool *failed = doc != NULL && desc->n_fields > 0 ? arena_alloc(d->arena, desc->n_fields * sizeof *failed) : NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        if (full(d)) break;
        size_t saved = path_push_name(d, key);
        const ProtobufCFieldDescriptor *f = pb__field_by_json_name(desc, key);
        if (f == NULL) {
            fail(d, "unknown field");
        } else {
            size_t before = d->n_errors;
            decode_field(d, f, rules_of(doc, desc, f), value, msg);
            if (d->n_errors != before && failed != NULL) failed[f - desc->fields] = true;
        }
        path_pop(d, saved);
    }
    if (doc != NULL) check_required(d, msg, doc, failed);
}

int pb_from_json_value(arena_t *arena, const ProtobufCMessageDescriptor *desc, const json_t *value,
                       const char *path, ProtobufCMessage **out, pb_errors_t *errs) {
    assert(arena != NULL && desc != NULL && out != NULL && errs != NULL);
    *out = NULL;
    decoder_t d;
    decoder_init(&d, arena, errs, path);
    if (!json_is_object(value)) {
        fail(&d, d.path_len == 0 ? "expected a JSON object" : "expected an object");
        return -1;
    }
    ProtobufCMessage *m = decode_message(&d, desc, value);
    if (d.failed || m == NULL) return -1;
    *out = m;
    return 0;
}

int pb_from_json(arena_t *arena, const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                 ProtobufCMessage **out, pb_errors_t *errs) {
    assert(arena != NULL && desc != NULL && out != NULL && errs != NULL);
    *out = NULL;
    json_error_t jerr;
    const char *over = pb_json_over_limits(text != NULL ? text : "", text != NULL ? len : 0);
    if (over != NULL) {
        pb_errors_add(errs, "", arena_printf(arena, "the body %s", over));
        return -1;
    }
    /* DECODE_ANY so that "42" is a wrong type, not malformed JSON; duplicate
     * keys are refused because which one wins would be a guess. */
    json_t *root = json_loadb(text != NULL ? text : "", text != NULL ? len : 0,
                              JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        char *msg = arena_printf(arena, "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        pb_errors_add(errs, "", msg != NULL ? msg : "malformed JSON");
        return -1;
    }
    int rc = pb_from_json_value(arena, desc, root, "", out, errs);
    json_decref(root);
    return rc;
}

int pb_set_from_string(arena_t *arena, ProtobufCMessage *msg, const char *json_name, const char *value,
                       pb_errors_t *errs) {
    assert(arena != NULL && msg != NULL && json_name != NULL && errs != NULL);
    decoder_t d;
    decoder_init(&d, arena, errs, json_name);
    const ProtobufCFieldDescriptor *f = pb__field_by_json_name(msg->descriptor, json_name);
    if (f == NULL) {
        fail(&d, "unknown field");
        return -1;
    }
    if (value == NULL) value = "";
    if (pb__field_is_map(f) || (f->type == PROTOBUF_C_TYPE_MESSAGE && !pb__wkt_is(f->descriptor))) {
        fail(&d, "cannot be given as a parameter");
        return -1;
    }
    /* Parse into a scratch slot first so a bad value changes nothing. */
    union {
        char bytes[sizeof(ProtobufCBinaryData)];
        ProtobufCBinaryData b;
        double x;
        uint64_t u;
        void *p;
    } slot;
    memset(&slot, 0, sizeof slot);
    const char *err;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *m = message_new(&d, f->descriptor);
        if (m == NULL) return -1;
        err = pb__wkt_from_text(arena, m, value, strlen(value));
        slot.p = m;
    } else {
        err = pb__scalar_from_text(arena, f, value, strlen(value), &slot);
    }
    if (err != NULL) {
        fail(&d, err);
        return -1;
    }
    const pb_rules_t *r = pb_field_rules(msg->descriptor, f);
    if ((err = pb__rules_check_value(arena, r, f, &slot)) != NULL) {
        fail(&d, err);
        return -1;
    }
    size_t size = pb__slot_size(f->type);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
        if ((err = pb__rules_check_count(arena, r, *n + 1)) != NULL) {
            fail(&d, err);
            return -1;
        }
        void **items = (void **)((char *)msg + f->offset);
        char *grown = elements_new(&d, f, *n + 1);
        if (grown == NULL) return -1;
        if (*n > 0) memcpy(grown, *items, *n * size);
        memcpy(grown + *n * size, &slot, size);
        *items = grown;
        (*n)++;
        return 0;
    }
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && oneof_claim(&d, f, msg) != 0) return -1;
    memcpy((char *)msg + f->offset, &slot, size);
    protobuf_c_boolean *has = presence_flag(f, msg);
    if (has != NULL) *has = 1;
    return 0;
}
