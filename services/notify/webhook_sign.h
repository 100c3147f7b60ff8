/* webhook_sign — a webhook's secret and its signatures (Standard Webhooks).
 *
 * A secret is "whsec_" and the base64 of 32 random bytes, shown once when
 * the webhook is made. It is stored only sealed: AES-256-GCM under the
 * service's key (PARLEY_WEBHOOK_KEY, 32 bytes in hex), bound to the
 * webhook's id, so a row copied to another webhook does not open. Each
 * attempt is signed: webhook-signature is "v1," and the base64 of
 * HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", keyed with
 * the secret's decoded bytes. Pure. */
#ifndef PARLEY_NOTIFY_WEBHOOK_SIGN_H
#define PARLEY_NOTIFY_WEBHOOK_SIGN_H

#include <stddef.h>

#define WEBHOOK_KEY_LEN 32
#define WEBHOOK_SECRET_BYTES 32
#define WEBHOOK_SECRET_MAX 100     /* "whsec_" and base64 of up to 64 bytes, and NUL */
#define WEBHOOK_SIGNATURE_MAX 64   /* "v1," and 44 base64 characters, and NUL */

/* The key from its hex text (64 hex digits): 0, or -1. */
int webhook_key_parse(const char *hex, unsigned char key[WEBHOOK_KEY_LEN]);

/* A new secret into out: 0, or -1 (no randomness). */
int webhook_secret_new(char out[WEBHOOK_SECRET_MAX]);

/* The signature of (msg_id, timestamp, body) under secret ("whsec_…"),
 * into out: 0, or -1 when the secret is not one. */
int webhook_sign(const char *secret, const char *msg_id, long long timestamp, const char *body, size_t body_len,
                 char out[WEBHOOK_SIGNATURE_MAX]);

/* Seals secret for webhook_id: a malloc'd hex text of nonce || ciphertext
 * || tag into *out. 0 or -1. */
int webhook_secret_seal(const unsigned char key[WEBHOOK_KEY_LEN], const char *webhook_id, const char *secret,
                        char **out);

/* Opens what webhook_secret_seal made (hex) for webhook_id, into out: 0, or
 * -1 when it is not authentic (another key, another webhook). */
int webhook_secret_open(const unsigned char key[WEBHOOK_KEY_LEN], const char *webhook_id, const char *sealed_hex,
                        char out[WEBHOOK_SECRET_MAX]);

#endif
