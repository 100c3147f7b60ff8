/* Young people aged 16 to 25 as clients in their own right: registered,
 * read, and listed by the API client that registered them. A young
 * person's case (cases.c, youngPersonId) is theirs: their own contact
 * details, language, communication needs and consent; parents take part
 * only with their agreement (young_person_parents.c); their views are their
 * own (young_person_views.c). The age rule is young_age.h's.
 *
 * A partner agency (partner_agency and no staff role) reads only young
 * people its own client registered, and of them only what opening a case
 * needs: id, authority, names, date of birth, reference, version, dates. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "services/intake/intake.h"
#include "services/intake/young_age.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__YoungPerson yp_t;
typedef Parley__Intake__V1__CreateYoungPersonRequest yp_in_t;

/* young_person_from_row reads them by position. */
#define YP_COLUMNS                                                                                              \
    "id, authority_id, given_name, family_name, to_char(date_of_birth, 'YYYY-MM-DD'), email, phone,"             \
    " address_line1, address_line2, town, postcode, preferred_language, communication_needs, needs, plan_status," \
    " school_urn, school_name, CASE WHEN created_by_client = caller_client() THEN external_reference END,"       \
    " version, " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ", need_details"
#define YP_TOUCH "audit.touch(id::text, authority_id)"
#define YP_VISIBLE "authority_id = ANY (current_authorities())"

static const db_stmt_t stmts[] = {
    {"yp_insert",
     "INSERT INTO young_people (id, authority_id, given_name, family_name, date_of_birth, email, phone,"
     " address_line1, address_line2, town, postcode, preferred_language, communication_needs, needs, plan_status,"
     " school_urn, school_name, external_reference, need_details)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::text[], $14::text[], $15, $16, $17, $18,"
     " $19::text[])"
     " RETURNING " YP_COLUMNS ", " YP_TOUCH},
    {"yp_update",
     "UPDATE young_people SET given_name = $3, family_name = $4, date_of_birth = $5, email = $6, phone = $7,"
     " address_line1 = $8, address_line2 = $9, town = $10, postcode = $11, preferred_language = $12,"
     " communication_needs = $13::text[], needs = $14::text[], plan_status = $15, school_urn = $16,"
     " school_name = $17, need_details = $18::text[], version = version + 1, updated_at = now()"
     " WHERE id = $1 AND authority_id = $2 AND " YP_VISIBLE " RETURNING " YP_COLUMNS},
    {"yp_get", "SELECT " YP_COLUMNS ", " YP_TOUCH " FROM young_people WHERE id = $1 AND " YP_VISIBLE},
    {"yp_lock", "SELECT " YP_COLUMNS ", " YP_TOUCH " FROM young_people WHERE id = $1 AND " YP_VISIBLE " FOR UPDATE"},
    /* A partner's read: only a young person its own client registered. */
    {"yp_get_registered",
     "SELECT " YP_COLUMNS ", " YP_TOUCH " FROM young_people WHERE id = $1 AND " YP_VISIBLE
     " AND created_by_client = caller_client()"},
    {"yp_by_reference",
     "SELECT id FROM young_people WHERE created_by_client = caller_client() AND external_reference = $1"
     " AND " YP_VISIBLE},
    /* GET /v1/young-people: what this client registered, in the order made.
     * $1 externalReference, $2/$3 the cursor, $4 the limit. */
    {"yp_list",
     "SELECT " YP_COLUMNS ", audit.listed(id::text, $4::int - 1) FROM young_people"
     " WHERE created_by_client = caller_client() AND " YP_VISIBLE
     " AND ($1::text IS NULL OR external_reference = $1)"
     " AND ($2::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY created_at, id LIMIT $4"},
};

const db_stmt_t *young_people_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

