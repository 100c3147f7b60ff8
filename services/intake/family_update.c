/* PATCH /v1/families/{id}: change a family's parents and children.
 *
 * What GET answers can be sent back, whole or in part. A list sent is the
 * family's whole list, its items matched by the `id` GET gives them (or,
 * as before, `parentId` / `childId`): an item with an id is that parent or
 * child changed by JSON Merge Patch (RFC 7396: only the fields sent change,
 * null removes an optional one, a nested address or school merges the same
 * way, a list of needs is replaced whole); one without an id is added; one
 * left out is removed (never a child with cases or recorded views: 400
 * child_has_cases). An absent, null or empty list is left as it is (a
 * family always keeps a parent with parental responsibility and a child).
 * The read-only fields (version, createdAt, updatedAt, authorityId,
 * externalReference) may be sent back as read; another value is 400
 * read_only_field, another version 412 (svc/read_only.h).
 *
 * If-Match is honoured when sent (412 stale_version; without it the last
 * write wins). A PATCH that changes nothing writes nothing: the version
 * stays, no event. A change bumps the version and emits family.updated
 * (docs/events.md) in its transaction. */
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__PatchFamilyRequest patch_t;
typedef Parley__Intake__V1__PatchParent patch_parent_t;
typedef Parley__Intake__V1__PatchChild patch_child_t;
typedef Parley__Intake__V1__Family family_t;
typedef Parley__Intake__V1__Parent parent_t;
typedef Parley__Intake__V1__Child child_t;
typedef Parley__Intake__V1__ParentInput parent_in_t;
typedef Parley__Intake__V1__ChildInput child_in_t;

static const db_stmt_t stmts[] = {
    {"family_bump",
     "UPDATE families SET version = version + 1, updated_at = now() WHERE id = $1"
     " AND authority_id = ANY (current_authorities())"},
    {"family_parents_drop", "DELETE FROM parents WHERE family_id = $1 AND NOT (id = ANY ($2::uuid[]))"},
    {"family_children_drop", "DELETE FROM children WHERE family_id = $1 AND NOT (id = ANY ($2::uuid[]))"},
    {"family_children_in_use",
     "SELECT 1 FROM children c WHERE c.family_id = $1 AND NOT (c.id = ANY ($2::uuid[]))"
     " AND (EXISTS (SELECT 1 FROM cases k WHERE k.child_id = c.id)"
     "      OR EXISTS (SELECT 1 FROM child_views v WHERE v.child_id = c.id))"},
    /* Out of the way of the new positions (UNIQUE (family_id, position)). */
    {"family_parents_shift", "UPDATE parents SET position = position + 1000 WHERE family_id = $1"},
    {"family_children_shift", "UPDATE children SET position = position + 1000 WHERE family_id = $1"},
};

const db_stmt_t *family_update_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* One list's items after the merge: what to write at each position, and
 * the stored id each keeps (NULL for a new one). */
typedef struct {
    size_t n;
    const char *ids[MAX_CHILDREN > MAX_PARENTS ? MAX_CHILDREN : MAX_PARENTS];
    void *items[MAX_CHILDREN > MAX_PARENTS ? MAX_CHILDREN : MAX_PARENTS]; /* parent_in_t or child_in_t */
} merged_t;

/* Whether the body sent list[i].name. */
static bool sent(const bus_request_t *req, arena_t *a, const char *list, size_t i, const char *name) {
    return svc_sentf(req, a, "%s[%zu].%s", list, i, name);
}

static bool same_str(const char *x, const char *y) { return strcmp(x ? x : "", y ? y : "") == 0; }

/* An item's key: `id`, or the older `parentId`/`childId`, which must agree
 * with it. NULL for a new item; a violation when both are sent and differ
 * or one is not a UUID. */
