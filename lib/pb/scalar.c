/* scalar — one number, bool, string, bytes or enum value: parsed from JSON or
 * from a parameter's text into protobuf-c's layout, and back out as JSON. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/internal.h"

#define EXPECT_INTEGER "expected an integer"
#define EXPECT_NUMBER "expected a number"
#define EXPECT_BOOL "expected true or false"
#define EXPECT_STRING "expected a string"
#define EXPECT_BASE64 "expected a base64 string"
#define OOM "out of memory"

size_t pb__slot_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static const char *range_error(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return "out of range for uint32";
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return "out of range for int64";
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return "out of range for uint64";
    default: return "out of range for int32";
    }
}

/* Stores the integer -mag (neg) or mag into dst if it fits type t. */
static const char *integer_store(ProtobufCType t, int neg, uint64_t mag, void *dst) {
    const uint64_t i64_max = (uint64_t)INT64_MAX;
    switch (t) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((neg && mag != 0) || mag > UINT32_MAX) return range_error(t);
        *(uint32_t *)dst = (uint32_t)mag;
        return NULL;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (mag > (neg ? i64_max + 1 : i64_max)) return range_error(t);
        *(int64_t *)dst = !neg ? (int64_t)mag : mag == i64_max + 1 ? INT64_MIN : -(int64_t)mag;
        return NULL;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (neg && mag != 0) return range_error(t);
        *(uint64_t *)dst = mag;
        return NULL;
    default: /* the signed 32-bit kinds */
        if (mag > (neg ? 2147483648u : 2147483647u)) return range_error(t);
        *(int32_t *)dst = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
        return NULL;
    }
}

/* A decimal integer with an optional '-', nothing else (no spaces, no '+'). */
static const char *integer_from_text(ProtobufCType t, const char *s, size_t len, void *dst) {
    size_t i = 0;
    int neg = 0;
    uint64_t mag = 0;
    if (i < len && s[i] == '-') neg = 1, i++;
    if (i == len) return EXPECT_INTEGER;
    int overflow = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return EXPECT_INTEGER;
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (UINT64_MAX - d) / 10) overflow = 1;
        else mag = mag * 10 + d;
    }
    if (overflow) return range_error(t);
    return integer_store(t, neg, mag, dst);
}

static const char *integer_from_json(ProtobufCType t, const json_t *v, void *dst) {
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        int neg = n < 0;
        /* -(n + 1) + 1 avoids negating LLONG_MIN. */
        uint64_t mag = neg ? (uint64_t)(-(n + 1)) + 1 : (uint64_t)n;
        return integer_store(t, neg, mag, dst);
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!isfinite(x) || x != trunc(x)) return EXPECT_INTEGER;
        double a = fabs(x);
        /* Checked before the cast: converting an out-of-range double is UB. */
        if (a >= 18446744073709551616.0) return range_error(t);
        return integer_store(t, x < 0, (uint64_t)a, dst);
    }
    if (json_is_string(v)) return integer_from_text(t, json_string_value(v), json_string_length(v), dst);
    return EXPECT_INTEGER;
}

/* JSON's number grammar, which excludes what strtod would also take
 * ("inf", "0x1p3", " 1", "+1"). */
static int is_json_number(const char *s, size_t len) {
    size_t i = 0, start;
    if (i < len && s[i] == '-') i++;
    if (i < len && s[i] == '0') {
        i++;
    } else {
        start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == start) return 0;
    }
    if (i < len && s[i] == '.') {
        start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == start) return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == start) return 0;
    }
    return i == len;
}

static const char *real_store(ProtobufCType t, double x, void *dst) {
    if (t == PROTOBUF_C_TYPE_FLOAT) {
        /* Below 2^128 - 2^103 a double rounds to at most FLT_MAX; FLT_MAX
         * itself goes out as 3.4028235e+38, which is above it. */
        if (isfinite(x) && fabs(x) >= 0x1.ffffffp+127) return "out of range for float";
        *(float *)dst = (float)x;
    } else {
        *(double *)dst = x;
    }
    return NULL;
}

static const char *real_from_text(ProtobufCType t, const char *s, size_t len, void *dst) {
    if (len == 3 && memcmp(s, "NaN", 3) == 0) return real_store(t, NAN, dst);
    if (len == 8 && memcmp(s, "Infinity", 8) == 0) return real_store(t, INFINITY, dst);
    if (len == 9 && memcmp(s, "-Infinity", 9) == 0) return real_store(t, -INFINITY, dst);
    if (!is_json_number(s, len)) return EXPECT_NUMBER;
    errno = 0;
    double x = strtod(s, NULL);
    if (errno == ERANGE && isinf(x)) return t == PROTOBUF_C_TYPE_FLOAT ? "out of range for float" : "out of range for double";
    return real_store(t, x, dst);
}

