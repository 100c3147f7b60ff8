/* Families: everyone with parental responsibility, and their children;
 * registered, read, and listed by the API client that registered them.
 *
 * A partner agency (partner_agency and no staff role) reads only families
 * its own client registered, and of them only what it needs to open a
 * case on one: the family's id, authority, reference, version and dates,
 * and each child's id, names and date of birth (which it gave): never the
 * parents, their contact details, the children's needs, school or plan. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Family family_t;
typedef Parley__Intake__V1__Parent parent_t;
typedef Parley__Intake__V1__Child child_t;
typedef Parley__Intake__V1__CreateFamilyRequest create_family_t;


/* A family's own columns (family_from_results reads them by position); its
 * reference only for the client that set it. */
#define FAMILY_COLUMNS                                                                               \
    "id, authority_id, version, " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ","               \
    " CASE WHEN created_by_client = caller_client() THEN external_reference END"

static const db_stmt_t stmts[] = {
    {"family_insert",
     "INSERT INTO families (id, authority_id, external_reference) VALUES ($1, $2, $3)"
     " RETURNING audit.touch(id::text, authority_id)"},
    /* After a refused insert: which family this client gave that reference. */
    {"family_by_reference",
     "SELECT id FROM families WHERE created_by_client = caller_client() AND external_reference = $1"
     " AND authority_id = ANY (current_authorities())"},
    {"parent_insert",
     "INSERT INTO parents (id, family_id, authority_id, position, given_name, family_name, email, phone,"
     " address_line1, address_line2, town, postcode, preferred_language, communication_needs,"
     " has_parental_responsibility, relationship)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text[], $15, $16)"
     " ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, given_name = EXCLUDED.given_name,"
     " family_name = EXCLUDED.family_name, email = EXCLUDED.email, phone = EXCLUDED.phone,"
     " address_line1 = EXCLUDED.address_line1, address_line2 = EXCLUDED.address_line2, town = EXCLUDED.town,"
     " postcode = EXCLUDED.postcode, preferred_language = EXCLUDED.preferred_language,"
     " communication_needs = EXCLUDED.communication_needs,"
     " has_parental_responsibility = EXCLUDED.has_parental_responsibility, relationship = EXCLUDED.relationship"
     " WHERE parents.family_id = EXCLUDED.family_id"},
    {"child_insert",
     "INSERT INTO children (id, family_id, authority_id, position, given_name, family_name, date_of_birth,"
     " school_urn, school_name, needs, plan_status, need_details)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12::text[])"
     " ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, given_name = EXCLUDED.given_name,"
     " family_name = EXCLUDED.family_name, date_of_birth = EXCLUDED.date_of_birth, school_urn = EXCLUDED.school_urn,"
     " school_name = EXCLUDED.school_name, needs = EXCLUDED.needs, plan_status = EXCLUDED.plan_status,"
     " need_details = EXCLUDED.need_details"
     " WHERE children.family_id = EXCLUDED.family_id"},
    {"family_get", "SELECT " FAMILY_COLUMNS ", audit.touch(id::text, authority_id) FROM families"
                   " WHERE id = $1 AND authority_id = ANY (current_authorities())"},
    /* The same, locked for a change (family_update.c). */
    {"family_lock", "SELECT " FAMILY_COLUMNS ", audit.touch(id::text, authority_id) FROM families"
                    " WHERE id = $1 AND authority_id = ANY (current_authorities()) FOR UPDATE"},
    /* A partner's read: only a family its own client registered. */
    {"family_get_registered", "SELECT " FAMILY_COLUMNS ", audit.touch(id::text, authority_id) FROM families"
                              " WHERE id = $1 AND authority_id = ANY (current_authorities())"
                              " AND created_by_client = caller_client()"},
    /* Only the children its client registered: not one staff added later
     * (migrations/013). */
    {"children_of_registered",
     "SELECT id, given_name, family_name, to_char(date_of_birth, 'YYYY-MM-DD')"
     " FROM children WHERE family_id = $1 AND authority_id = ANY (current_authorities())"
     " AND created_by_client = caller_client() ORDER BY position"},
    /* GET /v1/families: what this client registered, in the order made or,
     * with updatedSince ($5), in the order changed. $1 externalReference,
     * $2/$3 the cursor, $4 the limit. */
    {"family_list",
     "SELECT " FAMILY_COLUMNS ", audit.listed(id::text, $4::int - 1) FROM families WHERE created_by_client = caller_client()"
     " AND authority_id = ANY (current_authorities()) AND ($1::text IS NULL OR external_reference = $1)"
     " AND ($2::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY created_at, id LIMIT $4"},
    {"family_list_changed",
     "SELECT " FAMILY_COLUMNS ", audit.listed(id::text, $4::int - 1) FROM families WHERE created_by_client = caller_client()"
     " AND authority_id = ANY (current_authorities()) AND ($1::text IS NULL OR external_reference = $1)"
     " AND ($2::bigint IS NULL OR (updated_at, id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " AND updated_at >= " DB_FROM_MICROS("$5") " ORDER BY updated_at, id LIMIT $4"},
    {"parents_of",
     "SELECT id, given_name, family_name, email, phone, address_line1, address_line2, town, postcode,"
     " preferred_language, communication_needs, has_parental_responsibility, relationship"
     " FROM parents WHERE family_id = $1 AND authority_id = ANY (current_authorities()) ORDER BY position"},
    {"children_of",
     "SELECT id, given_name, family_name, to_char(date_of_birth, 'YYYY-MM-DD'), school_urn, school_name,"
     " needs, plan_status, need_details"
     " FROM children WHERE family_id = $1 AND authority_id = ANY (current_authorities()) ORDER BY position"},
};

const db_stmt_t *families_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static const char *path(arena_t *a, const char *list, size_t i, const char *field) {
    return arena_printf(a, "%s[%zu].%s", list, i, field);
}

void families_check_parent(bus_response_t *res, size_t i, const Parley__Intake__V1__ParentInput *p) {
    arena_t *a = res->arena;
    svc_check_required(res, path(a, "parents", i, "givenName"), p->given_name);
    svc_check_max_len(res, path(a, "parents", i, "givenName"), p->given_name, 100);
    svc_check_required(res, path(a, "parents", i, "familyName"), p->family_name);
    svc_check_max_len(res, path(a, "parents", i, "familyName"), p->family_name, 100);
    svc_check_email(res, path(a, "parents", i, "email"), p->email);
    svc_check_phone(res, path(a, "parents", i, "phone"), p->phone);
    if (intake_language_or_null(p->preferred_language) != NULL)
        svc_check_language(res, path(a, "parents", i, "preferredLanguage"), p->preferred_language);
    svc_check_max_len(res, path(a, "parents", i, "relationship"), p->relationship, 50);
    if (p->address) {
        svc_check_max_len(res, path(a, "parents", i, "address.line1"), p->address->line1, 200);
        svc_check_max_len(res, path(a, "parents", i, "address.line2"), p->address->line2, 200);
        svc_check_max_len(res, path(a, "parents", i, "address.town"), p->address->town, 100);
        svc_check_max_len(res, path(a, "parents", i, "address.postcode"), p->address->postcode, 10);
    }
}

void families_check_child(bus_response_t *res, size_t i, const Parley__Intake__V1__ChildInput *c) {
    families_check_child_fields(res, i, c, true);
}

void families_check_child_fields(bus_response_t *res, size_t i, const Parley__Intake__V1__ChildInput *c,
                                 bool birth_range) {
    arena_t *a = res->arena;
    svc_check_required(res, path(a, "children", i, "givenName"), c->given_name);
    svc_check_max_len(res, path(a, "children", i, "givenName"), c->given_name, 100);
    svc_check_required(res, path(a, "children", i, "familyName"), c->family_name);
    svc_check_max_len(res, path(a, "children", i, "familyName"), c->family_name, 100);
    int64_t born;
    const char *dob = path(a, "children", i, "dateOfBirth");
    if (svc_check_date(res, dob, c->date_of_birth, true, &born) && birth_range) {
        /* SEND support runs from birth to 25. */
        if (born > svc_today_days()) bus_response_violation(res, dob, "is in the future");
        else if (svc_today_days() - born > 26 * 366) bus_response_violation(res, dob, "is more than 26 years ago");
    }
    if (c->school && c->school->urn && *c->school->urn) {
        const char *u = c->school->urn;
        if (strlen(u) != 6 || strspn(u, "0123456789") != 6)
            bus_response_violation(res, path(a, "children", i, "school.urn"), "must be a 6-digit URN");
    }
    if (c->school) svc_check_max_len(res, path(a, "children", i, "school.name"), c->school->name, 200);
    intake_check_needs(res, path(a, "children", i, "needs"), c->needs, c->n_needs, 20);
}

static void validate(const bus_request_t *req, bus_response_t *res, const create_family_t *in) {
    svc_check_authority(req, res, "authorityId", in->authority_id);
    if (in->n_parents == 0) bus_response_violation(res, "parents", "at least one parent or carer is required");
    if (in->n_parents > MAX_PARENTS) bus_response_violation(res, "parents", "at most %d parents", MAX_PARENTS);
    bool responsible = false;
    for (size_t i = 0; i < in->n_parents && i < MAX_PARENTS; i++) {
        families_check_parent(res, i, in->parents[i]);
        responsible = responsible || in->parents[i]->has_parental_responsibility;
    }
    if (in->n_parents > 0 && !responsible)
        bus_response_violation(res, "parents", "at least one parent must have parental responsibility");
    if (in->n_children == 0) bus_response_violation(res, "children", "at least one child is required");
    if (in->n_children > MAX_CHILDREN) bus_response_violation(res, "children", "at most %d children", MAX_CHILDREN);
    for (size_t i = 0; i < in->n_children && i < MAX_CHILDREN; i++) families_check_child(res, i, in->children[i]);
    intake_check_reference(res, "externalReference", in->external_reference);
}

/* The parent's or child's statement as a step, its parameters in a: a new
 * one (existing NULL) or over existing. 0 or DB_ERR_QUERY. */
static int parent_step(arena_t *a, const char *family, const char *authority, size_t pos, const char *existing,
                       const Parley__Intake__V1__ParentInput *p, db_step_t *step) {
    char *id = arena_alloc(a, IDS_UUID_LEN + 1);
    if (id == NULL) return DB_ERR_QUERY;
    if (existing) snprintf(id, IDS_UUID_LEN + 1, "%s", existing);
    else if (ids_uuid_new(id) != 0) return DB_ERR_QUERY;
    char **needs = arena_alloc(a, (p->n_communication_needs + 1) * sizeof *needs);
    for (size_t k = 0; k < p->n_communication_needs; k++)
        needs[k] = (char *)svc_enum_text(&parley__intake__v1__communication_need__descriptor, p->communication_needs[k]);
    const Parley__Intake__V1__Address *ad = p->address;
    const char **params = arena_alloc(a, 16 * sizeof *params);
    if (params == NULL) return DB_ERR_QUERY;
    const char *v[] = {id, family, authority, arena_printf(a, "%zu", pos), p->given_name, p->family_name,
                       svc_opt(p->email), svc_opt(p->phone), ad ? svc_opt(ad->line1) : NULL, ad ? svc_opt(ad->line2) : NULL,
                       ad ? svc_opt(ad->town) : NULL, ad ? svc_opt(ad->postcode) : NULL,
                       intake_language_or_null(p->preferred_language),
                       db_array_literal(a, needs, p->n_communication_needs),
                       p->has_parental_responsibility ? "true" : "false", svc_opt(p->relationship)};
    memcpy(params, v, sizeof v);
    *step = (db_step_t){"parent_insert", 16, params, NULL};
    return 0;
}

static int child_step(arena_t *a, const char *family, const char *authority, size_t pos, const char *existing,
                      const Parley__Intake__V1__ChildInput *c, db_step_t *step) {
    char *id = arena_alloc(a, IDS_UUID_LEN + 1);
    const char **params = arena_alloc(a, 12 * sizeof *params);
    const char *types, *details;
    if (id == NULL || params == NULL || intake_needs_literals(a, c->needs, c->n_needs, &types, &details) != 0)
        return DB_ERR_QUERY;
    if (existing) snprintf(id, IDS_UUID_LEN + 1, "%s", existing);
    else if (ids_uuid_new(id) != 0) return DB_ERR_QUERY;
    const char *v[] = {id, family, authority, arena_printf(a, "%zu", pos), c->given_name, c->family_name,
                       c->date_of_birth, c->school ? svc_opt(c->school->urn) : NULL,
                       c->school ? svc_opt(c->school->name) : NULL, types,
                       c->plan_status ? svc_enum_text(&parley__intake__v1__plan_status__descriptor, c->plan_status)
                                      : NULL,
                       details};
    memcpy(params, v, sizeof v);
    *step = (db_step_t){"child_insert", 12, params, NULL};
    return 0;
}

int families_write_parent(db_t *db, arena_t *a, const char *family, const char *authority, size_t pos,
                          const char *existing, const Parley__Intake__V1__ParentInput *p) {
    db_step_t st;
    int rc = parent_step(a, family, authority, pos, existing, p, &st);
    return rc != 0 ? rc : db_exec(db, st.name, st.n, st.params, NULL);
}

int families_write_child(db_t *db, arena_t *a, const char *family, const char *authority, size_t pos,
                         const char *existing, const Parley__Intake__V1__ChildInput *c) {
    db_step_t st;
    int rc = child_step(a, family, authority, pos, existing, c, &st);
    return rc != 0 ? rc : db_exec(db, st.name, st.n, st.params, NULL);
}

static family_t *family_from_results(arena_t *a, db_result_t *const *r);

/* A family, its parents and children, and the family read back: one round
 * trip (the ids are made here, so no statement waits for another). */
int families_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    intake_t *in_ctx = ctx;
    db_t *db = in_ctx->db;
    arena_t *a = res->arena;
    const create_family_t *in = (const create_family_t *)req->input;
    validate(req, res, in);
    if (res->status.code != PARLEY__COMMON__V1__CODE__CODE_OK) return -1;

    char *id = arena_alloc(a, IDS_UUID_LEN + 1);
    if (id == NULL || ids_uuid_new(id) != 0) return -1;
    const char *params[] = {id, in->authority_id, svc_opt(in->external_reference)};
    db_step_t steps[1 + MAX_PARENTS + MAX_CHILDREN + 3] = {{"family_insert", 3, params, NULL}};
    size_t n = 1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < in->n_parents; i++)
        rc = parent_step(a, id, in->authority_id, i, NULL, in->parents[i], &steps[n++]);
    for (size_t i = 0; rc == 0 && i < in->n_children; i++)
        rc = child_step(a, id, in->authority_id, i, NULL, in->children[i], &steps[n++]);
    size_t read_at = n;
    static const char *const reads[] = {"family_get", "parents_of", "children_of"};
    for (size_t i = 0; i < 3; i++) steps[n++] = (db_step_t){reads[i], 1, params, NULL};
    if (rc == 0) rc = db_run(db, req->header->principal, DB_WRITE, steps, n);
    if (rc != 0 && intake_is_duplicate_reference(db, rc, "families_client_reference"))
        return intake_duplicate_reference(db, req, res, "family_by_reference", in->external_reference, "family");
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    db_result_t *r[3] = {steps[read_at].result, steps[read_at + 1].result, steps[read_at + 2].result};
    family_t *f = db_rows(r[0]) == 1 ? family_from_results(a, r) : NULL;
    db_steps_free(steps, n);
    if (f == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &f->base;
    return 0;
}

