/* The directory of other agencies (health, social care, education,
 * voluntary organisations, parent carer forums) that families are told
 * about. An agency may serve several authorities of the consortium: a
 * caller sees those serving any of its authorities and may only list its
 * own when it adds one (row-level security enforces both underneath).
 * A retired agency (agency_update.c) is still read by id, but listed only
 * with status=retired and never signposted (agency_serves, and signposts.c
 * for the automatic ones). */
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/sen_type.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Agency agency_t;
typedef Parley__Intake__V1__CreateAgencyRequest create_agency_t;

#define MAX_ITEMS 50
#define AGENCY_COLUMNS                                                                                    \
    "id, name, kind, authority_ids, needs, languages, areas, email, phone, website, address, description," \
    " version, " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ", status, " DB_MICROS("retired_at") ", need_details, stages"
#define VISIBLE "authority_ids && current_authorities()"

static const db_stmt_t stmts[] = {
    {"agency_insert",
     "INSERT INTO agencies (id, name, kind, authority_ids, needs, languages, areas, email, phone, website, address,"
     " description, created_by_client, need_details, stages)"
     " VALUES ($1, $2, $3, $4::uuid[], $5::text[], $6::text[], $7::text[], $8, $9, $10, $11, $12, $13, $14::text[],"
     " $15::text[])"},
    /* An agency serves several authorities: its audit rows name none. */
    {"agency_get",
     "SELECT " AGENCY_COLUMNS ", audit.touch(id::text, NULL) FROM agencies WHERE id = $1 AND " VISIBLE},
    {"agency_lock", "SELECT " AGENCY_COLUMNS ", audit.touch(id::text, NULL) FROM agencies WHERE id = $1 AND " VISIBLE
                    " FOR UPDATE"},
    /* A retired agency is kept for the record but no longer signposted. */
    {"agency_serves",
     "SELECT 1 FROM agencies WHERE id = $1 AND $2::uuid = ANY (authority_ids) AND " VISIBLE
     " AND status = 'LISTING_STATUS_ACTIVE'"},
    {"agency_list",
     "SELECT " AGENCY_COLUMNS " FROM agencies WHERE " VISIBLE
     " AND ($1::uuid IS NULL OR $1::uuid = ANY (authority_ids))"
     " AND ($2::text IS NULL OR kind = $2)"
     " AND ($3::text IS NULL OR $3 = ANY (needs))"
     " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM unnest(languages) l"
     "      WHERE lower(l) = lower($4) OR lower(split_part(l, '-', 1)) = lower(split_part($4, '-', 1))))"
     " AND status = coalesce($8::text, 'LISTING_STATUS_ACTIVE')"
     " AND ($5::bigint IS NULL OR (created_at, id) >"
     "      (" DB_FROM_MICROS("$5") ", $6::uuid))"
     " ORDER BY created_at, id LIMIT $7"},
};

const db_stmt_t *agencies_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static bool is_url(const char *s) {
    if (strncasecmp(s, "https://", 8) != 0 && strncasecmp(s, "http://", 7) != 0) return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ') return false;
    return strlen(s) <= 500 && strlen(s) > 8;
}

/* Checks a list of short strings: at most MAX_ITEMS of at most 100 characters. */
static void check_words(bus_response_t *res, const char *field, char **items, size_t n, bool languages) {
    if (n > MAX_ITEMS) bus_response_violation(res, field, "at most %d", MAX_ITEMS);
    for (size_t i = 0; i < n && i < MAX_ITEMS; i++) {
        const char *f = arena_printf(res->arena, "%s[%zu]", field, i);
        if (svc_check_required(res, f, items[i]) && svc_check_max_len(res, f, items[i], 100) && languages)
            svc_check_language(res, f, items[i]);
    }
}

