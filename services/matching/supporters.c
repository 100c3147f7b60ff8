/* Independent Parental Supporters: shared across a consortium, each serving
 * a set of authorities. A caller sees the supporters serving any of its
 * authorities (row-level security on authority_ids), and may only name
 * authorities it serves. eligible is derived on every read. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/page_token.h"
#include "svc/svc.h"

typedef Parley__Matching__V1__CreateSupporterRequest create_t;

#define STATUS_D (&parley__matching__v1__supporter_status__descriptor)
#define COLUMNS                                                                                                  \
    "s.id, s.given_name, s.family_name, s.email, s.phone, s.authority_ids, s.areas, s.languages, s.specialisms," \
    " p.capacity, to_char(s.vetting_expires_on, 'YYYY-MM-DD'), s.status, s.home_postcode, p.active, p.pending,"  \
    " s.version, " DB_MICROS("s.created_at") ", " DB_MICROS("s.updated_at") ", s.vetting_expires_on - date '1970-01-01'," \
    " s.training_reason"
#define FROM " FROM supporters s JOIN supporter_places p ON p.supporter_id = s.id"

static const db_stmt_t stmts[] = {
    {"sup_insert",
     "INSERT INTO supporters (id, consortium_id, given_name, family_name, email, phone, authority_ids, areas,"
     " languages, specialisms, vetting_expires_on, status, home_postcode, created_by_client)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7::uuid[], $8::text[], $9::text[], $10::text[], $11::date, $12, $13, $14)"},
    {"sup_places_insert", "INSERT INTO supporter_places (supporter_id, capacity) VALUES ($1, $2)"},
    /* A supporter serves several authorities: its audit rows name none. */
    {"sup_get",
     "SELECT " COLUMNS ", audit.touch(s.id::text, NULL)" FROM " WHERE s.id = $1 AND s.authority_ids && current_authorities()"},
    {"sup_list",
     "SELECT " COLUMNS ", audit.listed(s.id::text, $7::int - 1)" FROM " WHERE s.authority_ids && current_authorities()"
     " AND ($1::uuid IS NULL OR $1::uuid = ANY (s.authority_ids))"
     " AND ($2::text IS NULL OR s.status = $2)"
     " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM unnest(s.languages) AS l"
     "      WHERE lower(split_part(l, '-', 1)) = lower(split_part($3, '-', 1))))"
     " AND ($4::text[] IS NULL OR s.specialisms @> $4::text[])"
     " AND ($5::bigint IS NULL OR (s.created_at, s.id) >"
     "      (" DB_FROM_MICROS("$5") ", $6::uuid))"
     " ORDER BY s.created_at, s.id LIMIT $7"},
};

const db_stmt_t *supporters_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static char **parse_list(arena_t *a, const db_result_t *r, int row, int col, size_t *n) {
    char **items = NULL;
    int k = db_array_parse(a, db_text(r, row, col), &items);
    *n = k > 0 ? (size_t)k : 0;
    return items;
}

static supporter_t *from_row(arena_t *a, const db_result_t *r, int i) {
    supporter_t *s = arena_alloc(a, sizeof *s);
    parley__matching__v1__supporter__init(s);
    s->id = db_str(a, r, i, 0);
    s->given_name = db_str(a, r, i, 1);
    s->family_name = db_str(a, r, i, 2);
    s->email = db_is_null(r, i, 3) ? "" : db_str(a, r, i, 3);
    s->phone = db_is_null(r, i, 4) ? "" : db_str(a, r, i, 4);
    s->authority_ids = parse_list(a, r, i, 5, &s->n_authority_ids);
    s->areas = parse_list(a, r, i, 6, &s->n_areas);
    s->languages = parse_list(a, r, i, 7, &s->n_languages);
    size_t n_spec;
    char **spec = parse_list(a, r, i, 8, &n_spec);
    pool_bits_split(a, pool_specialism_bits(spec, n_spec), (int **)&s->specialisms, &s->n_specialisms,
                    (int **)&s->needs, &s->n_needs);
    s->capacity = (int32_t)db_int(r, i, 9);
    s->vetting_expires_on = db_is_null(r, i, 10) ? "" : db_str(a, r, i, 10);
    s->status = svc_enum_value(STATUS_D, db_text(r, i, 11));
    s->home_postcode = db_is_null(r, i, 12) ? "" : db_str(a, r, i, 12);
    s->active_assignments = (int32_t)db_int(r, i, 13);
    s->pending_offers = (int32_t)db_int(r, i, 14);
    int free = s->capacity - s->active_assignments - s->pending_offers;
    s->free_places = free > 0 ? free : 0;
    s->version = (int32_t)db_int(r, i, 15);
    s->created_at = svc_timestamp(a, db_int(r, i, 16));
    s->updated_at = svc_timestamp(a, db_int(r, i, 17));
    eligibility_input_t e = {
        .active = s->status == PARLEY__MATCHING__V1__SUPPORTER_STATUS__SUPPORTER_STATUS_ACTIVE,
        .status_word = svc_enum_word(a, STATUS_D, s->status),
        .has_vetting = !db_is_null(r, i, 18),
        .vetting_expires = db_int(r, i, 18),
    };
    eligibility_set_training(a, &e, db_is_null(r, i, 19) ? NULL : db_text(r, i, 19));
    unsigned bits = eligibility_check(&e, svc_today_days());
    s->eligible = bits == 0;
    s->ineligible_reasons = arena_alloc(a, 4 * sizeof *s->ineligible_reasons);
    s->n_ineligible_reasons = eligibility_reasons(a, &e, bits, s->ineligible_reasons, 4);
    return s;
}