static parent_t *parent_from_row(arena_t *a, const db_result_t *r, int i) {
    parent_t *p = arena_alloc(a, sizeof *p);
    parley__intake__v1__parent__init(p);
    p->id = db_str(a, r, i, 0);
    p->given_name = db_str(a, r, i, 1);
    p->family_name = db_str(a, r, i, 2);
    p->email = db_str(a, r, i, 3);
    p->phone = db_str(a, r, i, 4);
    if (!db_is_null(r, i, 5) || !db_is_null(r, i, 6) || !db_is_null(r, i, 7) || !db_is_null(r, i, 8)) {
        p->address = arena_alloc(a, sizeof *p->address);
        parley__intake__v1__address__init(p->address);
        p->address->line1 = db_str(a, r, i, 5);
        p->address->line2 = db_str(a, r, i, 6);
        p->address->town = db_str(a, r, i, 7);
        p->address->postcode = db_str(a, r, i, 8);
    }
    /* Not recorded is said, never guessed (matching reads it so too). */
    p->preferred_language = db_is_null(r, i, 9) ? INTAKE_LANGUAGE_UNKNOWN : db_str(a, r, i, 9);
    char **needs;
    int n = db_array_parse(a, db_text(r, i, 10), &needs);
    p->communication_needs = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(int));
    for (int k = 0; k < n; k++)
        p->communication_needs[p->n_communication_needs++] =
            svc_enum_value(&parley__intake__v1__communication_need__descriptor, needs[k]);
    p->has_parental_responsibility = db_bool(r, i, 11);
    p->relationship = db_str(a, r, i, 12);
    return p;
}

