#include "gateway/cursor.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth.h"
#include "pb/pb.h"

#define MAC_BYTES 16 /* 128 bits: forging one is out of reach */
#define MAC_CHARS 22 /* base64url, unpadded */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int mac(const char *client_id, const char *route, const char *filters, const char *token,
               char out[MAC_CHARS + 1]) {
    size_t slen;
    const unsigned char *secret = auth_secret(&slen);
    /* "cursor2|" client NUL route NUL filters NUL token: the NULs keep the
     * parts apart (a token of the first form, without filters, no longer
     * verifies). */
    if (filters == NULL) filters = "";
    size_t cl = strlen(client_id) + 1, rl = strlen(route) + 1, fl = strlen(filters) + 1, tl = strlen(token);
    size_t total = 8 + cl + rl + fl + tl;
    unsigned char *msg = malloc(total);
    if (msg == NULL) return -1;
    memcpy(msg, "cursor2|", 8);
    memcpy(msg + 8, client_id, cl);
    memcpy(msg + 8 + cl, route, rl);
    memcpy(msg + 8 + cl + rl, filters, fl);
    memcpy(msg + 8 + cl + rl + fl, token, tl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = HMAC(EVP_sha256(), secret, (int)slen, msg, total, md, &mdlen) != NULL;
    free(msg);
    if (!ok) return -1;
    unsigned acc = 0;
    int bits = 0, k = 0;
    for (int i = 0; i < MAC_BYTES; i++) {
        acc = (acc << 8) | md[i];
        bits += 8;
        while (bits >= 6) {
            out[k++] = b64url[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits > 0) out[k++] = b64url[(acc << (6 - bits)) & 63];
    out[k] = '\0';
    return 0;
}

char *cursor_wrap(arena_t *a, const char *client_id, const char *route, const char *filters, const char *token) {
    char m[MAC_CHARS + 1];
    if (mac(client_id, route, filters, token, m) != 0) return NULL;
    return arena_printf(a, "%s.%s", m, token);
}

char *cursor_unwrap(arena_t *a, const char *client_id, const char *route, const char *filters,
                    const char *wrapped) {
    const char *dot = strchr(wrapped, '.');
    if (dot == NULL || dot - wrapped != MAC_CHARS || dot[1] == '\0') return NULL;
    char m[MAC_CHARS + 1];
    if (mac(client_id, route, filters, dot + 1, m) != 0) return NULL;
    if (CRYPTO_memcmp(m, wrapped, MAC_CHARS) != 0) return NULL;
    return arena_strdup(a, dot + 1);
}

/* The singular field of d with JSON name json and protobuf-c type t, or NULL. */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *d, const char *json, ProtobufCType t) {
    char buf[64];
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == t && f->label != PROTOBUF_C_LABEL_REPEATED &&
            strcmp(pb_json_name(f->name, buf, sizeof buf), json) == 0)
            return f;
    }
    return NULL;
}

const ProtobufCFieldDescriptor *cursor_token_field(const ProtobufCMessageDescriptor *d) {
    return field_of(d, "pageToken", PROTOBUF_C_TYPE_STRING);
}

int cursor_filters(ProtobufCMessage *in, char out[CURSOR_FILTERS_LEN + 1]) {
    const ProtobufCFieldDescriptor *token = cursor_token_field(in->descriptor);
    const ProtobufCFieldDescriptor *size = field_of(in->descriptor, "pageSize", PROTOBUF_C_TYPE_INT32);
    if (token == NULL) return -1;
    char **tp = (char **)((char *)in + token->offset);
    int32_t *sp = size ? (int32_t *)((char *)in + size->offset) : NULL;
    char *saved_token = *tp;
    int32_t saved_size = sp ? *sp : 0;
    /* Packed without the page's own fields, then put back as they were. */
    *tp = (char *)"";
    if (sp) *sp = 0;
    size_t len = protobuf_c_message_get_packed_size(in);
    uint8_t *packed = malloc(len + 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = packed != NULL ? 0 : -1;
    if (rc == 0) {
        protobuf_c_message_pack(in, packed);
        rc = EVP_Digest(packed, len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen * 2 == CURSOR_FILTERS_LEN ? 0 : -1;
    }
    free(packed);
    *tp = saved_token;
    if (sp) *sp = saved_size;
    if (rc != 0) return -1;
    for (unsigned i = 0; i < mdlen; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}
