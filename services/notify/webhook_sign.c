/* A webhook's secret and its signatures (contract in webhook_sign.h). */
#include "services/notify/webhook_sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "whsec_"
#define NONCE_LEN 12
#define TAG_LEN 16
#define AAD_LABEL "parley webhook secret v1\n"

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int from_hex(const char *hex, unsigned char *out, size_t n) {
    if (hex == NULL || strlen(hex) != 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int webhook_key_parse(const char *hex, unsigned char key[WEBHOOK_KEY_LEN]) {
    return from_hex(hex, key, WEBHOOK_KEY_LEN);
}

int webhook_secret_new(char out[WEBHOOK_SECRET_MAX]) {
    unsigned char raw[WEBHOOK_SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1) return -1;
    memcpy(out, PREFIX, strlen(PREFIX));
    EVP_EncodeBlock((unsigned char *)out + strlen(PREFIX), raw, (int)sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

/* The secret's bytes (the base64 after whsec_) into raw: their count, or -1. */
static int secret_bytes(const char *secret, unsigned char raw[64]) {
    if (secret == NULL || strncmp(secret, PREFIX, strlen(PREFIX)) != 0) return -1;
    const char *b64 = secret + strlen(PREFIX);
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len > 88) return -1;
    unsigned char buf[66 + 3];
    int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
    if (n < 0) return -1;
    /* EVP_DecodeBlock counts the padding's zero bytes: take them off. */
    if (b64[len - 1] == '=') n--;
    if (b64[len - 2] == '=') n--;
    if (n < 24 || n > 64) return -1;
    memcpy(raw, buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof buf);
    return n;
}

int webhook_sign(const char *secret, const char *msg_id, long long timestamp, const char *body, size_t body_len,
                 char out[WEBHOOK_SIGNATURE_MAX]) {
    unsigned char key[64], md[EVP_MAX_MD_SIZE];
    int key_len = secret_bytes(secret, key);
    if (key_len < 0) return -1;
    char head[160];
    int hl = snprintf(head, sizeof head, "%s.%lld.", msg_id, timestamp);
    unsigned int md_len = 0;
    int ok = hl > 0 && (size_t)hl < sizeof head;
    /* HMAC over the head and the body in turn: the body is not copied. */
    EVP_MAC *mac = ok ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
    EVP_MAC_CTX *mc = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end()};
    size_t len = 0;
    ok = mc != NULL && EVP_MAC_init(mc, key, (size_t)key_len, params) == 1 &&
         EVP_MAC_update(mc, (const unsigned char *)head, (size_t)hl) == 1 &&
         (body_len == 0 || EVP_MAC_update(mc, (const unsigned char *)body, body_len) == 1) &&
         EVP_MAC_final(mc, md, &len, sizeof md) == 1 && len == 32;
    md_len = (unsigned int)len;
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(mac);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok) return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, md, (int)md_len);
    return 0;
}

static char *aad_for(const char *webhook_id, char *buf, size_t cap) {
    snprintf(buf, cap, AAD_LABEL "%s", webhook_id);
    return buf;
}

int webhook_secret_seal(const unsigned char key[WEBHOOK_KEY_LEN], const char *webhook_id, const char *secret,
                        char **out) {
    *out = NULL;
    size_t len = strlen(secret);
    if (len >= WEBHOOK_SECRET_MAX) return -1;
    unsigned char buf[NONCE_LEN + WEBHOOK_SECRET_MAX + TAG_LEN];
    char aad[128];
    aad_for(webhook_id, aad, sizeof aad);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = c != NULL && RAND_bytes(buf, NONCE_LEN) == 1 &&
             EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_EncryptInit_ex(c, NULL, NULL, key, buf) == 1 &&
             EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
             EVP_EncryptUpdate(c, buf + NONCE_LEN, &n, (const unsigned char *)secret, (int)len) == 1 &&
             EVP_EncryptFinal_ex(c, buf + NONCE_LEN + n, &fin) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + len) == 1;
    EVP_CIPHER_CTX_free(c);
    size_t total = NONCE_LEN + len + TAG_LEN;
    char *hex = ok ? malloc(2 * total + 1) : NULL;
    if (hex != NULL) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < total; i++) {
            hex[2 * i] = digits[buf[i] >> 4];
            hex[2 * i + 1] = digits[buf[i] & 15];
        }
        hex[2 * total] = '\0';
    }
    OPENSSL_cleanse(buf, sizeof buf);
    *out = hex;
    return hex ? 0 : -1;
}

int webhook_secret_open(const unsigned char key[WEBHOOK_KEY_LEN], const char *webhook_id, const char *sealed_hex,
                        char out[WEBHOOK_SECRET_MAX]) {
    size_t hl = sealed_hex ? strlen(sealed_hex) : 0;
    if (hl % 2 != 0 || hl / 2 < NONCE_LEN + TAG_LEN + 1 || hl / 2 > NONCE_LEN + TAG_LEN + WEBHOOK_SECRET_MAX - 1)
        return -1;
    size_t total = hl / 2, clen = total - NONCE_LEN - TAG_LEN;
    unsigned char buf[NONCE_LEN + WEBHOOK_SECRET_MAX + TAG_LEN], tag[TAG_LEN];
    if (from_hex(sealed_hex, buf, total) != 0) return -1;
    memcpy(tag, buf + NONCE_LEN + clen, TAG_LEN);
    char aad[128];
    aad_for(webhook_id, aad, sizeof aad);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = c != NULL && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_DecryptInit_ex(c, NULL, NULL, key, buf) == 1 &&
             EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
             EVP_DecryptUpdate(c, (unsigned char *)out, &n, buf + NONCE_LEN, (int)clen) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
             EVP_DecryptFinal_ex(c, (unsigned char *)out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok) {
        OPENSSL_cleanse(out, WEBHOOK_SECRET_MAX);
        return -1;
    }
    out[clen] = '\0';
    return 0;
}
