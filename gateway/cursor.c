#include "gateway/cursor.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth.h"

#define MAC_BYTES 16 /* 128 bits: forging one is out of reach */
#define MAC_CHARS 22 /* base64url, unpadded */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int mac(const char *client_id, const char *route, const char *token, char out[MAC_CHARS + 1]) {
    size_t slen;
    const unsigned char *secret = auth_secret(&slen);
    /* "cursor|" client NUL route NUL token: the NULs keep the parts apart. */
    size_t cl = strlen(client_id) + 1, rl = strlen(route) + 1, tl = strlen(token);
    unsigned char *msg = malloc(7 + cl + rl + tl);
    if (msg == NULL) return -1;
    memcpy(msg, "cursor|", 7);
    memcpy(msg + 7, client_id, cl);
    memcpy(msg + 7 + cl, route, rl);
    memcpy(msg + 7 + cl + rl, token, tl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = HMAC(EVP_sha256(), secret, (int)slen, msg, 7 + cl + rl + tl, md, &mdlen) != NULL;
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

char *cursor_wrap(arena_t *a, const char *client_id, const char *route, const char *token) {
    char m[MAC_CHARS + 1];
    if (mac(client_id, route, token, m) != 0) return NULL;
    return arena_printf(a, "%s.%s", m, token);
}

char *cursor_unwrap(arena_t *a, const char *client_id, const char *route, const char *wrapped) {
    const char *dot = strchr(wrapped, '.');
    if (dot == NULL || dot - wrapped != MAC_CHARS || dot[1] == '\0') return NULL;
    char m[MAC_CHARS + 1];
    if (mac(client_id, route, dot + 1, m) != 0) return NULL;
    if (CRYPTO_memcmp(m, wrapped, MAC_CHARS) != 0) return NULL;
    return arena_strdup(a, dot + 1);
}
