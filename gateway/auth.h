/* auth — who is calling: Authorization: Bearer <key> checked against the
 * hashed keys in gateway.api_clients. A key's principal is cached in process
 * for at most PARLEY_AUTH_CACHE_MS (default and ceiling 5000), so a revoked
 * key is refused on every gateway instance within that time. A client id
 * that does not exist (or is revoked) is remembered as such for as long, in
 * a table of its own, so that an unknown id costs no more database look-ups
 * than a known one with a wrong secret.
 *
 * Failed authentications (a malformed key, an unknown client, a wrong
 * secret) are counted per client address and per client id
 * (gateway/auth_throttle.h): past PARLEY_AUTH_FAILURES_PER_ADDRESS (20) or
 * PARLEY_AUTH_FAILURES_PER_CLIENT (10) within PARLEY_AUTH_FAILURE_WINDOW_S
 * (60), every request presenting a key from that address, or naming that
 * client id, is refused (AUTH_THROTTLED, 429 with Retry-After) until the
 * window ends, without its key being checked. A request without a key is
 * not a failure: it guesses nothing. */
#ifndef PARLEY_GATEWAY_AUTH_H
#define PARLEY_GATEWAY_AUTH_H

#include <stddef.h>

#include "core/arena.h"
#include "db/db.h"
#include "parley/common/v1/envelope.pb-c.h"

/* A consortium has tens of authorities; England has about 150 in all. */
#define AUTH_MAX_AUTHORITIES 512

/* Room for an address as auth_client_address writes it. */
#define AUTH_ADDRESS_LEN 48

typedef enum {
    AUTH_OK = 0,
    AUTH_MISSING = -1,     /* no Authorization header */
    AUTH_MALFORMED = -2,   /* not "Bearer <parley key>" */
    AUTH_INVALID = -3,     /* unknown, revoked or wrong secret */
    AUTH_UNAVAILABLE = -4, /* the key store cannot be reached */
    AUTH_THROTTLED = -5,   /* too many failures from this address or for this client id */
} auth_result_t;

typedef struct {
    Parley__Common__V1__Principal *principal; /* on AUTH_OK; in the request's arena */
    unsigned roles;                           /* role bits */
    /* On AUTH_MALFORMED, AUTH_INVALID and AUTH_THROTTLED, for the audit row:
     * whom the key claimed to be. Its client id when the key parses, and
     * the consortium and authorities when that client exists (known from
     * the cache or the look-up made); no roles. In the arena. */
    Parley__Common__V1__Principal *claimed;
    int retry_after_s; /* on AUTH_THROTTLED */
} auth_identity_t;

/* Sets the server secret (hex, >= 64 digits) and reads the settings above.
 * Returns 0 or -1. Call once before any thread authenticates. */
int auth_init(const char *secret_hex);

/* The bytes of the server secret (for parley-admin). */
const unsigned char *auth_secret(size_t *len);

/* Authenticates the Authorization header value (may be NULL) of a request
 * from address (may be NULL: then only the client id is throttled) using db
 * (the calling thread's). On AUTH_OK fills id->principal with copies in
 * arena; on a failure, id->claimed (see above). */
auth_result_t auth_check(db_t *db, arena_t *arena, const char *authorization, const char *address,
                         auth_identity_t *id);

/* Drops client_id's cached principal, and its "no such client", in this
 * process (after a revocation, a change of its authorities, a creation). */
void auth_forget(const char *client_id);

/* The address a request comes from, into out (AUTH_ADDRESS_LEN bytes): the
 * peer's; but for a loopback peer (nginx on the same host) that sends
 * X-Forwarded-For, that header's last address, when it is one. */
void auth_client_address(const char *peer, const char *forwarded_for, char out[AUTH_ADDRESS_LEN]);

/* The statements auth_check uses, to register on each thread's db. */
const db_stmt_t *auth_statements(size_t *n);

#endif
