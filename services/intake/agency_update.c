/* Keeping the directory current: PATCH /v1/agencies/{id} and
 * POST /v1/agencies/{id}/retire.
 *
 * PATCH takes back what GET answers (JSON Merge Patch, RFC 7396: only the
 * members sent change, null removes an optional one, a list sent is the
 * whole list, contact merges member by member); the read-only members
 * (status, retiredAt, version, the times) may be sent as read. The gateway
 * answers 428 without If-Match (gateway/routes.h); a stale one is 412; a
 * PATCH that changes nothing writes nothing and keeps the version.
 *
 * An agency may serve authorities the caller does not: authorityIds
 * changes only the caller's own. Those of others stay whether sent back or
 * not; one of the caller's left out is removed, one added must be the
 * caller's; the agency keeps at least one of the caller's (to stop serving
 * all of them, retire it). Row-level security (012) enforces the last.
 *
 * Retiring keeps the agency for the record (signposts name it; readable by
 * id) but takes it off the directory's list and out of signposting, manual
 * and automatic; retiring a retired one changes nothing. It honours
 * If-Match when sent. No event: nothing subscribes to the directory. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Agency agency_t;
typedef Parley__Intake__V1__AgencyContact contact_t;
typedef Parley__Intake__V1__CreateAgencyRequest create_agency_t;
typedef Parley__Intake__V1__PatchAgencyRequest patch_t;

#define MAX_ITEMS 50
#define RETIRED PARLEY__INTAKE__V1__LISTING_STATUS__LISTING_STATUS_RETIRED

static const db_stmt_t stmts[] = {
    {"agency_update",
     "UPDATE agencies SET name = $2, kind = $3, authority_ids = $4::uuid[], needs = $5::text[],"
     " languages = $6::text[], areas = $7::text[], email = $8, phone = $9, website = $10, address = $11,"
     " description = $12, need_details = $13::text[], stages = $14::text[], version = version + 1,"
     " updated_at = now() WHERE id = $1"},
    {"agency_retired",
     "UPDATE agencies SET status = 'LISTING_STATUS_RETIRED', retired_at = now(), version = version + 1,"
     " updated_at = now() WHERE id = $1"},
};

const db_stmt_t *agency_update_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* Begins, locks agency id, checks If-Match: 1 with *out; 0 with res set
 * (404, 412; rolled back); a DB_ERR_* (still open). */
static int lock(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, agency_t **out) {
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return rc;
    int found = agencies_load(db, res->arena, id, "agency_lock", out);
    if (found < 0) return found;
    if (found == 0) {
        db_tx_rollback(db);
        svc_not_found(res, "agency");
        return 0;
    }
    if (!svc_if_match_allows(res->arena, req, (*out)->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION,
                             "the agency has changed since that version (it is at version %d); read it again",
                             (*out)->version);
        return 0;
    }
    return 1;
}

static int reply(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id) {
    agency_t *g = NULL;
    int found = agencies_load(db, res->arena, id, "agency_get", &g);
    int rc = found == 1 ? 0 : (found < 0 ? found : DB_ERR_QUERY);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &g->base;
    return 0;
}

static bool listed(char *const *items, size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(items[i], id) == 0) return true;
    return false;
}

/* The authorities after the patch (see the header comment), into m;
 * violations on res. */
static void merge_authorities(const bus_request_t *req, bus_response_t *res, const agency_t *g, const patch_t *in,
                              create_agency_t *m) {
    arena_t *a = res->arena;
    if (!svc_sent(req, "authorityIds")) {
        m->n_authority_ids = g->n_authority_ids;
        m->authority_ids = g->authority_ids;
        return;
    }
    if (in->n_authority_ids > MAX_ITEMS) {
        bus_response_violation(res, "authorityIds", "at most %d", MAX_ITEMS);
        return;
    }
    svc_check_distinct(res, "authorityIds", in->authority_ids, in->n_authority_ids, MAX_ITEMS);
    m->authority_ids = arena_alloc(a, (g->n_authority_ids + in->n_authority_ids + 1) * sizeof *m->authority_ids);
    size_t n = 0;
    bool own = false;
    for (size_t i = 0; i < g->n_authority_ids; i++) {
        bool mine = svc_has_authority(req, g->authority_ids[i]);
        if (!mine || listed(in->authority_ids, in->n_authority_ids, g->authority_ids[i]))
            m->authority_ids[n++] = g->authority_ids[i];
        own = own || (mine && listed(in->authority_ids, in->n_authority_ids, g->authority_ids[i]));
    }
    for (size_t i = 0; i < in->n_authority_ids; i++) {
        const char *id = in->authority_ids[i];
        if (listed(g->authority_ids, g->n_authority_ids, id)) continue;
        if (svc_check_authority(req, res, arena_printf(a, "authorityIds[%zu]", i), id)) {
            m->authority_ids[n++] = in->authority_ids[i];
            own = true;
        }
    }
    m->n_authority_ids = n;
    if (!own)
        bus_response_violation(res, "authorityIds",
                               "must keep at least one authority this API client serves; to stop signposting the "
                               "agency, retire it (POST /v1/agencies/{id}/retire)");
}

