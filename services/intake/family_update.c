/* PATCH /v1/families/{id}: change a family's parents and children.
 *
 * A list that is present replaces that list whole: an item with parentId
 * (childId) naming one of the family's parents (children) changes that
 * one, every field replaced; an item without it adds one; those left out
 * are removed. An
 * absent or empty list is left as it is (a family always has a parent with
 * parental responsibility and a child). A child with cases or recorded
 * views cannot be removed (400 naming children). If-Match is honoured when
 * sent (412 when stale); without it the last write wins. A change emits
 * family.updated (docs/events.md) in its transaction. */
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/precondition.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__UpdateFamilyRequest update_t;

static const db_stmt_t stmts[] = {
    {"family_bump",
     "UPDATE families SET version = version + 1, updated_at = now()"
     " WHERE id = $1 AND authority_id = ANY (current_authorities()) AND ($2::int[] IS NULL OR version = ANY ($2::int[]))"
     " RETURNING authority_id, audit.touch(id::text, authority_id)"},
    {"family_visible", "SELECT 1 FROM families WHERE id = $1 AND authority_id = ANY (current_authorities())"},
    {"family_parent_ids", "SELECT id FROM parents WHERE family_id = $1"},
    {"family_child_ids", "SELECT id FROM children WHERE family_id = $1"},
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

static Parley__Intake__V1__ParentInput *parent_input(arena_t *a, const Parley__Intake__V1__ParentPatch *p) {
    Parley__Intake__V1__ParentInput *in = arena_alloc(a, sizeof *in);
    parley__intake__v1__parent_input__init(in);
    in->given_name = p->given_name;
    in->family_name = p->family_name;
    in->email = p->email;
    in->phone = p->phone;
    in->address = p->address;
    in->preferred_language = p->preferred_language;
    in->n_communication_needs = p->n_communication_needs;
    in->communication_needs = p->communication_needs;
    in->has_parental_responsibility = p->has_parental_responsibility;
    in->relationship = p->relationship;
    return in;
}

static Parley__Intake__V1__ChildInput *child_input(arena_t *a, const Parley__Intake__V1__ChildPatch *c) {
    Parley__Intake__V1__ChildInput *in = arena_alloc(a, sizeof *in);
    parley__intake__v1__child_input__init(in);
    in->given_name = c->given_name;
    in->family_name = c->family_name;
    in->date_of_birth = c->date_of_birth;
    in->school = c->school;
    in->n_needs = c->n_needs;
    in->needs = c->needs;
    in->plan_status = c->plan_status;
    return in;
}

/* Each id in ids (n, may be "" for new items) is a UUID, listed once. */
static void check_ids(bus_response_t *res, const char *list, char **ids, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == NULL || *ids[i] == '\0') continue;
        const char *f = arena_printf(res->arena, "%s[%zu].%s", list, i, strcmp(list, "parents") ? "childId" : "parentId");
        if (!svc_check_uuid(res, f, ids[i], false)) continue;
        for (size_t k = 0; k < i; k++)
            if (ids[k] && strcmp(ids[k], ids[i]) == 0) bus_response_violation(res, f, "is listed twice");
    }
}

static void validate(bus_response_t *res, const update_t *in, char **parent_ids, char **child_ids) {
    arena_t *a = res->arena;
    if (in->n_parents > MAX_PARENTS) bus_response_violation(res, "parents", "at most %d parents", MAX_PARENTS);
    if (in->n_children > MAX_CHILDREN) bus_response_violation(res, "children", "at most %d children", MAX_CHILDREN);
    bool responsible = false;
    for (size_t i = 0; i < in->n_parents && i < MAX_PARENTS; i++) {
        families_check_parent(res, i, parent_input(a, in->parents[i]));
        responsible = responsible || in->parents[i]->has_parental_responsibility;
        parent_ids[i] = in->parents[i]->parent_id;
    }
    if (in->n_parents > 0 && !responsible)
        bus_response_violation(res, "parents", "at least one parent must have parental responsibility");
    for (size_t i = 0; i < in->n_children && i < MAX_CHILDREN; i++) {
        families_check_child(res, i, child_input(a, in->children[i]));
        child_ids[i] = in->children[i]->child_id;
    }
    check_ids(res, "parents", parent_ids, in->n_parents < MAX_PARENTS ? in->n_parents : MAX_PARENTS);
    check_ids(res, "children", child_ids, in->n_children < MAX_CHILDREN ? in->n_children : MAX_CHILDREN);
}

