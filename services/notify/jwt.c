/* Notify API keys and tokens (contract in jwt.h). */
#include "services/notify/jwt.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_NAME 200

/* Whether s (JWT_UUID_LEN characters) is a UUID: 8-4-4-4-12 hex digits. */
static bool uuid_text(const char *s) {
    for (int i = 0; i < JWT_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return true;
}

int jwt_key_parse(const char *key, jwt_key_t *out) {
    size_t n = key ? strnlen(key, MAX_NAME + 2 * (JWT_UUID_LEN + 1) + 1) : 0;
    /* name, '-', service id, '-', secret: the ids are the last 73. */
    if (n < 1 + 2 * (JWT_UUID_LEN + 1) || n > MAX_NAME + 2 * (JWT_UUID_LEN + 1)) return -1;
    const char *secret = key + n - JWT_UUID_LEN, *service = secret - 1 - JWT_UUID_LEN;
    if (service[-1] != '-' || secret[-1] != '-' || !uuid_text(service) || !uuid_text(secret)) return -1;
    for (const char *p = key; p < service - 1; p++)
        if (!isprint((unsigned char)*p)) return -1;
    memcpy(out->service_id, service, JWT_UUID_LEN);
    out->service_id[JWT_UUID_LEN] = '\0';
    memcpy(out->secret, secret, JWT_UUID_LEN);
    out->secret[JWT_UUID_LEN] = '\0';
    return 0;
}

int jwt_base64url(const unsigned char *in, size_t n, char *out, size_t cap) {
    if (n > (size_t)1 << 20 || cap < 4 * ((n + 2) / 3) + 1) return -1;
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    if (len < 0) return -1;
    while (len > 0 && out[len - 1] == '=') len--;
    for (int i = 0; i < len; i++) {
        if (out[i] == '+') out[i] = '-';
        else if (out[i] == '/') out[i] = '_';
    }
    out[len] = '\0';
    return len;
}

int jwt_token(const jwt_key_t *key, int64_t iat, char *out, size_t cap) {
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
    char claims[128], signing[JWT_MAX];
    int c = snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"iat\":%" PRId64 "}", key->service_id, iat);
    if (c < 0 || (size_t)c >= sizeof claims) return -1;
    int h = jwt_base64url((const unsigned char *)header, sizeof header - 1, signing, sizeof signing);
    if (h < 0 || (size_t)h + 1 >= sizeof signing) return -1;
    signing[h] = '.';
    int p = jwt_base64url((const unsigned char *)claims, (size_t)c, signing + h + 1, sizeof signing - (size_t)h - 1);
    if (p < 0) return -1;
    size_t signed_len = (size_t)h + 1 + (size_t)p;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key->secret, (int)strlen(key->secret), (const unsigned char *)signing, signed_len, mac,
             &mac_len) == NULL)
        return -1;
    if (signed_len + 1 >= cap) return -1;
    memcpy(out, signing, signed_len);
    out[signed_len] = '.';
    return jwt_base64url(mac, mac_len, out + signed_len + 1, cap - signed_len - 1) < 0 ? -1 : 0;
}
