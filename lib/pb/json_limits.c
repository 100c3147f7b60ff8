/* Bounds on JSON text before jansson parses it. jansson's parser recurses
 * once per level of nesting: a 2 KB body nested 1,000 deep overflows a
 * 100 KiB thread stack. A linear scan that knows strings and their escapes
 * counts the nesting and the values first; text past either limit is never
 * given to the parser. Malformed text is left for the parser to describe. */
#include <stdbool.h>
#include <stdio.h>

#include "pb/pb.h"

const char *pb_json_over_limits(const char *text, size_t len) {
    size_t depth = 0, values = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') i++; /* the escaped character cannot end the string */
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
        case '"': in_string = true; break;
        case '[':
        case '{':
            if (++depth > PB_JSON_MAX_DEPTH) return "nests arrays and objects deeper than " PB_JSON_STR(PB_JSON_MAX_DEPTH) " levels";
            break;
        case ']':
        case '}':
            if (depth > 0) depth--;
            break;
        case ',':
        case ':':
            if (++values > PB_JSON_MAX_VALUES) return "holds more than " PB_JSON_STR(PB_JSON_MAX_VALUES) " values";
            break;
        default: break;
        }
    }
    return NULL;
}

json_t *pb_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err) {
    const char *why = pb_json_over_limits(text, len);
    if (why != NULL) {
        if (err != NULL) {
            err->line = err->column = -1;
            err->position = 0;
            snprintf(err->text, sizeof err->text, "%s", why);
            err->source[0] = '\0';
        }
        return NULL;
    }
    return json_loadb(text, len, flags, err);
}