int supporters_load(db_t *db, arena_t *a, const char *id, supporter_t **out) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "sup_get", 1, params, &r);
    if (rc != 0) return rc;
    rc = db_rows(r) == 1;
    if (rc) *out = from_row(a, r, 0);
    db_result_free(&r);
    return rc;
}

void supporters_normalise_areas(char **areas, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char *w = areas[i];
        size_t k = 0;
        for (char *p = areas[i]; *p; p++)
            if (*p != ' ') w[k++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        w[k] = '\0';
    }
}

void supporters_check_lists(const bus_request_t *req, bus_response_t *res, char *const *authorities, size_t n_auth,
                            char *const *areas, size_t n_areas, char *const *languages, size_t n_lang) {
    arena_t *a = res->arena;
    if (n_auth > 100) bus_response_violation(res, "authorityIds", "at most 100 authorities");
    for (size_t i = 0; i < n_auth && i < 100; i++)
        svc_check_authority(req, res, arena_printf(a, "authorityIds[%zu]", i), authorities[i]);
    svc_check_distinct(res, "authorityIds", authorities, n_auth, 100);
    if (n_areas > 50) bus_response_violation(res, "areas", "at most 50 areas");
    for (size_t i = 0; i < n_areas && i < 50; i++) {
        char d[SCORING_DISTRICT_LEN], ar[SCORING_DISTRICT_LEN];
        scoring_postcode_parts(areas[i], d, ar);
        char *copy = arena_strdup(a, areas[i]);
        supporters_normalise_areas(&copy, 1);
        if (ar[0] == '\0' || (strcmp(copy, d) != 0 && strcmp(copy, ar) != 0))
            bus_response_violation(res, arena_printf(a, "areas[%zu]", i),
                                   "must be a postcode district (\"N1\", \"SW1A\") or area (\"N\")");
    }
    if (n_lang > 20) bus_response_violation(res, "languages", "at most 20 languages");
    for (size_t i = 0; i < n_lang && i < 20; i++) {
        const char *field = arena_printf(a, "languages[%zu]", i);
        if (svc_check_required(res, field, languages[i])) svc_check_language(res, field, languages[i]);
    }
}

/* Checks a home postcode: empty, or one scoring can place. */
static void check_postcode(bus_response_t *res, const char *value) {
    if (value == NULL || *value == '\0') return;
    char d[SCORING_DISTRICT_LEN], ar[SCORING_DISTRICT_LEN];
    scoring_postcode_parts(value, d, ar);
    if (strlen(value) > 10 || ar[0] == '\0') bus_response_violation(res, "homePostcode", "must be a UK postcode");
}

