/* policy — what each authenticated peer of the broker may do, decided on the
 * kind its CURVE key is listed for (allow.h) and on what the registry knows,
 * with no sockets in it. main.c asks; these functions only answer.
 *
 * The rules, with CURVE on:
 * - A worker registers only for the service its kind names: the intake key
 *   serves intake, nothing else; the gateway's key serves nothing.
 * - A request may carry a principal (the caller the gateway authenticated,
 *   which services scope every query by) only when it comes from the
 *   gateway, or from a service acting for a caller it is serving at that
 *   moment: a worker of the sender's kind is busy, within its request's
 *   deadline, with a request whose principal is byte-identical (as packed)
 *   (matching asks intake about a case with its caller's principal). The
 *   one other principal a service may send is the one its outbox relay puts
 *   on an event delivery: Events.Deliver of an event whose source is the
 *   sender's kind, with exactly the event's authority and nothing else.
 *   contacts: and notify alone may call ResolveContact on intake or
 *   matching with a principal of one authority and nothing else (no
 *   client, no consortium, no roles): its sender reads a recipient's
 *   contact details when it sends, with no caller's request in flight.
 * - Requests without a principal (mmi.service) are anyone's on the list.
 *
 * "Carries a principal" means the header's principal packs to at least one
 * byte: an empty one scopes a query to no authority at all.
 */
#ifndef PARLEY_BROKER_POLICY_H
#define PARLEY_BROKER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "registry.h"

#define POLICY_GATEWAY "gateway" /* the kind that speaks for callers */

/* Whether a broker bound to endpoint is reachable from this machine only:
 * ipc:// or inproc://, or tcp:// on a literal loopback address (127.0.0.0/8,
 * [::1]). Anything else (a wildcard or 0.0.0.0, an interface or a host name) needs
 * CURVE. */
bool policy_endpoint_is_local(const char *endpoint);

/* Whether a peer of kind may register as a worker of service. */
bool policy_may_register(const char *kind, const char *service);

/* A client request's header, as far as the policy reads it. */
typedef struct {
    bus_header_t *header;  /* unpacked (malloc); NULL until parsed */
    uint8_t *principal;    /* the principal, packed again (malloc); NULL when none */
    size_t principal_len;
} policy_request_t;

/* Parses a packed RequestHeader. 0; -EINVAL when it does not parse (out is
 * then empty); -ENOMEM. Free with policy_request_free either way. */
int policy_request_parse(const uint8_t *header, size_t len, policy_request_t *out);

void policy_request_free(policy_request_t *req);

/* Whether a peer of kind may send req (parsed) with payload for service to
 * the broker at now (the registry's clock). */
bool policy_may_send(const registry_t *reg, const char *kind, const char *service, const policy_request_t *req,
                     const uint8_t *payload, size_t payload_len, int64_t now);

#endif