void young_people_check_fields(bus_response_t *res, const yp_in_t *in, bool birth_range) {
    svc_check_required(res, "givenName", in->given_name);
    svc_check_max_len(res, "givenName", in->given_name, 100);
    svc_check_required(res, "familyName", in->family_name);
    svc_check_max_len(res, "familyName", in->family_name, 100);
    int64_t born;
    if (svc_check_date(res, "dateOfBirth", in->date_of_birth, true, &born) && birth_range) {
        int64_t today = young_age_london_today();
        char on[11];
        deadline_format(today, on);
        if (born > today) bus_response_violation(res, "dateOfBirth", "is in the future");
        else if (!young_age_in_range(born, today))
            bus_response_violation(res, "dateOfBirth",
                                   "must make them aged %d to %d on %s (today in Europe/London) to be a client in "
                                   "their own right: it makes them %d%s",
                                   YOUNG_AGE_MIN, YOUNG_AGE_MAX, on, young_age_years(born, today),
                                   young_age_years(born, today) < YOUNG_AGE_MIN
                                       ? " (register a child with their family: POST /v1/families)"
                                       : "");
    }
    svc_check_email(res, "email", in->email);
    svc_check_phone(res, "phone", in->phone);
    if (intake_language_or_null(in->preferred_language) != NULL)
        svc_check_language(res, "preferredLanguage", in->preferred_language);
    if (in->n_communication_needs > 6) bus_response_violation(res, "communicationNeeds", "at most 6 communication needs");
    if (in->address) {
        svc_check_max_len(res, "address.line1", in->address->line1, 200);
        svc_check_max_len(res, "address.line2", in->address->line2, 200);
        svc_check_max_len(res, "address.town", in->address->town, 100);
        svc_check_max_len(res, "address.postcode", in->address->postcode, 10);
    }
    if (in->school && svc_opt(in->school->urn)) {
        const char *u = in->school->urn;
        if (strlen(u) != 6 || strspn(u, "0123456789") != 6)
            bus_response_violation(res, "school.urn", "must be a 6-digit URN");
    }
    if (in->school) svc_check_max_len(res, "school.name", in->school->name, 200);
    /* The same rule as a child's needs (families.c). */
    intake_check_needs(res, "needs", in->needs, in->n_needs, 20);
}

/* The 15 field parameters ($3-$17 of yp_insert and yp_update) of in, into p,
 * and the needs' details into *details. 0, or -1 (a need of no known type). */
static int field_params(arena_t *a, const yp_in_t *in, const char **p, const char **details) {
    const char *types;
    if (intake_needs_literals(a, in->needs, in->n_needs, &types, details) != 0) return -1;
    char **comm = arena_alloc(a, (in->n_communication_needs + 1) * sizeof *comm);
    for (size_t k = 0; k < in->n_communication_needs; k++)
        comm[k] = (char *)svc_enum_text(&parley__intake__v1__communication_need__descriptor, in->communication_needs[k]);
    const Parley__Intake__V1__Address *ad = in->address;
    const Parley__Intake__V1__School *sc = in->school;
    const char *v[] = {in->given_name,
                       in->family_name,
                       in->date_of_birth,
                       svc_opt(in->email),
                       svc_opt(in->phone),
                       ad ? svc_opt(ad->line1) : NULL,
                       ad ? svc_opt(ad->line2) : NULL,
                       ad ? svc_opt(ad->town) : NULL,
                       ad ? svc_opt(ad->postcode) : NULL,
                       intake_language_or_null(in->preferred_language),
                       db_array_literal(a, comm, in->n_communication_needs),
                       types,
                       in->plan_status ? svc_enum_text(&parley__intake__v1__plan_status__descriptor, in->plan_status)
                                       : NULL,
                       sc ? svc_opt(sc->urn) : NULL,
                       sc ? svc_opt(sc->name) : NULL};
    memcpy(p, v, sizeof v);
    return 0;
}

yp_t *young_person_from_row(arena_t *a, const db_result_t *r, int i) {
    yp_t *y = arena_alloc(a, sizeof *y);
    parley__intake__v1__young_person__init(y);
    y->id = db_str(a, r, i, 0);
    y->authority_id = db_str(a, r, i, 1);
    y->given_name = db_str(a, r, i, 2);
    y->family_name = db_str(a, r, i, 3);
    y->date_of_birth = db_str(a, r, i, 4);
    y->email = db_str(a, r, i, 5);
    y->phone = db_str(a, r, i, 6);
    if (!db_is_null(r, i, 7) || !db_is_null(r, i, 8) || !db_is_null(r, i, 9) || !db_is_null(r, i, 10)) {
        y->address = arena_alloc(a, sizeof *y->address);
        parley__intake__v1__address__init(y->address);
        y->address->line1 = db_str(a, r, i, 7);
        y->address->line2 = db_str(a, r, i, 8);
        y->address->town = db_str(a, r, i, 9);
        y->address->postcode = db_str(a, r, i, 10);
    }
    y->preferred_language = db_is_null(r, i, 11) ? INTAKE_LANGUAGE_UNKNOWN : db_str(a, r, i, 11);
    char **comm;
    int n = db_array_parse(a, db_text(r, i, 12), &comm);
    y->communication_needs = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(int));
    for (int k = 0; k < n; k++)
        y->communication_needs[y->n_communication_needs++] =
            svc_enum_value(&parley__intake__v1__communication_need__descriptor, comm[k]);
    y->needs = intake_needs_from_row(a, r, i, 13, 21, &y->n_needs);
    if (!db_is_null(r, i, 14)) y->plan_status = svc_enum_value(&parley__intake__v1__plan_status__descriptor, db_text(r, i, 14));
    if (!db_is_null(r, i, 15) || !db_is_null(r, i, 16)) {
        y->school = arena_alloc(a, sizeof *y->school);
        parley__intake__v1__school__init(y->school);
        y->school->urn = db_str(a, r, i, 15);
        y->school->name = db_str(a, r, i, 16);
    }
    y->external_reference = db_str(a, r, i, 17);
    y->version = (int32_t)db_int(r, i, 18);
    y->created_at = svc_timestamp(a, db_int(r, i, 19));
    y->updated_at = svc_timestamp(a, db_int(r, i, 20));
    return y;
}

