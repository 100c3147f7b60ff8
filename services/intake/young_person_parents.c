/* The parents a young person agreed may take part in their case. From 16
 * the young person decides (SEND Code of Practice 2015, 8.13-8.15): a parent
 * is linked only with the young person's agreement, recorded when and how
 * it was given; withdrawing it (DELETE) unlinks the parent, and nothing of
 * them is kept. At most MAX_PARENTS a young person. Staff only. */
#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__LinkedParent linked_t;

#define LINK_COLUMNS                                                                                         \
    "id, young_person_id, authority_id, given_name, family_name, email, phone, preferred_language,"           \
    " communication_needs, relationship, to_char(agreement_recorded_on, 'YYYY-MM-DD'), agreement_how,"         \
    " agreement_recorded_by, " DB_MICROS("created_at")

static const db_stmt_t stmts[] = {
    /* The young person, locked so that two links cannot pass the limit
     * together; how many parents they have, and their birth. */
    {"ypp_person",
     "SELECT y.authority_id, (SELECT count(*) FROM young_person_parents p WHERE p.young_person_id = y.id),"
     " (y.date_of_birth - date '1970-01-01'), audit.touch(y.id::text, y.authority_id)"
     " FROM young_people y WHERE y.id = $1 AND y.authority_id = ANY (current_authorities()) FOR UPDATE"},
    {"ypp_insert",
     "INSERT INTO young_person_parents (id, young_person_id, authority_id, given_name, family_name, email, phone,"
     " preferred_language, communication_needs, relationship, agreement_recorded_on, agreement_how,"
     " agreement_recorded_by)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $10, $11, $12, $13) RETURNING " LINK_COLUMNS},
    {"ypp_get_of",
     "SELECT " LINK_COLUMNS ", audit.touch(id::text, authority_id) FROM young_person_parents"
     " WHERE young_person_id = $1 AND id = $2 AND authority_id = ANY (current_authorities())"},
    {"ypp_delete",
     "DELETE FROM young_person_parents WHERE young_person_id = $1 AND id = $2"
     " AND authority_id = ANY (current_authorities()) RETURNING " LINK_COLUMNS ", audit.touch(id::text, authority_id)"},
    {"ypp_visible",
     "SELECT audit.touch(id::text, authority_id) FROM young_people WHERE id = $1"
     " AND authority_id = ANY (current_authorities())"},
    {"ypp_list",
     "SELECT " LINK_COLUMNS ", audit.listed(id::text, 10) FROM young_person_parents WHERE young_person_id = $1"
     " AND authority_id = ANY (current_authorities()) ORDER BY created_at, id LIMIT 10"},
};

const db_stmt_t *young_person_parents_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static linked_t *from_row(arena_t *a, const db_result_t *r, int i) {
    linked_t *l = arena_alloc(a, sizeof *l);
    parley__intake__v1__linked_parent__init(l);
    l->id = db_str(a, r, i, 0);
    l->young_person_id = db_str(a, r, i, 1);
    l->authority_id = db_str(a, r, i, 2);
    l->given_name = db_str(a, r, i, 3);
    l->family_name = db_str(a, r, i, 4);
    l->email = db_str(a, r, i, 5);
    l->phone = db_str(a, r, i, 6);
    l->preferred_language = db_str(a, r, i, 7);
    char **comm;
    int n = db_array_parse(a, db_text(r, i, 8), &comm);
    l->communication_needs = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(int));
    for (int k = 0; k < n; k++)
        l->communication_needs[l->n_communication_needs++] =
            svc_enum_value(&parley__intake__v1__communication_need__descriptor, comm[k]);
    l->relationship = db_str(a, r, i, 9);
    l->agreement = arena_alloc(a, sizeof *l->agreement);
    parley__intake__v1__parent_agreement__init(l->agreement);
    l->agreement->recorded_on = db_str(a, r, i, 10);
    l->agreement->how = svc_enum_value(&parley__intake__v1__agreement_method__descriptor, db_text(r, i, 11));
    l->agreement->recorded_by = db_str(a, r, i, 12);
    l->created_at = svc_timestamp(a, db_int(r, i, 13));
    return l;
}

