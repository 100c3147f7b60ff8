/* The broker's decisions on authenticated peers (contract in policy.h). */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parley/events/v1/events.pb-c.h"

bool policy_endpoint_is_local(const char *endpoint) {
    if (strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0) return true;
    if (strncmp(endpoint, "tcp://", 6) != 0) return false;
    const char *host = endpoint + 6, *end;
    char text[64];
    if (*host == '[') { /* tcp://[::1]:port */
        end = strchr(++host, ']');
        if (end == NULL || end[1] != ':') return false;
    } else {
        end = strrchr(host, ':');
        if (end == NULL) return false;
    }
    size_t n = (size_t)(end - host);
    if (n == 0 || n >= sizeof text) return false;
    memcpy(text, host, n);
    text[n] = '\0';
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, text, &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
    return false; /* a name or an interface: it may resolve to anything */
}

bool policy_may_register(const char *kind, const char *service) {
    return kind != NULL && *kind != '\0' && strcmp(kind, POLICY_GATEWAY) != 0 &&
           strcmp(kind, service) == 0;
}

int policy_request_parse(const uint8_t *header, size_t len, policy_request_t *out) {
    memset(out, 0, sizeof *out);
    out->header = parley__common__v1__request_header__unpack(NULL, len, header);
    if (out->header == NULL) return -EINVAL;
    const Parley__Common__V1__Principal *p = out->header->principal;
    size_t plen = p != NULL ? parley__common__v1__principal__get_packed_size(p) : 0;
    if (plen == 0) return 0;
    /* Packed again rather than cut from the wire: a principal sent in two
     * pieces is merged when a worker unpacks it, and this is what it sees. */
    out->principal = malloc(plen);
    if (out->principal == NULL) return -ENOMEM;
    out->principal_len = parley__common__v1__principal__pack(p, out->principal);
    return 0;
}

void policy_request_free(policy_request_t *req) {
    if (req->header != NULL) parley__common__v1__request_header__free_unpacked(req->header, NULL);
    free(req->principal);
    memset(req, 0, sizeof *req);
}

/* An outbox relay's delivery: Events.Deliver of an event the sender's kind
 * produced, with the principal the relay gives it (the event's authority
 * alone, so a relay reaches no further than the event it carries). */
static bool policy_is_own_event(const char *kind, const policy_request_t *req,
                                const uint8_t *payload, size_t payload_len) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (strcmp(req->header->method, "Deliver") != 0 || *p->client_id || *p->consortium_id ||
        p->n_roles != 0 || p->n_authority_ids != 1)
        return false;
    Parley__Events__V1__Event *ev = parley__events__v1__event__unpack(NULL, payload_len, payload);
    if (ev == NULL) return false;
    bool own = strcmp(ev->source, kind) == 0 && *ev->authority_id &&
               strcmp(ev->authority_id, p->authority_ids[0]) == 0;
    parley__events__v1__event__free_unpacked(ev, NULL);
    return own;
}

/* contacts: notify's sender resolving a recipient's contact details when
 * it sends (no request in flight to delegate): ResolveContact on intake or
 * matching, from notify's key alone, with a principal of exactly one
 * authority and nothing else (no client, no consortium, no roles), so it
 * reads one person of that authority under row-level security and nothing
 * more. */
static bool policy_is_contact_lookup(const char *kind, const char *service, const policy_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (strcmp(kind, "notify") != 0 || service == NULL ||
        (strcmp(service, "intake") != 0 && strcmp(service, "matching") != 0))
        return false;
    return strcmp(req->header->method, "ResolveContact") == 0 && !*p->client_id && !*p->consortium_id &&
           p->n_roles == 0 && p->n_authority_ids == 1 && *p->authority_ids[0];
}

bool policy_may_send(const registry_t *reg, const char *kind, const char *service, const policy_request_t *req,
                     const uint8_t *payload, size_t payload_len, int64_t now) {
    if (kind == NULL || *kind == '\0' || req->header == NULL) return false;
    if (strcmp(kind, POLICY_GATEWAY) == 0 || req->principal_len == 0) return true;
    if (registry_acts_for(reg, kind, req->principal, req->principal_len, now)) return true;
    if (policy_is_contact_lookup(kind, service, req)) return true;
    return policy_is_own_event(kind, req, payload, payload_len);
}