static child_t *child_from_row(arena_t *a, const db_result_t *r, int i) {
    child_t *c = arena_alloc(a, sizeof *c);
    parley__intake__v1__child__init(c);
    c->id = db_str(a, r, i, 0);
    c->given_name = db_str(a, r, i, 1);
    c->family_name = db_str(a, r, i, 2);
    c->date_of_birth = db_str(a, r, i, 3);
    if (!db_is_null(r, i, 4) || !db_is_null(r, i, 5)) {
        c->school = arena_alloc(a, sizeof *c->school);
        parley__intake__v1__school__init(c->school);
        c->school->urn = db_str(a, r, i, 4);
        c->school->name = db_str(a, r, i, 5);
    }
    c->needs = intake_needs_from_row(a, r, i, 6, 8, &c->n_needs);
    c->plan_status = svc_enum_value(&parley__intake__v1__plan_status__descriptor, db_text(r, i, 7));
    return c;
}

/* The family from its family_get, parents_of and children_of results. */
static family_t *family_from_results(arena_t *a, db_result_t *const *r) {
    family_t *f = arena_alloc(a, sizeof *f);
    parley__intake__v1__family__init(f);
    f->id = db_str(a, r[0], 0, 0);
    f->authority_id = db_str(a, r[0], 0, 1);
    f->version = (int32_t)db_int(r[0], 0, 2);
    f->created_at = svc_timestamp(a, db_int(r[0], 0, 3));
    f->updated_at = svc_timestamp(a, db_int(r[0], 0, 4));
    f->external_reference = db_str(a, r[0], 0, 5);
    f->n_parents = (size_t)db_rows(r[1]);
    f->parents = arena_alloc(a, (f->n_parents + 1) * sizeof *f->parents);
    for (size_t i = 0; i < f->n_parents; i++) f->parents[i] = parent_from_row(a, r[1], (int)i);
    f->n_children = (size_t)db_rows(r[2]);
    f->children = arena_alloc(a, (f->n_children + 1) * sizeof *f->children);
    for (size_t i = 0; i < f->n_children; i++) f->children[i] = child_from_row(a, r[2], (int)i);
    return f;
}