/* Whether each non-empty id in ids is one of stmt's rows for family:
 * violations on list[i].id otherwise. 0 or a DB_ERR_*. */
static int check_owned(db_t *db, bus_response_t *res, const char *stmt, const char *family, const char *list,
                       char **ids, size_t n) {
    const char *params[] = {family};
    db_result_t *r = NULL;
    int rc = db_exec(db, stmt, 1, params, &r);
    if (rc != 0) return rc;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == NULL || *ids[i] == '\0') continue;
        bool found = false;
        for (int k = 0; k < db_rows(r) && !found; k++) found = strcasecmp(db_text(r, k, 0), ids[i]) == 0;
        if (!found)
            bus_response_violation(res, arena_printf(res->arena, "%s[%zu].%sId", list, i, strcmp(list, "parents") ? "child" : "parent"),
                                   "no such %s in this family", strcmp(list, "parents") == 0 ? "parent" : "child");
    }
    db_result_free(&r);
    return 0;
}

/* The kept ids as a uuid[] literal (new items have none yet). */
static const char *kept(arena_t *a, char **ids, size_t n) {
    char **k = arena_alloc(a, (n + 1) * sizeof *k);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] && *ids[i]) k[m++] = ids[i];
    return db_array_literal(a, k, m);
}

static int replace_lists(db_t *db, bus_response_t *res, const update_t *in, const char *family,
                         const char *authority, char **parent_ids, char **child_ids) {
    arena_t *a = res->arena;
    int rc = 0;
    if (in->n_parents > 0) {
        const char *params[] = {family, kept(a, parent_ids, in->n_parents)};
        rc = db_exec(db, "family_parents_drop", 2, params, NULL);
        if (rc == 0) rc = db_exec(db, "family_parents_shift", 1, params, NULL);
        for (size_t i = 0; rc == 0 && i < in->n_parents; i++)
            rc = families_write_parent(db, a, family, authority, i, svc_opt(parent_ids[i]),
                                       parent_input(a, in->parents[i]));
    }
    if (rc == 0 && in->n_children > 0) {
        const char *params[] = {family, kept(a, child_ids, in->n_children)};
        int used = svc_exists(db, "family_children_in_use", 2, params);
        if (used < 0) return used;
        if (used) {
            bus_response_violation(res, "children", "a child left out has cases or recorded views and cannot be removed");
            return 0;
        }
        rc = db_exec(db, "family_children_drop", 2, params, NULL);
        if (rc == 0) rc = db_exec(db, "family_children_shift", 1, params, NULL);
        for (size_t i = 0; rc == 0 && i < in->n_children; i++)
            rc = families_write_child(db, a, family, authority, i, svc_opt(child_ids[i]),
                                      child_input(a, in->children[i]));
    }
    return rc;
}

int families_update(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const update_t *in = (const update_t *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "family");
    char *parent_ids[MAX_PARENTS] = {0}, *child_ids[MAX_CHILDREN] = {0};
    validate(res, in, parent_ids, child_ids);
    if (!svc_ok(res)) return -1;

    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *bump[] = {in->id, svc_if_match(a, req)};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "family_bump", 2, bump, &r)) != 0) return svc_db_fail(res, req, db, rc);
    char *authority = db_rows(r) ? db_str(a, r, 0, 0) : NULL;
    db_result_free(&r);
    if (authority == NULL) {
        int found = svc_exists(db, "family_visible", 1, bump);
        if (found < 0) return svc_db_fail(res, req, db, found);
        db_tx_rollback(db);
        if (found == 0) return svc_not_found(res, "family");
        bus_response_error(res, PARLEY__COMMON__V1__CODE__CODE_FAILED_PRECONDITION,
                           "the family has changed since that version (If-Match); read it again");
        return -1;
    }
    rc = check_owned(db, res, "family_parent_ids", in->id, "parents", parent_ids, in->n_parents);
    if (rc == 0) rc = check_owned(db, res, "family_child_ids", in->id, "children", child_ids, in->n_children);
    if (rc == 0 && svc_ok(res)) rc = replace_lists(db, res, in, in->id, authority, parent_ids, child_ids);
    if (rc == 0 && !svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    Parley__Intake__V1__Family *f = NULL;
    if (rc == 0) {
        int found = families_load(db, a, in->id, &f);
        rc = found == 1 ? 0 : (found < 0 ? found : DB_ERR_QUERY);
    }
    /* Every change is announced, in its transaction: matching keeps a copy
     * of the family's facts for ranking supporters. */
    if (rc == 0) rc = events_emit(db, a, "family.updated", in->id, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &f->base;
    return 0;
}