static const char *item_key(bus_response_t *res, const char *list, size_t i, const char *id, const char *legacy,
                            const char *legacy_name) {
    arena_t *a = res->arena;
    if (svc_opt(id) && svc_opt(legacy) && strcasecmp(id, legacy) != 0) {
        bus_response_violation(res, arena_printf(a, "%s[%zu].%s", list, i, legacy_name), "must be the same as id");
        return NULL;
    }
    const char *key = svc_opt(id) ? id : svc_opt(legacy);
    const char *field = arena_printf(a, "%s[%zu].%s", list, i, svc_opt(id) ? "id" : legacy_name);
    if (key != NULL && !svc_check_uuid(res, field, key, false)) return NULL;
    return key;
}

/* Each key is listed once: a violation on the repeat's field. */
static void check_repeats(bus_response_t *res, const char *list, const char *const *keys, const char *const *fields,
                          size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; keys[i] != NULL && k < i; k++)
            if (keys[k] != NULL && strcasecmp(keys[k], keys[i]) == 0) {
                bus_response_violation(res, arena_printf(res->arena, "%s[%zu].%s", list, i, fields[i]),
                                       "is listed twice");
                break;
            }
}

static const parent_t *find_parent(const family_t *f, const char *id) {
    for (size_t i = 0; id != NULL && i < f->n_parents; i++)
        if (strcasecmp(f->parents[i]->id, id) == 0) return f->parents[i];
    return NULL;
}

static const child_t *find_child(const family_t *f, const char *id) {
    for (size_t i = 0; id != NULL && i < f->n_children; i++)
        if (strcasecmp(f->children[i]->id, id) == 0) return f->children[i];
    return NULL;
}

/* The address after merging the sent one into the stored one (either may
 * be NULL); NULL when the result holds nothing. */
static Parley__Intake__V1__Address *merge_address(const bus_request_t *req, arena_t *a, size_t i,
                                                  const Parley__Intake__V1__Address *was,
                                                  const Parley__Intake__V1__Address *sent_ad) {
    Parley__Intake__V1__Address *ad = arena_alloc(a, sizeof *ad);
    parley__intake__v1__address__init(ad);
    if (!sent(req, a, "parents", i, "address")) {
        if (was == NULL) return NULL;
        *ad = *was;
        return ad;
    }
    if (sent_ad == NULL) return NULL; /* null: removed */
    static const char *const names[] = {"line1", "line2", "town", "postcode"};
    char **dst[] = {&ad->line1, &ad->line2, &ad->town, &ad->postcode};
    char *const from_was[] = {was ? was->line1 : NULL, was ? was->line2 : NULL, was ? was->town : NULL,
                              was ? was->postcode : NULL};
    char *const from_sent[] = {sent_ad->line1, sent_ad->line2, sent_ad->town, sent_ad->postcode};
    bool any = false;
    for (size_t k = 0; k < 4; k++) {
        char *v = svc_sentf(req, a, "parents[%zu].address.%s", i, names[k]) ? from_sent[k] : from_was[k];
        *dst[k] = v ? v : (char *)"";
        any = any || svc_opt(v);
    }
    return any ? ad : NULL;
}

/* Parent item i merged into the stored parent was (NULL: a new one). */
static parent_in_t *merge_parent(const bus_request_t *req, arena_t *a, size_t i, const parent_t *was,
                                 const patch_parent_t *p) {
    parent_in_t *m = arena_alloc(a, sizeof *m);
    parley__intake__v1__parent_input__init(m);
    if (was != NULL) {
        m->given_name = was->given_name;
        m->family_name = was->family_name;
        m->email = was->email;
        m->phone = was->phone;
        m->preferred_language = was->preferred_language;
        m->n_communication_needs = was->n_communication_needs;
        m->communication_needs = was->communication_needs;
        m->has_parental_responsibility = was->has_parental_responsibility;
        m->relationship = was->relationship;
    }
    if (sent(req, a, "parents", i, "givenName")) m->given_name = p->given_name;
    if (sent(req, a, "parents", i, "familyName")) m->family_name = p->family_name;
    if (sent(req, a, "parents", i, "email")) m->email = p->email;
    if (sent(req, a, "parents", i, "phone")) m->phone = p->phone;
    if (sent(req, a, "parents", i, "preferredLanguage")) m->preferred_language = p->preferred_language;
    if (sent(req, a, "parents", i, "communicationNeeds")) {
        m->n_communication_needs = p->n_communication_needs;
        m->communication_needs = p->communication_needs;
    }
    if (sent(req, a, "parents", i, "hasParentalResponsibility"))
        m->has_parental_responsibility = p->has_parental_responsibility;
    if (sent(req, a, "parents", i, "relationship")) m->relationship = p->relationship;
    m->address = merge_address(req, a, i, was ? was->address : NULL, p->address);
    return m;
}