int families_load(db_t *db, arena_t *a, const char *id, family_t **out) {
    return families_read(db, a, id, "family_get", out);
}

int families_read(db_t *db, arena_t *a, const char *id, const char *stmt, family_t **out) {
    const char *const reads[] = {stmt, "parents_of", "children_of"};
    const char *params[] = {id};
    db_result_t *r[3] = {NULL, NULL, NULL};
    int rc = db_exec(db, reads[0], 1, params, &r[0]);
    if (rc == 0 && db_rows(r[0]) == 0) goto done; /* no such family: 0 */
    for (size_t i = 1; i < 3 && rc == 0; i++) rc = db_exec(db, reads[i], 1, params, &r[i]);
    if (rc == 0) {
        *out = family_from_results(a, r);
        rc = 1;
    }
done:
    for (size_t i = 0; i < 3; i++) db_result_free(&r[i]);
    return rc;
}

static ProtobufCMessage *parse_family(arena_t *a, db_result_t *const *results) {
    return &family_from_results(a, results)->base;
}

static const svc_get_t get_family = {"family", {"family_get", "parents_of", "children_of"}, 3, parse_family};

/* A family's own row as a partner reads it (children from
 * children_of_registered: id, names, date of birth). */
static family_t *registrant_view(arena_t *a, const db_result_t *fam, int row, const db_result_t *kids) {
    family_t *f = arena_alloc(a, sizeof *f);
    parley__intake__v1__family__init(f);
    f->id = db_str(a, fam, row, 0);
    f->authority_id = db_str(a, fam, row, 1);
    f->version = (int32_t)db_int(fam, row, 2);
    f->created_at = svc_timestamp(a, db_int(fam, row, 3));
    f->updated_at = svc_timestamp(a, db_int(fam, row, 4));
    f->external_reference = db_str(a, fam, row, 5);
    size_t n = kids ? (size_t)db_rows(kids) : 0;
    f->children = arena_alloc(a, (n + 1) * sizeof *f->children);
    for (size_t i = 0; i < n; i++) {
        child_t *c = arena_alloc(a, sizeof *c);
        parley__intake__v1__child__init(c);
        c->id = db_str(a, kids, (int)i, 0);
        c->given_name = db_str(a, kids, (int)i, 1);
        c->family_name = db_str(a, kids, (int)i, 2);
        c->date_of_birth = db_str(a, kids, (int)i, 3);
        f->children[f->n_children++] = c;
    }
    return f;
}

