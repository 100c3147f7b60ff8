/* auth — who is calling: Authorization: Bearer <key> checked against the
 * hashed keys in gateway.api_clients. A key's principal is cached in process
 * for at most PARLEY_AUTH_CACHE_MS (default and ceiling 5000), so a revoked
 * key is refused on every gateway instance within that time. */
#ifndef PARLEY_GATEWAY_AUTH_H
#define PARLEY_GATEWAY_AUTH_H

#include <stddef.h>

#include "core/arena.h"
#include "db/db.h"
#include "parley/common/v1/envelope.pb-c.h"

/* A consortium has tens of authorities; England has about 150 in all. */
#define AUTH_MAX_AUTHORITIES 512

typedef enum {
    AUTH_OK = 0,
    AUTH_MISSING = -1,     /* no Authorization header */
    AUTH_MALFORMED = -2,   /* not "Bearer <parley key>" */
    AUTH_INVALID = -3,     /* unknown, revoked or wrong secret */
    AUTH_UNAVAILABLE = -4, /* the key store cannot be reached */
} auth_result_t;

typedef struct {
    Parley__Common__V1__Principal *principal; /* in the request's arena */
    unsigned roles;                           /* role bits */
} auth_identity_t;

/* Sets the server secret (hex, >= 64 digits). Returns 0 or -1. Call once
 * before any thread authenticates. */
int auth_init(const char *secret_hex);

/* The bytes of the server secret (for parley-admin). */
const unsigned char *auth_secret(size_t *len);

/* Authenticates the Authorization header value (may be NULL) using db (the
 * calling thread's). On AUTH_OK fills id with copies in arena. */
auth_result_t auth_check(db_t *db, arena_t *arena, const char *authorization, auth_identity_t *id);

/* Drops client_id's cached principal in this process (after a revocation or
 * a change of its authorities). */
void auth_forget(const char *client_id);

/* The statements auth_check uses, to register on each thread's db. */
const db_stmt_t *auth_statements(size_t *n);

#endif