static const char *bool_from_text(const char *s, size_t len, void *dst) {
    if (len == 4 && memcmp(s, "true", 4) == 0) *(protobuf_c_boolean *)dst = 1;
    else if (len == 5 && memcmp(s, "false", 5) == 0) *(protobuf_c_boolean *)dst = 0;
    else return EXPECT_BOOL;
    return NULL;
}

const char *pb__scalar_from_text(arena_t *arena, const ProtobufCFieldDescriptor *f, const char *s, size_t len,
                                 void *dst) {
    /* A NUL inside would silently cut a C string short. */
    if (memchr(s, '\0', len) != NULL) return "must not contain NUL characters";
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: return real_from_text(f->type, s, len, dst);
    case PROTOBUF_C_TYPE_BOOL: return bool_from_text(s, len, dst);
    case PROTOBUF_C_TYPE_STRING: {
        /* JSON text was checked by jansson; a parameter's was not. */
        if (!pb__utf8_valid(s, len)) return "must be valid UTF-8";
        char *copy = arena_strndup(arena, s, len);
        if (copy == NULL) return OOM;
        *(char **)dst = copy;
        return NULL;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData b;
        if (pb__base64_decode(arena, s, len, &b) != 0) return EXPECT_BASE64;
        *(ProtobufCBinaryData *)dst = b;
        return NULL;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t value;
        if (pb__enum_from_word(f->descriptor, s, len, &value) != 0) return pb__enum_choices(arena, f->descriptor);
        *(int32_t *)dst = value;
        return NULL;
    }
    case PROTOBUF_C_TYPE_MESSAGE: return "expected an object";
    default: return integer_from_text(f->type, s, len, dst);
    }
}

const char *pb__scalar_from_json(arena_t *arena, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (json_is_number(v)) return real_store(f->type, json_number_value(v), dst);
        if (!json_is_string(v)) return EXPECT_NUMBER;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        /* The strings "true" and "false" are for parameters, not JSON. */
        if (!json_is_boolean(v)) return EXPECT_BOOL;
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return NULL;
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v)) return EXPECT_STRING;
        break;
    case PROTOBUF_C_TYPE_BYTES:
        if (!json_is_string(v)) return EXPECT_BASE64;
        break;
    case PROTOBUF_C_TYPE_ENUM:
        /* Numbers are refused: a client must say what it means. */
        if (!json_is_string(v)) return pb__enum_choices(arena, f->descriptor);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: return "expected an object";
    default: return integer_from_json(f->type, v, dst);
    }
    return pb__scalar_from_text(arena, f, json_string_value(v), json_string_length(v), dst);
}

/* The shortest decimal that reads back as f, widened to double, so that
 * 0.1f goes out as 0.1 rather than 0.10000000149011612. */
static double float_widen(float f) {
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f) return d;
    }
    return f;
}

static json_t *real_to_json(double x) {
    if (isnan(x)) return json_string("NaN");
    if (isinf(x)) return json_string(x > 0 ? "Infinity" : "-Infinity");
    return json_real(x);
}

json_t *pb__scalar_to_json(const ProtobufCFieldDescriptor *f, const void *src) {
    char buf[256];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)src);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer((json_int_t) * (const uint32_t *)src);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        /* As a string: JavaScript numbers lose precision past 2^53. */
        snprintf(buf, sizeof buf, "%" PRId64, *(const int64_t *)src);
        return json_string(buf);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)src);
        return json_string(buf);
    case PROTOBUF_C_TYPE_FLOAT: {
        float x = *(const float *)src;
        return real_to_json(isfinite(x) ? float_widen(x) : (double)x);
    }
    case PROTOBUF_C_TYPE_DOUBLE: return real_to_json(*(const double *)src);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)src);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        return s == NULL ? json_string("") : pb__json_string(s, strlen(s));
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = src;
        return pb__base64_json(b->data, b->data == NULL ? 0 : b->len);
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t value = *(const int32_t *)src;
        const char *word = pb__enum_word(f->descriptor, value, buf, sizeof buf);
        return word != NULL ? json_string(word) : json_integer(value);
    }
    case PROTOBUF_C_TYPE_MESSAGE: break;
    }
    return NULL;
}
