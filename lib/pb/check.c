/* check — a field's rules (lib/pb/rules.h) applied to what a request gave:
 * one value as it was decoded, a list's length, a field left out. Messages
 * use the services' wording ("is required", "must be at most 100
 * characters", "must be between 0 and 50"). */
#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pb/internal.h"
#include "pb/rules.h"

/* Unicode code points in s: what JSON Schema's maxLength counts. */
static size_t characters(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += (*p & 0xC0) != 0x80;
    return n;
}

/* Compiled patterns, one per distinct text, kept for the life of the process
 * (the table's patterns are few and static). regexec on a compiled pattern
 * may be called from several threads at once. */
typedef struct pattern {
    struct pattern *next;
    const char *text;
    int ok;
    regex_t re;
} pattern_t;

static pthread_mutex_t patterns_lock = PTHREAD_MUTEX_INITIALIZER;
static pattern_t *patterns;

static const pattern_t *pattern_get(const char *text) {
    pthread_mutex_lock(&patterns_lock);
    pattern_t *p = patterns;
    while (p != NULL && strcmp(p->text, text) != 0) p = p->next;
    if (p == NULL && (p = calloc(1, sizeof *p)) != NULL) {
        p->text = text;
        p->ok = regcomp(&p->re, text, REG_EXTENDED | REG_NOSUB) == 0;
        p->next = patterns;
        patterns = p;
    }
    pthread_mutex_unlock(&patterns_lock);
    return p;
}

/* Whether s matches text; a pattern that does not compile (or no memory to
 * compile it) matches nothing, so it refuses rather than lets through. */
static bool pattern_matches(const char *text, const char *s) {
    const pattern_t *p = pattern_get(text);
    return p != NULL && p->ok && regexec(&p->re, s, 0, NULL, 0) == 0;
}

/* The form first, then the length: a GSS code of ten characters "must be
 * an ONS GSS code", as the handler says, rather than "at most 9". */
static const char *string_check(arena_t *a, const pb_rules_t *r, const char *s) {
    const char *err = pb_format_check(r->format, s, strlen(s));
    if (err != NULL) return err;
    if (r->pattern != NULL && !pattern_matches(r->pattern, s))
        return r->pattern_message != NULL ? r->pattern_message : "is not in the expected form";
    size_t chars = characters(s);
    if (r->max_len != 0 && chars > r->max_len)
        return arena_printf(a, "must be at most %" PRIu32 " characters", r->max_len);
    if (r->min_len != 0 && chars < r->min_len)
        return arena_printf(a, "must be at least %" PRIu32 " characters", r->min_len);
    return NULL;
}

static const char *range_message(arena_t *a, const pb_rules_t *r) {
    if ((r->flags & PB_RULE_MIN) && (r->flags & PB_RULE_MAX))
        return arena_printf(a, "must be between %" PRId64 " and %" PRId64, r->min, r->max);
    if (r->flags & PB_RULE_MIN) return arena_printf(a, "must be at least %" PRId64, r->min);
    return arena_printf(a, "must be at most %" PRId64, r->max);
}

/* A number of type t at src against the bounds. */
static const char *number_check(arena_t *a, const pb_rules_t *r, ProtobufCType t, const void *src) {
    if (!(r->flags & (PB_RULE_MIN | PB_RULE_MAX))) return NULL;
    bool below = false, above = false;
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int64_t v = *(const int32_t *)src;
        below = (r->flags & PB_RULE_MIN) && v < r->min;
        above = (r->flags & PB_RULE_MAX) && v > r->max;
        break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v = *(const int64_t *)src;
        below = (r->flags & PB_RULE_MIN) && v < r->min;
        above = (r->flags & PB_RULE_MAX) && v > r->max;
        break;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v = t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32 ? *(const uint32_t *)src
                                                                                 : *(const uint64_t *)src;
        below = (r->flags & PB_RULE_MIN) && r->min > 0 && v < (uint64_t)r->min;
        above = (r->flags & PB_RULE_MAX) && (r->max < 0 || v > (uint64_t)r->max);
        break;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v = t == PROTOBUF_C_TYPE_FLOAT ? *(const float *)src : *(const double *)src;
        /* NaN is neither inside nor outside: refuse it where there are bounds. */
        below = (r->flags & PB_RULE_MIN) && !(v >= (double)r->min);
        above = (r->flags & PB_RULE_MAX) && !(v <= (double)r->max);
        break;
    }
    default: return NULL;
    }
    return below || above ? range_message(a, r) : NULL;
}

const char *pb__rules_check_value(arena_t *a, const pb_rules_t *r, const ProtobufCFieldDescriptor *f,
                                  const void *src) {
    if (r == NULL) return NULL;
    bool element = f->label == PROTOBUF_C_LABEL_REPEATED;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)src;
        if (s == NULL || *s == '\0') return element ? "is required" : NULL; /* "" alone is "not given" */
        return string_check(a, r, s);
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        /* A wrapper's bounds are its value's. */
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)src;
        if (m == NULL || !pb__wkt_is(m->descriptor) || m->descriptor->n_fields != 1) return NULL;
        const ProtobufCFieldDescriptor *vf = &m->descriptor->fields[0];
        const void *v = (const char *)m + vf->offset;
        if (vf->type == PROTOBUF_C_TYPE_STRING) {
            const char *s = *(char *const *)v;
            return s == NULL ? NULL : string_check(a, r, s);
        }
        return number_check(a, r, vf->type, v);
    }
    return number_check(a, r, f->type, src);
}

const char *pb__rules_check_count(arena_t *a, const pb_rules_t *r, size_t n) {
    if (r == NULL || r->max_items == 0 || n <= r->max_items) return NULL;
    if (r->items != NULL) return arena_printf(a, "at most %" PRIu32 " %s", r->max_items, r->items);
    return arena_printf(a, "at most %" PRIu32, r->max_items);
}

const char *pb__rules_required_message(arena_t *a, const pb_rules_t *r, const ProtobufCFieldDescriptor *f) {
    if (f->label == PROTOBUF_C_LABEL_REPEATED && r->item != NULL)
        return arena_printf(a, "at least one %s is required", r->item);
    if (r->required_reason != NULL) return arena_printf(a, "is required: %s", r->required_reason);
    return "is required";
}

int pb__field_is_given(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *msg) {
    const char *slot = (const char *)msg + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return *(const size_t *)((const char *)msg + f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)((const char *)msg + f->quantifier_offset) == f->id;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)slot;
        return s != NULL && *s != '\0';
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)slot)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)slot != NULL;
    case PROTOBUF_C_TYPE_ENUM: return *(const int32_t *)slot != 0;
    default: return 1; /* a number or bool: 0 and false are values */
    }
}