static ProtobufCMessage *parse_registered(arena_t *a, db_result_t *const *results) {
    return &registrant_view(a, results[0], 0, results[1])->base;
}

static const svc_get_t get_registered = {"family", {"family_get_registered", "children_of_registered"}, 2,
                                         parse_registered};

int families_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetFamilyRequest *in = (const void *)req->input;
    const svc_get_t *get = intake_partner_client(req) ? &get_registered : &get_family;
    return svc_get_one(((intake_t *)ctx)->db, req, res, in->id, get);
}

/* GET /v1/families: the families this API client registered, in the order
 * registered, or with updatedSince in the order changed: what finds each
 * again (FamilySummary); GET /v1/families/{id} reads one. */
int families_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListFamiliesRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    intake_check_reference(res, "externalReference", in->external_reference);
    if (!svc_ok(res)) return -1;
    const char *params[] = {svc_opt(in->external_reference), page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1), intake_micros(a, in->updated_since)};
    db_step_t step = {in->updated_since ? "family_list_changed" : "family_list", in->updated_since ? 5 : 4, params,
                      NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    db_result_t *r = step.result;
    Parley__Intake__V1__ListFamiliesResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_families_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        Parley__Intake__V1__FamilySummary *f = arena_alloc(a, sizeof *f);
        parley__intake__v1__family_summary__init(f);
        f->id = db_str(a, r, (int)i, 0);
        f->authority_id = db_str(a, r, (int)i, 1);
        f->version = (int32_t)db_int(r, (int)i, 2);
        f->created_at = svc_timestamp(a, db_int(r, (int)i, 3));
        f->updated_at = svc_timestamp(a, db_int(r, (int)i, 4));
        f->external_reference = db_str(a, r, (int)i, 5);
        out->items[out->n_items++] = f;
    }
    if (rows > size) {
        Parley__Intake__V1__FamilySummary *last = out->items[n - 1];
        out->next_page_token = page_token_after(a, in->updated_since ? last->updated_at : last->created_at, last->id);
    }
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
