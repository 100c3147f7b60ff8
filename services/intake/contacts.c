/* contacts (issue 13, item 3): ResolveContact, a person's contact details
 * for notify, read when a message is sent so that what intake holds now is
 * what is used (a correction or an erasure takes effect at once). Bus
 * only: no route reaches it. The person is a family's parent, a young
 * person or a parent a young person linked, read under the principal's
 * authorities (row-level security): another authority's, or an erased one,
 * is NOT_FOUND. The answer holds only what a message needs: names, email,
 * phone, address, language and communication needs. */
#include <string.h>

#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Contact contact_t;

/* Each source's columns in one order; a linked parent has no address. */
static const db_stmt_t stmts[] = {
    {"contact_find",
     "SELECT id, authority_id, 'CONTACT_KIND_PARENT', given_name, family_name, email, phone, address_line1,"
     " address_line2, town, postcode, preferred_language, array_to_string(communication_needs, ','),"
     " audit.touch(id::text, authority_id) FROM parents WHERE id = $1"
     " UNION ALL SELECT id, authority_id, 'CONTACT_KIND_YOUNG_PERSON', given_name, family_name, email, phone,"
     " address_line1, address_line2, town, postcode, preferred_language, array_to_string(communication_needs, ','),"
     " audit.touch(id::text, authority_id) FROM young_people WHERE id = $1"
     " UNION ALL SELECT id, authority_id, 'CONTACT_KIND_PARENT', given_name, family_name, email, phone, NULL, NULL,"
     " NULL, NULL, preferred_language, array_to_string(communication_needs, ','),"
     " audit.touch(id::text, authority_id) FROM young_person_parents WHERE id = $1 LIMIT 1"},
};

const db_stmt_t *contacts_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* At most this many communication needs (the enum has fewer). */
#define MAX_NEEDS 16

static ProtobufCMessage *parse_contact(arena_t *a, db_result_t *const *results) {
    const db_result_t *r = results[0];
    contact_t *c = arena_alloc(a, sizeof *c);
    if (c == NULL) return NULL;
    parley__intake__v1__contact__init(c);
    c->person_id = db_str(a, r, 0, 0);
    c->authority_id = db_str(a, r, 0, 1);
    c->kind = svc_enum_value(&parley__intake__v1__contact_kind__descriptor, db_text(r, 0, 2));
    c->given_name = db_str(a, r, 0, 3);
    c->family_name = db_str(a, r, 0, 4);
    c->email = db_str(a, r, 0, 5);
    c->phone = db_str(a, r, 0, 6);
    if (!db_is_null(r, 0, 7) || !db_is_null(r, 0, 10)) {
        Parley__Intake__V1__Address *ad = arena_alloc(a, sizeof *ad);
        if (ad == NULL) return NULL;
        parley__intake__v1__address__init(ad);
        ad->line1 = db_str(a, r, 0, 7);
        ad->line2 = db_str(a, r, 0, 8);
        ad->town = db_str(a, r, 0, 9);
        ad->postcode = db_str(a, r, 0, 10);
        c->address = ad;
    }
    c->preferred_language = db_str(a, r, 0, 11);
    const char *needs = db_text(r, 0, 12);
    c->communication_needs = arena_alloc(a, MAX_NEEDS * sizeof *c->communication_needs);
    for (const char *p = needs; c->communication_needs && p && *p && c->n_communication_needs < MAX_NEEDS;) {
        size_t len = strcspn(p, ",");
        int v = svc_enum_value(&parley__intake__v1__communication_need__descriptor, arena_strndup(a, p, len));
        if (v) c->communication_needs[c->n_communication_needs++] = v;
        p += len + (p[len] == ',');
    }
    return &c->base;
}

static const svc_get_t get_contact = {"person", {"contact_find"}, 1, parse_contact};

int contacts_resolve(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__ResolveContactRequest *in = (const void *)req->input;
    return svc_get_one(((intake_t *)ctx)->db, req, res, in->person_id, &get_contact);
}