void agencies_check(const bus_request_t *req, bus_response_t *res, const create_agency_t *in, bool authorities) {
    svc_check_required(res, "name", in->name);
    svc_check_max_len(res, "name", in->name, 200);
    if (in->kind == 0) bus_response_violation(res, "kind", "is required");
    if (authorities) {
        if (in->n_authority_ids == 0) bus_response_violation(res, "authorityIds", "at least one authority is required");
        if (in->n_authority_ids > MAX_ITEMS) bus_response_violation(res, "authorityIds", "at most %d", MAX_ITEMS);
        for (size_t i = 0; i < in->n_authority_ids && i < MAX_ITEMS; i++)
            svc_check_authority(req, res, arena_printf(res->arena, "authorityIds[%zu]", i), in->authority_ids[i]);
        svc_check_distinct(res, "authorityIds", in->authority_ids, in->n_authority_ids, MAX_ITEMS);
    }
    intake_check_needs(res, "needs", in->needs, in->n_needs, MAX_ITEMS);
    check_words(res, "languages", in->languages, in->n_languages, true);
    check_words(res, "areas", in->areas, in->n_areas, false);
    svc_check_max_len(res, "description", in->description, 4000);
    if (in->n_stages > 20) bus_response_violation(res, "stages", "at most 20");
    for (size_t i = 0; i < in->n_stages && i < 20; i++)
        for (size_t k = 0; k < i; k++)
            if (in->stages[k] == in->stages[i])
                bus_response_violation(res, arena_printf(res->arena, "stages[%zu]", i), "is listed twice");
    const Parley__Intake__V1__AgencyContact *c = in->contact;
    if (c) {
        svc_check_email(res, "contact.email", c->email);
        svc_check_phone(res, "contact.phone", c->phone);
        if (c->website && *c->website && !is_url(c->website))
            bus_response_violation(res, "contact.website", "must be an http(s) URL");
        svc_check_max_len(res, "contact.address", c->address, 500);
    }
}

static agency_t *from_row(arena_t *a, const db_result_t *r, int i) {
    agency_t *g = arena_alloc(a, sizeof *g);
    parley__intake__v1__agency__init(g);
    g->id = db_str(a, r, i, 0);
    g->name = db_str(a, r, i, 1);
    g->kind = svc_enum_value(&parley__intake__v1__agency_kind__descriptor, db_text(r, i, 2));
    int n = db_array_parse(a, db_text(r, i, 3), &g->authority_ids);
    g->n_authority_ids = n > 0 ? (size_t)n : 0;
    g->needs = intake_needs_from_row(a, r, i, 4, 17, &g->n_needs);
    n = db_array_parse(a, db_text(r, i, 5), &g->languages);
    g->n_languages = n > 0 ? (size_t)n : 0;
    n = db_array_parse(a, db_text(r, i, 6), &g->areas);
    g->n_areas = n > 0 ? (size_t)n : 0;
    if (!db_is_null(r, i, 7) || !db_is_null(r, i, 8) || !db_is_null(r, i, 9) || !db_is_null(r, i, 10)) {
        g->contact = arena_alloc(a, sizeof *g->contact);
        parley__intake__v1__agency_contact__init(g->contact);
        g->contact->email = db_str(a, r, i, 7);
        g->contact->phone = db_str(a, r, i, 8);
        g->contact->website = db_str(a, r, i, 9);
        g->contact->address = db_str(a, r, i, 10);
    }
    g->description = db_str(a, r, i, 11);
    g->version = (int32_t)db_int(r, i, 12);
    g->created_at = svc_timestamp(a, db_int(r, i, 13));
    g->updated_at = svc_timestamp(a, db_int(r, i, 14));
    g->status = svc_enum_value(&parley__intake__v1__listing_status__descriptor, db_text(r, i, 15));
    if (!db_is_null(r, i, 16)) g->retired_at = svc_timestamp(a, db_int(r, i, 16));
    char **stages;
    n = db_array_parse(a, db_text(r, i, 18), &stages);
    g->stages = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof *g->stages);
    for (int k = 0; k < n; k++) g->stages[g->n_stages++] = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, stages[k]);
    return g;
}

