#include "gateway/keys.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/ids.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int keys_generate(const char *client_id, char key[KEYS_LEN + 1]) {
    unsigned char raw[32];
    if (!ids_is_uuid(client_id) || RAND_bytes(raw, sizeof raw) != 1) return -1;
    size_t k = 0;
    memcpy(key, "pk_", 3);
    k = 3;
    for (const char *p = client_id; *p; p++)
        if (*p != '-') key[k++] = (char)tolower((unsigned char)*p);
    key[k++] = '_';
    /* 256 bits as 43 base64url characters (6 bits each, last one 4 bits). */
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < sizeof raw; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            key[k++] = b64url[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits > 0) key[k++] = b64url[(acc << (6 - bits)) & 63];
    key[k] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return k == KEYS_LEN ? 0 : -1;
}

int keys_parse(const char *key, char id[37]) {
    if (key == NULL || strlen(key) != KEYS_LEN || strncmp(key, "pk_", 3) != 0 || key[35] != '_') return -1;
    for (int i = 3; i < 35; i++)
        if (!isxdigit((unsigned char)key[i]) || isupper((unsigned char)key[i])) return -1;
    for (int i = 36; i < KEYS_LEN; i++)
        if (strchr(b64url, key[i]) == NULL) return -1;
    const char *h = key + 3;
    snprintf(id, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    return 0;
}

int keys_hash(const unsigned char *secret, size_t secret_len, const char *key,
              unsigned char out[KEYS_HASH_LEN]) {
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)key, strlen(key), out, &len) == NULL)
        return -1;
    return len == KEYS_HASH_LEN ? 0 : -1;
}

bool keys_hash_equal(const unsigned char *a, const unsigned char *b) {
    return CRYPTO_memcmp(a, b, KEYS_HASH_LEN) == 0;
}

int keys_secret_from_hex(const char *hex, unsigned char *out, size_t cap) {
    size_t len = hex ? strlen(hex) : 0;
    if (len < 64 || len % 2 != 0 || len / 2 > cap) return -1;
    for (size_t i = 0; i < len; i += 2) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[i]) || !isxdigit((unsigned char)hex[i + 1])) return -1;
        if (sscanf(hex + i, "%2x", &v) != 1) return -1;
        out[i / 2] = (unsigned char)v;
    }
    return (int)(len / 2);
}