static void validate(bus_response_t *res, const Parley__Intake__V1__LinkParentRequest *in, int64_t *agreed) {
    svc_check_required(res, "givenName", in->given_name);
    svc_check_max_len(res, "givenName", in->given_name, 100);
    svc_check_required(res, "familyName", in->family_name);
    svc_check_max_len(res, "familyName", in->family_name, 100);
    svc_check_email(res, "email", in->email);
    svc_check_phone(res, "phone", in->phone);
    svc_check_language(res, "preferredLanguage", in->preferred_language);
    svc_check_max_len(res, "relationship", in->relationship, 50);
    if (in->n_communication_needs > 6) bus_response_violation(res, "communicationNeeds", "at most 6 communication needs");
    const Parley__Intake__V1__ParentAgreementInput *ag = in->agreement;
    if (ag == NULL) {
        bus_response_violation(res, "agreement",
                               "is required: a parent takes part only with the young person's agreement, recorded");
        return;
    }
    intake_check_past_date(res, "agreement.recordedOn", ag->recorded_on, agreed);
    if (ag->how == 0) bus_response_violation(res, "agreement.how", "is required");
    svc_check_max_len(res, "agreement.recordedBy", ag->recorded_by, 200);
}

int young_person_parents_link(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__LinkParentRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "young person");
    int64_t agreed = 0;
    validate(res, in, &agreed);
    if (!svc_ok(res)) return -1;

    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *find[] = {in->id};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "ypp_person", 1, find, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(r) == 0) {
        db_result_free(&r);
        db_tx_rollback(db);
        return svc_not_found(res, "young person");
    }
    char *authority = db_str(a, r, 0, 0);
    int64_t linked = db_int(r, 0, 1), born = db_int(r, 0, 2);
    db_result_free(&r);
    if (linked >= MAX_PARENTS) bus_response_violation(res, "id", "at most %d parents may be linked", MAX_PARENTS);
    if (agreed < born) bus_response_violation(res, "agreement.recordedOn", "is before the young person's date of birth");
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    char **comm = arena_alloc(a, (in->n_communication_needs + 1) * sizeof *comm);
    for (size_t k = 0; k < in->n_communication_needs; k++)
        comm[k] = (char *)svc_enum_text(&parley__intake__v1__communication_need__descriptor, in->communication_needs[k]);
    const char *params[] = {id, in->id, authority, in->given_name, in->family_name, svc_opt(in->email),
                            svc_opt(in->phone), svc_opt(in->preferred_language),
                            db_array_literal(a, comm, in->n_communication_needs), svc_opt(in->relationship),
                            in->agreement->recorded_on,
                            svc_enum_text(&parley__intake__v1__agreement_method__descriptor, in->agreement->how),
                            svc_opt(in->agreement->recorded_by)};
    linked_t *l = NULL;
    rc = db_exec(db, "ypp_insert", 13, params, &r);
    if (rc == 0 && db_rows(r) == 1) l = from_row(a, r, 0);
    else if (rc == 0) rc = DB_ERR_QUERY;
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &l->base;
    return 0;
}

static ProtobufCMessage *parse_link(arena_t *a, db_result_t *const *results) {
    return &from_row(a, results[0], 0)->base;
}

static const svc_get_t get_link = {"linked parent", {"ypp_get_of"}, 1, parse_link};

int young_person_parents_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetLinkedParentRequest *in = (const void *)req->input;
    return svc_get_sub(((intake_t *)ctx)->db, req, res, in->id, in->parent_id, &get_link);
}

/* DELETE /v1/young-people/{id}/parents/{parentId}: the young person
 * withdrew their agreement; the answer is the link as it was. */
int young_person_parents_unlink(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__GetLinkedParentRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id) || !ids_is_uuid(in->parent_id)) return svc_not_found(res, "linked parent");
    const char *params[] = {in->id, in->parent_id};
    db_step_t step = {"ypp_delete", 2, params, NULL};
    int rc = db_run(db, req->header->principal, DB_WRITE, &step, 1);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    linked_t *l = db_rows(step.result) == 1 ? from_row(a, step.result, 0) : NULL;
    db_steps_free(&step, 1);
    if (l == NULL) return svc_not_found(res, "linked parent");
    res->reply = &l->base;
    return 0;
}

int young_person_parents_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListLinkedParentsRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "young person");
    const char *params[] = {in->id};
    db_step_t steps[2] = {{"ypp_visible", 1, params, NULL}, {"ypp_list", 1, params, NULL}};
    if (svc_read(db, req, res, steps, 2) != 0) return -1;
    if (db_rows(steps[0].result) == 0) {
        db_steps_free(steps, 2);
        return svc_not_found(res, "young person");
    }
    Parley__Intake__V1__ListLinkedParentsResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_linked_parents_response__init(out);
    int rows = db_rows(steps[1].result);
    out->items = arena_alloc(a, (size_t)(rows + 1) * sizeof *out->items);
    for (int i = 0; i < rows; i++) out->items[out->n_items++] = from_row(a, steps[1].result, i);
    db_steps_free(steps, 2);
    res->reply = &out->base;
    return 0;
}