/* A contact member after the merge: sent (null removes it) or as stored. */
static char *member(const bus_request_t *req, const char *name, const contact_t *sent, const contact_t *was,
                    size_t offset) {
    char path[32];
    snprintf(path, sizeof path, "contact.%s", name);
    bool whole = svc_sent(req, "contact");
    const contact_t *from = (whole && (sent == NULL || svc_sent(req, path))) ? sent : was;
    return from ? *(char **)((const char *)from + offset) : NULL;
}

static create_agency_t *merge(const bus_request_t *req, bus_response_t *res, const agency_t *g, const patch_t *in) {
    create_agency_t *m = arena_alloc(res->arena, sizeof *m);
    parley__intake__v1__create_agency_request__init(m);
    m->name = svc_sent(req, "name") ? in->name : g->name;
    m->kind = svc_sent(req, "kind") ? in->kind : g->kind;
    m->description = svc_sent(req, "description") ? in->description : g->description;
#define LIST(f, json)                                                                                               \
    do {                                                                                                            \
        bool s_ = svc_sent(req, json);                                                                              \
        m->n_##f = s_ ? in->n_##f : g->n_##f;                                                                       \
        m->f = s_ ? in->f : g->f;                                                                                   \
    } while (0)
    LIST(needs, "needs");
    LIST(languages, "languages");
    LIST(areas, "areas");
    LIST(stages, "stages");
#undef LIST
    contact_t *c = arena_alloc(res->arena, sizeof *c);
    parley__intake__v1__agency_contact__init(c);
    c->email = member(req, "email", in->contact, g->contact, offsetof(contact_t, email));
    c->phone = member(req, "phone", in->contact, g->contact, offsetof(contact_t, phone));
    c->website = member(req, "website", in->contact, g->contact, offsetof(contact_t, website));
    c->address = member(req, "address", in->contact, g->contact, offsetof(contact_t, address));
    m->contact = c;
    merge_authorities(req, res, g, in, m);
    return m;
}

static bool same(const char *x, const char *y) { return strcmp(x ? x : "", y ? y : "") == 0; }

static bool same_list(char *const *x, size_t nx, char *const *y, size_t ny) {
    if (nx != ny) return false;
    for (size_t i = 0; i < nx; i++)
        if (!same(x[i], y[i])) return false;
    return true;
}

static bool same_needs(Parley__Common__V1__Need *const *x, size_t nx, Parley__Common__V1__Need *const *y,
                       size_t ny) {
    if (nx != ny) return false;
    for (size_t i = 0; i < nx; i++)
        if (x[i]->type != y[i]->type || !same(x[i]->detail, y[i]->detail)) return false;
    return true;
}

static bool is_unchanged(const create_agency_t *m, const agency_t *g) {
    const contact_t *c = m->contact, *w = g->contact;
    return same(m->name, g->name) && m->kind == g->kind && same(m->description, g->description) &&
           same_list(m->authority_ids, m->n_authority_ids, g->authority_ids, g->n_authority_ids) &&
           same_needs(m->needs, m->n_needs, g->needs, g->n_needs) &&
           same_list(m->languages, m->n_languages, g->languages, g->n_languages) &&
           same_list(m->areas, m->n_areas, g->areas, g->n_areas) && m->n_stages == g->n_stages &&
           (m->n_stages == 0 || memcmp(m->stages, g->stages, m->n_stages * sizeof *m->stages) == 0) && same(c->email, w ? w->email : NULL) &&
           same(c->phone, w ? w->phone : NULL) && same(c->website, w ? w->website : NULL) &&
           same(c->address, w ? w->address : NULL);
}

int agencies_update(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const patch_t *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "agency");
    agency_t *g = NULL;
    int rc = lock(db, req, res, in->id, &g);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    if (rc == 0) return -1;
    if (svc_check_read_only(req, res, &g->base, NULL) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    create_agency_t *m = merge(req, res, g, in);
    agencies_check(req, res, m, false);
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    if (is_unchanged(m, g)) {
        if ((rc = db_tx_commit(db)) != 0) return svc_db_fail(res, req, db, rc);
        res->reply = &g->base;
        return 0;
    }
    const contact_t *c = m->contact;
    const char *types, *details;
    if (intake_needs_literals(a, m->needs, m->n_needs, &types, &details) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    const char *params[] = {g->id, m->name, svc_enum_text(&parley__intake__v1__agency_kind__descriptor, m->kind),
                            db_array_literal(a, m->authority_ids, m->n_authority_ids), types,
                            db_array_literal(a, m->languages, m->n_languages),
                            db_array_literal(a, m->areas, m->n_areas), svc_opt(c->email), svc_opt(c->phone),
                            svc_opt(c->website), svc_opt(c->address), svc_opt(m->description), details,
                            agencies_stages_literal(a, m->stages, m->n_stages)};
    if ((rc = db_exec(db, "agency_update", 14, params, NULL)) != 0) return svc_db_fail(res, req, db, rc);
    return reply(db, req, res, g->id);
}

int agencies_retire(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    const Parley__Intake__V1__RetireAgencyRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "agency");
    agency_t *g = NULL;
    int rc = lock(db, req, res, in->id, &g);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    if (rc == 0) return -1;
    if (g->status == RETIRED) {
        if ((rc = db_tx_commit(db)) != 0) return svc_db_fail(res, req, db, rc);
        res->reply = &g->base;
        return 0;
    }
    const char *params[] = {g->id};
    if ((rc = db_exec(db, "agency_retired", 1, params, NULL)) != 0) return svc_db_fail(res, req, db, rc);
    return reply(db, req, res, g->id);
}
