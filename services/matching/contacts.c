/* contacts (issue 13, item 3): ResolveContact, a supporter's contact
 * details for notify, read when a message is sent (never copied there).
 * Bus only: no route reaches it. Read under the principal's authorities
 * (row-level security: a supporter serving none of them, or one erased,
 * is NOT_FOUND); the answer holds only what a message needs. */
#include <string.h>

#include "services/matching/matching.h"
#include "svc/svc.h"

typedef Parley__Matching__V1__SupporterContact contact_t;

#define MAX_LANGUAGES 20
#define MAX_AUTHORITIES 100

static const db_stmt_t stmts[] = {
    /* The principal's authorities the supporter serves, in order. */
    {"contact_find",
     "SELECT s.id, (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(s.authority_ids) AS x"
     " WHERE x = ANY (current_authorities())), s.given_name, s.family_name, s.email, s.phone,"
     " array_to_string(s.languages, ','), audit.touch(s.id::text, NULL) FROM supporters s WHERE s.id = $1"},
};

const db_stmt_t *contacts_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static ProtobufCMessage *parse_contact(arena_t *a, db_result_t *const *results) {
    const db_result_t *r = results[0];
    contact_t *c = arena_alloc(a, sizeof *c);
    if (c == NULL) return NULL;
    parley__matching__v1__supporter_contact__init(c);
    c->person_id = db_str(a, r, 0, 0);
    const char *ids = db_text(r, 0, 1);
    c->authority_ids = arena_alloc(a, MAX_AUTHORITIES * sizeof *c->authority_ids);
    for (const char *p = ids; c->authority_ids && p && *p && c->n_authority_ids < MAX_AUTHORITIES;) {
        size_t len = strcspn(p, ",");
        c->authority_ids[c->n_authority_ids++] = arena_strndup(a, p, len);
        p += len + (p[len] == ',');
    }
    c->given_name = db_str(a, r, 0, 2);
    c->family_name = db_str(a, r, 0, 3);
    c->email = db_str(a, r, 0, 4);
    c->phone = db_str(a, r, 0, 5);
    const char *langs = db_text(r, 0, 6);
    c->languages = arena_alloc(a, MAX_LANGUAGES * sizeof *c->languages);
    for (const char *p = langs; c->languages && p && *p && c->n_languages < MAX_LANGUAGES;) {
        size_t len = strcspn(p, ",");
        c->languages[c->n_languages++] = arena_strndup(a, p, len);
        p += len + (p[len] == ',');
    }
    return &c->base;
}

static const svc_get_t get_contact = {"supporter", {"contact_find"}, 1, parse_contact};

int contacts_resolve(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Matching__V1__ResolveContactRequest *in = (const void *)req->input;
    return svc_get_one(((matching_t *)ctx)->db, req, res, in->person_id, &get_contact);
}