static Parley__Intake__V1__School *merge_school(const bus_request_t *req, arena_t *a, size_t i,
                                                const Parley__Intake__V1__School *was,
                                                const Parley__Intake__V1__School *sent_school) {
    Parley__Intake__V1__School *sc = arena_alloc(a, sizeof *sc);
    parley__intake__v1__school__init(sc);
    if (!sent(req, a, "children", i, "school")) {
        if (was == NULL) return NULL;
        *sc = *was;
        return sc;
    }
    if (sent_school == NULL) return NULL;
    sc->urn = svc_sentf(req, a, "children[%zu].school.urn", i) ? sent_school->urn : (was ? was->urn : NULL);
    sc->name = svc_sentf(req, a, "children[%zu].school.name", i) ? sent_school->name : (was ? was->name : NULL);
    if (sc->urn == NULL) sc->urn = (char *)"";
    if (sc->name == NULL) sc->name = (char *)"";
    return svc_opt(sc->urn) || svc_opt(sc->name) ? sc : NULL;
}

static child_in_t *merge_child(const bus_request_t *req, arena_t *a, size_t i, const child_t *was,
                               const patch_child_t *c) {
    child_in_t *m = arena_alloc(a, sizeof *m);
    parley__intake__v1__child_input__init(m);
    if (was != NULL) {
        m->given_name = was->given_name;
        m->family_name = was->family_name;
        m->date_of_birth = was->date_of_birth;
        m->n_needs = was->n_needs;
        m->needs = was->needs;
        m->plan_status = was->plan_status;
    }
    if (sent(req, a, "children", i, "givenName")) m->given_name = c->given_name;
    if (sent(req, a, "children", i, "familyName")) m->family_name = c->family_name;
    if (sent(req, a, "children", i, "dateOfBirth")) m->date_of_birth = c->date_of_birth;
    if (sent(req, a, "children", i, "needs")) {
        m->n_needs = c->n_needs;
        m->needs = c->needs;
    }
    if (sent(req, a, "children", i, "planStatus")) m->plan_status = c->plan_status;
    m->school = merge_school(req, a, i, was ? was->school : NULL, c->school);
    return m;
}

/* The parents list after the patch, into out; violations on res. */
static void merge_parents(const bus_request_t *req, bus_response_t *res, const patch_t *in, const family_t *f,
                          merged_t *out) {
    arena_t *a = res->arena;
    const char *keys[MAX_PARENTS], *fields[MAX_PARENTS];
    bool responsible = false;
    out->n = in->n_parents;
    for (size_t i = 0; i < in->n_parents; i++) {
        const patch_parent_t *p = in->parents[i];
        keys[i] = item_key(res, "parents", i, p->id, p->parent_id, "parentId");
        fields[i] = svc_opt(p->id) ? "id" : "parentId";
        const parent_t *was = find_parent(f, keys[i]);
        if (keys[i] != NULL && was == NULL)
            bus_response_violation(res, arena_printf(a, "parents[%zu].%s", i, fields[i]), "no such parent in this family");
        parent_in_t *m = merge_parent(req, a, i, was, p);
        families_check_parent(res, i, m);
        responsible = responsible || m->has_parental_responsibility;
        out->ids[i] = was ? was->id : NULL;
        out->items[i] = m;
    }
    check_repeats(res, "parents", keys, fields, in->n_parents);
    if (in->n_parents > 0 && !responsible)
        bus_response_violation(res, "parents", "at least one parent must have parental responsibility");
}

