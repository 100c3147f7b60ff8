/* contacts: a person's contact details from their owner, over the bus
 * (contract in contacts.h). Intake answers parents and young people,
 * matching supporters; each answers only what a message needs, read under
 * the principal's authorities. From a handler the principal is the
 * caller's (the broker lets a worker call on with the principal of the
 * request it serves); from the sender, which serves no request, it is the
 * notification's authority alone, which the broker allows notify for
 * ResolveContact only (services/broker/policy.c). */
#include <errno.h>
#include <strings.h>
#include <string.h>

#include "core/log.h"
#include "pb/pb.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "parley/matching/v1/matching.pb-c.h"
#include "parley/notify/v1/notify.pb-c.h"
#include "services/notify/contacts.h"

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x
#define RESOLVE_TIMEOUT_MS 1500

bool contacts_channel_sendable(int channel) {
    /* The channels a notification is sent by. */
    static const int sendable[] = {PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_EMAIL, PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_SMS,
                                   PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_LETTER};
    for (size_t i = 0; i < sizeof sendable / sizeof sendable[0]; i++)
        if (sendable[i] == channel) return true;
    return false;
}

/* Calls service's ResolveContact for person_id (both owners' requests are
 * one string field 1, so intake's message packs either): OK with the
 * reply's payload in *payload / *len, or the code. */
static bus_code_t call(bus_client_t *bus, arena_t *a, const char *service, const char *request_id,
                       const Parley__Common__V1__Principal *p, const char *person_id, const uint8_t **payload,
                       size_t *len) {
    if (bus == NULL) return CODE(UNAVAILABLE);
    Parley__Intake__V1__ResolveContactRequest in = PARLEY__INTAKE__V1__RESOLVE_CONTACT_REQUEST__INIT;
    in.person_id = (char *)person_id;
    size_t n = protobuf_c_message_get_packed_size(&in.base);
    uint8_t *buf = arena_alloc(a, n + 1);
    if (buf == NULL) return CODE(INTERNAL);
    protobuf_c_message_pack(&in.base, buf);
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = (char *)(request_id ? request_id : "");
    h.method = "ResolveContact";
    h.principal = (Parley__Common__V1__Principal *)p;
    bus_reply_t rep;
    int rc = bus_client_call(bus, a, service, &h, buf, n, RESOLVE_TIMEOUT_MS, true, &rep);
    if (rc != 0) {
        log_warn(request_id, "%s.ResolveContact: %s", service, rc == -ETIMEDOUT ? "no reply" : "bus failure");
        return CODE(UNAVAILABLE);
    }
    if (rep.status->code == CODE(OK)) {
        *payload = rep.payload;
        *len = rep.payload_len;
    } else if (rep.status->code != CODE(NOT_FOUND)) {
        log_warn(request_id, "%s.ResolveContact: %s", service, bus_code_name(rep.status->code));
        return CODE(UNAVAILABLE);
    }
    return rep.status->code;
}

static int format_of_needs(const Parley__Intake__V1__Contact *c) {
    for (size_t i = 0; i < c->n_communication_needs; i++) {
        if (c->communication_needs[i] == PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_LARGE_PRINT)
            return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_LARGE_PRINT;
        if (c->communication_needs[i] == PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_EASY_READ)
            return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_EASY_READ;
    }
    return 0;
}

static const char *opt(const char *s) { return s && *s ? s : NULL; }

static bus_code_t from_intake(bus_client_t *bus, arena_t *a, const char *request_id,
                              const Parley__Common__V1__Principal *p, const char *person_id, const char *authority,
                              contact_t *out) {
    const uint8_t *payload = NULL;
    size_t len = 0;
    bus_code_t code = call(bus, a, "intake", request_id, p, person_id, &payload, &len);
    if (code != CODE(OK)) return code;
    Parley__Intake__V1__Contact *c = (Parley__Intake__V1__Contact *)protobuf_c_message_unpack(
        &parley__intake__v1__contact__descriptor, arena_pb_allocator(a), len, payload);
    if (c == NULL) return CODE(UNAVAILABLE);
    if (authority && (c->authority_id == NULL || strcasecmp(c->authority_id, authority) != 0)) return CODE(NOT_FOUND);
    *out = (contact_t){.kind = c->kind == PARLEY__INTAKE__V1__CONTACT_KIND__CONTACT_KIND_YOUNG_PERSON ? "young_person"
                                                                                                   : "parent",
                       .authority = opt(c->authority_id),
                       .given_name = opt(c->given_name),
                       .family_name = opt(c->family_name),
                       .email = opt(c->email),
                       .phone = opt(c->phone)};
    if (c->address) {
        out->address_line1 = opt(c->address->line1);
        out->address_line2 = opt(c->address->line2);
        out->town = opt(c->address->town);
        out->postcode = opt(c->address->postcode);
    }
    out->language = opt(c->preferred_language);
    out->format = format_of_needs(c);
    return CODE(OK);
}

static bus_code_t from_matching(bus_client_t *bus, arena_t *a, const char *request_id,
                                const Parley__Common__V1__Principal *p, const char *person_id,
                                const char *authority, contact_t *out) {
    const uint8_t *payload = NULL;
    size_t len = 0;
    bus_code_t code = call(bus, a, "matching", request_id, p, person_id, &payload, &len);
    if (code != CODE(OK)) return code;
    Parley__Matching__V1__SupporterContact *c = (Parley__Matching__V1__SupporterContact *)protobuf_c_message_unpack(
        &parley__matching__v1__supporter_contact__descriptor, arena_pb_allocator(a), len, payload);
    if (c == NULL) return CODE(UNAVAILABLE);
    bool serves = authority == NULL;
    for (size_t i = 0; !serves && i < c->n_authority_ids; i++) serves = strcasecmp(c->authority_ids[i], authority) == 0;
    if (!serves) return CODE(NOT_FOUND);
    *out = (contact_t){.kind = "supporter",
                       .authority = authority ? authority : c->n_authority_ids ? c->authority_ids[0] : NULL,
                       .given_name = opt(c->given_name),
                       .family_name = opt(c->family_name),
                       .email = opt(c->email),
                       .phone = opt(c->phone)};
    out->language = c->n_languages ? opt(c->languages[0]) : NULL;
    return CODE(OK);
}

bus_code_t contacts_resolve(bus_client_t *bus, arena_t *a, const char *request_id,
                            const Parley__Common__V1__Principal *p, const char *person_id, const char *kind,
                            const char *authority, contact_t *out) {
    *out = (contact_t){0};
    if (kind && strcmp(kind, "supporter") == 0) return from_matching(bus, a, request_id, p, person_id, authority, out);
    bus_code_t code = from_intake(bus, a, request_id, p, person_id, authority, out);
    if (code != CODE(NOT_FOUND) || kind != NULL) return code;
    return from_matching(bus, a, request_id, p, person_id, authority, out);
}