const char *agencies_stages_literal(arena_t *a, const void *values, size_t n) {
    const Parley__Intake__V1__SenStage *stages = values;
    char **words = arena_alloc(a, (n + 1) * sizeof *words);
    for (size_t i = 0; i < n; i++) words[i] = (char *)svc_enum_text(&parley__intake__v1__sen_stage__descriptor, stages[i]);
    return db_array_literal(a, words, n);
}

int agencies_load(db_t *db, arena_t *a, const char *id, const char *stmt, agency_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, stmt, 1, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) == 1;
    if (rc) *out = from_row(a, r, 0);
    db_result_free(&r);
    return rc;
}

int agencies_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const create_agency_t *in = (const void *)req->input;
    agencies_check(req, res, in, true);
    if (!svc_ok(res)) return -1;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return -1;
    const Parley__Intake__V1__AgencyContact *c = in->contact;
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *types, *details;
    if (intake_needs_literals(a, in->needs, in->n_needs, &types, &details) != 0) return -1;
    const char *params[] = {id, in->name, svc_enum_text(&parley__intake__v1__agency_kind__descriptor, in->kind),
                            db_array_literal(a, in->authority_ids, in->n_authority_ids), types,
                            db_array_literal(a, in->languages, in->n_languages),
                            db_array_literal(a, in->areas, in->n_areas), c ? svc_opt(c->email) : NULL,
                            c ? svc_opt(c->phone) : NULL, c ? svc_opt(c->website) : NULL,
                            c ? svc_opt(c->address) : NULL, svc_opt(in->description),
                            (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL, details,
                            agencies_stages_literal(a, in->stages, in->n_stages)};
    int rc = db_tx_begin(db, p);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    rc = db_exec(db, "agency_insert", 15, params, NULL);
    agency_t *g = NULL;
    if (rc == 0) {
        int found = agencies_load(db, a, id, "agency_get", &g);
        rc = found == 1 ? 0 : (found < 0 ? found : DB_ERR_QUERY);
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &g->base;
    return 0;
}

static ProtobufCMessage *parse_agency(arena_t *a, db_result_t *const *results) {
    return &from_row(a, results[0], 0)->base;
}

static const svc_get_t get_agency = {"agency", {"agency_get"}, 1, parse_agency};

int agencies_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetAgencyRequest *in = (const void *)req->input;
    return svc_get_one(((intake_t *)ctx)->db, req, res, in->id, &get_agency);
}

int agencies_serve(db_t *db, const char *agency_id, const char *authority_id) {
    const char *params[] = {agency_id, authority_id};
    return svc_exists(db, "agency_serves", 2, params);
}

/* The need filter as stored: a type's word ("hi") or words coded as a
 * child's are ("hearing"), NULL for none. */
static const char *need_filter(const char *need) {
    if (svc_opt(need) == NULL) return NULL;
    return svc_enum_text(&parley__common__v1__sen_type__descriptor, sen_type_of_text(need));
}

int agencies_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListAgenciesRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    svc_check_uuid(res, "authorityId", in->authority_id, false);
    svc_check_language(res, "language", in->language);
    svc_check_max_len(res, "need", in->need, 100);
    if (!svc_ok(res)) return -1;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *params[] = {svc_opt(in->authority_id),
                            in->kind ? svc_enum_text(&parley__intake__v1__agency_kind__descriptor, in->kind) : NULL,
                            need_filter(in->need), svc_opt(in->language), page_cursor_micros(a, &cur),
                            page_cursor_id(&cur), arena_printf(a, "%d", size + 1),
                            in->status ? svc_enum_text(&parley__intake__v1__listing_status__descriptor, in->status)
                                       : NULL};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "agency_list", 8, params, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if ((rc = db_tx_commit_read(db)) != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    Parley__Intake__V1__ListAgenciesResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_agencies_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[i] = from_row(a, r, (int)i);
    out->n_items = n;
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
