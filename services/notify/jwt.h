/* jwt — GOV.UK Notify's API authentication, as Notify documents it: an API
 * key "{key_name}-{service_id}-{secret_key}" (both ids UUIDs, so the last
 * 73 characters hold them whatever the key's name), and for every request a
 * JSON Web Token, header {"typ":"JWT","alg":"HS256"} and claims
 * {"iss": service_id, "iat": seconds since the epoch}, signed HMAC-SHA256
 * with the secret key, each part base64url without padding, sent as
 * "Authorization: Bearer <token>". Pure (OpenSSL's HMAC, no I/O),
 * unit-tested in tests/unit/test_notify_jwt.c. */
#ifndef PARLEY_NOTIFY_JWT_H
#define PARLEY_NOTIFY_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_UUID_LEN 36
/* A token's length is at most this, its NUL included. */
#define JWT_MAX 256

typedef struct {
    char service_id[JWT_UUID_LEN + 1]; /* the token's iss */
    char secret[JWT_UUID_LEN + 1];     /* the HMAC key, as its text */
} jwt_key_t;

/* Parses a Notify API key (a name of 1 to 200 characters, '-', the service
 * id, '-', the secret; ids as lower- or upper-case hex UUIDs) into *out.
 * 0, or -1 when key is not one. */
int jwt_key_parse(const char *key, jwt_key_t *out);

/* The token for key at iat into out (cap bytes, JWT_MAX is enough): 0, or
 * -1 when it does not fit or OpenSSL fails. */
int jwt_token(const jwt_key_t *key, int64_t iat, char *out, size_t cap);

/* base64url of in (n bytes) without padding into out (cap bytes, with its
 * NUL): its length, or -1 when it does not fit. */
int jwt_base64url(const unsigned char *in, size_t n, char *out, size_t cap);

#endif