static void validate(const bus_request_t *req, bus_response_t *res, const create_t *in) {
    svc_check_required(res, "givenName", in->given_name);
    svc_check_max_len(res, "givenName", in->given_name, 100);
    svc_check_required(res, "familyName", in->family_name);
    svc_check_max_len(res, "familyName", in->family_name, 100);
    svc_check_email(res, "email", in->email);
    svc_check_phone(res, "phone", in->phone);
    if (in->n_authority_ids == 0) bus_response_violation(res, "authorityIds", "at least one authority is required");
    if (in->n_languages == 0) bus_response_violation(res, "languages", "at least one language is required");
    supporters_check_lists(req, res, in->authority_ids, in->n_authority_ids, in->areas, in->n_areas, in->languages,
                           in->n_languages);
    if (in->capacity < 0 || in->capacity > 50) bus_response_violation(res, "capacity", "must be between 0 and 50");
    svc_check_date(res, "vettingExpiresOn", in->vetting_expires_on, false, NULL);
    check_postcode(res, in->home_postcode);
}

int supporters_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const create_t *in = (const create_t *)req->input;
    validate(req, res, in);
    if (!svc_ok(res)) return -1;
    const char *consortium = matching_consortium_id(req);
    if (consortium == NULL) {
        bus_response_problem(res, BUS_PROBLEM_NO_CONSORTIUM, NULL);
        return -1;
    }
    supporters_normalise_areas(in->areas, in->n_areas);

    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return -1;
    int status = in->status ? (int)in->status : PARLEY__MATCHING__V1__SUPPORTER_STATUS__SUPPORTER_STATUS_ACTIVE;
    const char *params[] = {id,
                            consortium,
                            in->given_name,
                            in->family_name,
                            svc_opt(in->email),
                            svc_opt(in->phone),
                            db_array_literal(a, in->authority_ids, in->n_authority_ids),
                            db_array_literal(a, in->areas, in->n_areas),
                            db_array_literal(a, in->languages, in->n_languages),
                            pool_bits_literal(a, pool_bits_of_input((const int *)in->specialisms, in->n_specialisms,
                                                                    (const int *)in->needs, in->n_needs)),
                            svc_opt(in->vetting_expires_on),
                            svc_enum_text(STATUS_D, status),
                            svc_opt(in->home_postcode),
                            matching_client_id(req)};
    const char *places[] = {id, arena_printf(a, "%d", in->capacity)};
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "sup_insert", 14, params, NULL);
    if (rc == 0) rc = db_exec(db, "sup_places_insert", 2, places, NULL);
    supporter_t *s = NULL;
    if (rc == 0) {
        int found = supporters_load(db, a, id, &s);
        rc = found == 1 ? 0 : found < 0 ? found : DB_ERR_QUERY;
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &s->base;
    return 0;
}

int supporters_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    const Parley__Matching__V1__GetSupporterRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "supporter");
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    supporter_t *s = NULL;
    rc = supporters_load(db, res->arena, in->id, &s);
    if (rc >= 0) {
        int found = rc;
        rc = db_tx_commit_read(db);
        if (rc == 0) rc = found;
    }
    if (rc < 0) return matching_db_fail(res, req, db, rc);
    if (rc == 0) return svc_not_found(res, "supporter");
    res->reply = &s->base;
    return 0;
}

/* The specialism and need filters as the names a supporter must know
 * (a text[] literal), or NULL for neither. */
static const char *known_filter(arena_t *a, const Parley__Matching__V1__ListSupportersRequest *in) {
    int spec = (int)in->specialism, need = (int)in->need;
    unsigned bits = pool_bits_of_input(&spec, spec ? 1 : 0, &need, need ? 1 : 0);
    /* A deprecated specialism that stood for several types (sensory) finds
     * a supporter who knows any of them: its first is asked for here. */
    if (spec && !need && (bits & (bits - 1))) bits &= ~(bits - 1);
    return bits ? pool_bits_literal(a, bits) : NULL;
}

int supporters_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__ListSupportersRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    svc_check_uuid(res, "authorityId", in->authority_id, false);
    svc_check_language(res, "language", in->language);
    if (!svc_ok(res)) return -1;

    const char *params[] = {svc_opt(in->authority_id),
                            in->status ? svc_enum_text(STATUS_D, in->status) : NULL,
                            svc_opt(in->language),
                            known_filter(a, in),
                            page_cursor_micros(a, &cur),
                            page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1)};
    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    if (rc == 0) rc = db_exec(db, "sup_list", 7, params, &r);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) {
        db_result_free(&r);
        return matching_db_fail(res, req, db, rc);
    }

    Parley__Matching__V1__ListSupportersResponse *out = arena_alloc(a, sizeof *out);
    parley__matching__v1__list_supporters_response__init(out);
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
