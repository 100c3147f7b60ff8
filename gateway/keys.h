/* keys — API keys: "pk_<32 hex id>_<43 base64url secret>" (256 bits of
 * secret). Stored only as HMAC-SHA256(server secret, key); looked up by the
 * id part and compared in constant time. */
#ifndef PARLEY_GATEWAY_KEYS_H
#define PARLEY_GATEWAY_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define KEYS_LEN (3 + 32 + 1 + 43)
#define KEYS_HASH_LEN 32

/* A new key for the client with UUID client_id, into key[KEYS_LEN + 1].
 * Returns 0, or -1 when the CSPRNG fails or client_id is not a UUID. */
int keys_generate(const char *client_id, char key[KEYS_LEN + 1]);

/* Checks the key's shape and writes its client id as a UUID into id[37].
 * Returns 0, or -1 when key is not a well-formed Parley key. */
int keys_parse(const char *key, char id[37]);

/* HMAC-SHA256 of key under secret (secret_len bytes) into out. Returns 0/-1. */
int keys_hash(const unsigned char *secret, size_t secret_len, const char *key,
              unsigned char out[KEYS_HASH_LEN]);

/* Constant-time comparison of two hashes. */
bool keys_hash_equal(const unsigned char *a, const unsigned char *b);

/* Decodes the hex server secret (at least 32 bytes = 64 hex digits) into out
 * (cap bytes). Returns its length, or -1 when it is too short or not hex. */
int keys_secret_from_hex(const char *hex, unsigned char *out, size_t cap);

#endif