static void merge_children(const bus_request_t *req, bus_response_t *res, const patch_t *in, const family_t *f,
                           merged_t *out) {
    arena_t *a = res->arena;
    const char *keys[MAX_CHILDREN], *fields[MAX_CHILDREN];
    out->n = in->n_children;
    for (size_t i = 0; i < in->n_children; i++) {
        const patch_child_t *c = in->children[i];
        keys[i] = item_key(res, "children", i, c->id, c->child_id, "childId");
        fields[i] = svc_opt(c->id) ? "id" : "childId";
        const child_t *was = find_child(f, keys[i]);
        if (keys[i] != NULL && was == NULL)
            bus_response_violation(res, arena_printf(a, "children[%zu].%s", i, fields[i]), "no such child in this family");
        child_in_t *m = merge_child(req, a, i, was, c);
        /* A date of birth kept as stored is not checked against today
         * again: a record that was valid stays writable. */
        families_check_child_fields(res, i, m, was == NULL || sent(req, a, "children", i, "dateOfBirth"));
        out->ids[i] = was ? was->id : NULL;
        out->items[i] = m;
    }
    check_repeats(res, "children", keys, fields, in->n_children);
}

static bool same_address(const Parley__Intake__V1__Address *x, const Parley__Intake__V1__Address *y) {
    if (x == NULL || y == NULL) return x == y;
    return same_str(x->line1, y->line1) && same_str(x->line2, y->line2) && same_str(x->town, y->town) &&
           same_str(x->postcode, y->postcode);
}

/* Whether merged parent m at position i is stored parent was, unchanged. */
static bool same_parent(const parent_in_t *m, const parent_t *was) {
    /* A removed language is not known, and reads back so (families.c). */
    const char *lang = intake_language_or_null(m->preferred_language);
    const char *had = intake_language_or_null(was->preferred_language);
    if (!same_str(m->given_name, was->given_name) || !same_str(m->family_name, was->family_name) ||
        !same_str(m->email, was->email) || !same_str(m->phone, was->phone) ||
        !same_str(lang, had) || !same_str(m->relationship, was->relationship) ||
        m->has_parental_responsibility != was->has_parental_responsibility ||
        !same_address(m->address, was->address) || m->n_communication_needs != was->n_communication_needs)
        return false;
    for (size_t k = 0; k < m->n_communication_needs; k++)
        if (m->communication_needs[k] != was->communication_needs[k]) return false;
    return true;
}

static bool same_child(const child_in_t *m, const child_t *was) {
    const Parley__Intake__V1__School *x = m->school, *y = was->school;
    bool school = (x == NULL || y == NULL) ? x == y : same_str(x->urn, y->urn) && same_str(x->name, y->name);
    if (!school || !same_str(m->given_name, was->given_name) || !same_str(m->family_name, was->family_name) ||
        !same_str(m->date_of_birth, was->date_of_birth) || m->plan_status != was->plan_status ||
        m->n_needs != was->n_needs)
        return false;
    for (size_t k = 0; k < m->n_needs; k++)
        if (intake_need_type(m->needs[k]) != intake_need_type(was->needs[k]) ||
            !same_str(m->needs[k]->detail, was->needs[k]->detail))
            return false;
    return true;
}

static bool parents_unchanged(const merged_t *m, const family_t *f) {
    if (m->n != f->n_parents) return false;
    for (size_t i = 0; i < m->n; i++)
        if (m->ids[i] == NULL || strcasecmp(m->ids[i], f->parents[i]->id) != 0 || !same_parent(m->items[i], f->parents[i]))
            return false;
    return true;
}

static bool children_unchanged(const merged_t *m, const family_t *f) {
    if (m->n != f->n_children) return false;
    for (size_t i = 0; i < m->n; i++)
        if (m->ids[i] == NULL || strcasecmp(m->ids[i], f->children[i]->id) != 0 ||
            !same_child(m->items[i], f->children[i]))
            return false;
    return true;
}