/* What a partner agency that registered them reads back. */
static yp_t *registrant_view(arena_t *a, const yp_t *full) {
    yp_t *y = arena_alloc(a, sizeof *y);
    parley__intake__v1__young_person__init(y);
    y->id = full->id;
    y->authority_id = full->authority_id;
    y->given_name = full->given_name;
    y->family_name = full->family_name;
    y->date_of_birth = full->date_of_birth;
    y->external_reference = full->external_reference;
    y->version = full->version;
    y->created_at = full->created_at;
    y->updated_at = full->updated_at;
    return y;
}

int young_people_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const yp_in_t *in = (const yp_in_t *)req->input;
    svc_check_authority(req, res, "authorityId", in->authority_id);
    young_people_check_fields(res, in, true);
    intake_check_reference(res, "externalReference", in->external_reference);
    if (!svc_ok(res)) return -1;

    char *id = arena_alloc(a, IDS_UUID_LEN + 1);
    if (id == NULL || ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const char *params[19] = {id, in->authority_id};
    if (field_params(a, in, params + 2, &params[18]) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    params[17] = svc_opt(in->external_reference);
    db_step_t step = {"yp_insert", 19, params, NULL};
    int rc = db_run(db, req->header->principal, DB_WRITE, &step, 1);
    if (rc != 0 && intake_is_duplicate_reference(db, rc, "young_people_client_reference"))
        return intake_duplicate_reference(db, req, res, "yp_by_reference", in->external_reference, "young person");
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    yp_t *y = db_rows(step.result) == 1 ? young_person_from_row(a, step.result, 0) : NULL;
    db_steps_free(&step, 1);
    if (y == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = intake_partner_client(req) ? &registrant_view(a, y)->base : &y->base;
    return 0;
}

int young_people_read(db_t *db, arena_t *a, const char *id, const char *stmt, yp_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, stmt, 1, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) == 1;
    if (rc) *out = young_person_from_row(a, r, 0);
    db_result_free(&r);
    return rc;
}

int young_people_write(db_t *db, arena_t *a, const yp_t *was, const yp_in_t *in, yp_t **now) {
    const char *params[18] = {was->id, was->authority_id};
    if (field_params(a, in, params + 2, &params[17]) != 0) return DB_ERR_QUERY;
    db_result_t *r = NULL;
    int rc = db_exec(db, "yp_update", 18, params, &r);
    if (rc == 0 && db_rows(r) != 1) rc = DB_ERR_QUERY;
    if (rc == 0) *now = young_person_from_row(a, r, 0);
    db_result_free(&r);
    return rc;
}

static ProtobufCMessage *parse_yp(arena_t *a, db_result_t *const *results) {
    return &young_person_from_row(a, results[0], 0)->base;
}

static ProtobufCMessage *parse_registered(arena_t *a, db_result_t *const *results) {
    return &registrant_view(a, young_person_from_row(a, results[0], 0))->base;
}

static const svc_get_t get_yp = {"young person", {"yp_get"}, 1, parse_yp};
static const svc_get_t get_registered = {"young person", {"yp_get_registered"}, 1, parse_registered};

int young_people_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetYoungPersonRequest *in = (const void *)req->input;
    return svc_get_one(((intake_t *)ctx)->db, req, res, in->id, intake_partner_client(req) ? &get_registered : &get_yp);
}

/* GET /v1/young-people: those this API client registered, in the order
 * registered (partners see the registrant's view of each). */
int young_people_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListYoungPeopleRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    intake_check_reference(res, "externalReference", in->external_reference);
    if (!svc_ok(res)) return -1;
    const char *params[] = {svc_opt(in->external_reference), page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1)};
    db_step_t step = {"yp_list", 4, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    db_result_t *r = step.result;
    Parley__Intake__V1__ListYoungPeopleResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_young_people_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    bool partner = intake_partner_client(req) != NULL;
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        yp_t *y = young_person_from_row(a, r, (int)i);
        out->items[out->n_items++] = partner ? registrant_view(a, y) : y;
    }
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