/* The kept ids as a uuid[] literal (new items have none yet). */
static const char *kept(arena_t *a, const merged_t *m) {
    char **k = arena_alloc(a, (m->n + 1) * sizeof *k);
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->ids[i] != NULL) k[n++] = (char *)m->ids[i];
    return db_array_literal(a, k, n);
}

static int write_parents(db_t *db, arena_t *a, const family_t *f, const merged_t *m) {
    const char *params[] = {f->id, kept(a, m)};
    int rc = db_exec(db, "family_parents_drop", 2, params, NULL);
    if (rc == 0) rc = db_exec(db, "family_parents_shift", 1, params, NULL);
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        rc = families_write_parent(db, a, f->id, f->authority_id, i, m->ids[i], m->items[i]);
    return rc;
}

/* 0 written; 1 refused (res set: a child left out is in use); a DB_ERR_*. */
static int write_children(db_t *db, bus_response_t *res, const family_t *f, const merged_t *m) {
    arena_t *a = res->arena;
    const char *params[] = {f->id, kept(a, m)};
    int used = svc_exists(db, "family_children_in_use", 2, params);
    if (used < 0) return used;
    if (used) {
        bus_response_violation(res, "children", "a child left out has cases or recorded views and cannot be removed");
        bus_response_problem(res, BUS_PROBLEM_CHILD_HAS_CASES, NULL);
        return 1;
    }
    int rc = db_exec(db, "family_children_drop", 2, params, NULL);
    if (rc == 0) rc = db_exec(db, "family_children_shift", 1, params, NULL);
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        rc = families_write_child(db, a, f->id, f->authority_id, i, m->ids[i], m->items[i]);
    return rc;
}

/* The family as stored, locked for the change: 1, 0 when there is none
 * visible, or a DB_ERR_*. */
static int lock_family(db_t *db, arena_t *a, const char *id, family_t **out) {
    return families_read(db, a, id, "family_lock", out);
}

int families_update(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const patch_t *in = (const patch_t *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "family");
    if (in->n_parents > MAX_PARENTS) bus_response_violation(res, "parents", "at most %d parents", MAX_PARENTS);
    if (in->n_children > MAX_CHILDREN) bus_response_violation(res, "children", "at most %d children", MAX_CHILDREN);
    if (!svc_ok(res)) return -1;

    int rc = db_tx_begin(db, req->header->principal);
    family_t *f = NULL;
    int found = rc == 0 ? lock_family(db, a, in->id, &f) : rc;
    if (found < 0) return svc_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "family");
    }
    if (!svc_if_match_allows(a, req, f->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION,
                             "the family has changed since that version (it is at version %d); read it again",
                             f->version);
        return -1;
    }
    merged_t parents = {0}, children = {0};
    if (svc_check_read_only(req, res, &f->base, NULL) == 0) {
        merge_parents(req, res, in, f, &parents);
        merge_children(req, res, in, f, &children);
    }
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    /* An absent or empty list is left as it is. */
    bool parents_same = in->n_parents == 0 || parents_unchanged(&parents, f);
    bool children_same = in->n_children == 0 || children_unchanged(&children, f);
    if (parents_same && children_same) {
        /* Nothing to change: nothing written, the version kept. */
        if ((rc = db_tx_commit(db)) != 0) return svc_db_fail(res, req, db, rc);
        res->reply = &f->base;
        return 0;
    }
    if (!parents_same) rc = write_parents(db, a, f, &parents);
    if (rc == 0 && !children_same) rc = write_children(db, res, f, &children);
    if (rc == 1) {
        db_tx_rollback(db);
        return -1;
    }
    const char *params[] = {f->id};
    if (rc == 0) rc = db_exec(db, "family_bump", 1, params, NULL);
    family_t *now = NULL;
    if (rc == 0) {
        found = families_load(db, a, in->id, &now);
        rc = found == 1 ? 0 : (found < 0 ? found : DB_ERR_QUERY);
    }
    /* Every change is announced, in its transaction: matching keeps a copy
     * of the family's facts for ranking supporters. */
    if (rc == 0) rc = events_emit(db, a, "family.updated", in->id, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &now->base;
    return 0;
}
