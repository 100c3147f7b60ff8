/* PATCH /v1/supporters/{id}: change what is present, with If-Match. The
 * authorities a caller names replace only those it serves; a supporter
 * keeps the authorities of other callers. Capacity never drops below the
 * families a supporter supports now. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Matching__V1__UpdateSupporterRequest update_t;

#define SPEC_D (&parley__matching__v1__specialism__descriptor)
#define STATUS_D (&parley__matching__v1__supporter_status__descriptor)

static const db_stmt_t stmts[] = {
    {"sup_lock",
     "SELECT s.version, p.active, audit.touch(s.id::text, NULL) FROM supporters s"
     " JOIN supporter_places p ON p.supporter_id = s.id"
     " WHERE s.id = $1 AND s.authority_ids && current_authorities() FOR UPDATE OF s, p"},
    {"sup_update",
     "UPDATE supporters SET given_name = coalesce($2, given_name), family_name = coalesce($3, family_name),"
     " email = coalesce($4, email), phone = coalesce($5, phone),"
     " authority_ids = CASE WHEN $6::uuid[] IS NULL THEN authority_ids ELSE"
     "   array(SELECT x FROM unnest(authority_ids) AS x WHERE NOT (x = ANY (current_authorities()))) || $6::uuid[]"
     " END,"
     " areas = coalesce($7::text[], areas), languages = coalesce($8::text[], languages),"
     " specialisms = coalesce($9::text[], specialisms),"
     " vetting_expires_on = coalesce($10::date, vetting_expires_on), status = coalesce($11, status),"
     " home_postcode = coalesce($12, home_postcode), version = version + 1, updated_at = now()"
     " WHERE id = $1"},
    {"sup_capacity", "UPDATE supporter_places SET capacity = $2 WHERE supporter_id = $1"},
};

const db_stmt_t *supporter_update_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static void validate(const bus_request_t *req, bus_response_t *res, const update_t *in) {
    svc_check_max_len(res, "givenName", in->given_name, 100);
    svc_check_max_len(res, "familyName", in->family_name, 100);
    svc_check_email(res, "email", in->email);
    svc_check_phone(res, "phone", in->phone);
    supporters_check_lists(req, res, in->authority_ids, in->n_authority_ids, in->areas, in->n_areas, in->languages,
                           in->n_languages);
    if (in->capacity && (in->capacity->value < 0 || in->capacity->value > 50))
        bus_response_violation(res, "capacity", "must be between 0 and 50");
    svc_check_date(res, "vettingExpiresOn", in->vetting_expires_on, false, NULL);
    if (in->home_postcode && *in->home_postcode) {
        char d[SCORING_DISTRICT_LEN], ar[SCORING_DISTRICT_LEN];
        scoring_postcode_parts(in->home_postcode, d, ar);
        if (strlen(in->home_postcode) > 10 || ar[0] == '\0')
            bus_response_violation(res, "homePostcode", "must be a UK postcode");
    }
}

/* A list parameter: NULL (unchanged) when empty. */
static const char *list_param(arena_t *a, char *const *items, size_t n) {
    return n ? db_array_literal(a, items, n) : NULL;
}

int supporters_update(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const update_t *in = (const update_t *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "supporter");
    validate(req, res, in);
    if (!svc_ok(res)) return -1;
    supporters_normalise_areas(in->areas, in->n_areas);

    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    const char *id[] = {in->id};
    if (rc == 0) rc = db_exec(db, "sup_lock", 1, id, &r);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    if (db_rows(r) != 1) {
        db_result_free(&r);
        db_tx_rollback(db);
        return svc_not_found(res, "supporter");
    }
    int version = (int)db_int(r, 0, 0), active = (int)db_int(r, 0, 1);
    db_result_free(&r);
    if (!matching_if_match(a, req, version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION, "the supporter has changed (version %d); read it again",
                           version);
        return -1;
    }
    /* What GET answered may come back whole: its read-only fields must be
     * as stored (the counts derived from offers and assignments change by
     * themselves, and are taken back whatever they say). */
    static const char *const derived[] = {"activeAssignments", "pendingOffers", "freePlaces", "eligible",
                                          "ineligibleReasons", NULL};
    supporter_t *was = NULL;
    int found = supporters_load(db, a, in->id, &was);
    if (found != 1) return matching_db_fail(res, req, db, found < 0 ? found : DB_ERR_QUERY);
    if (svc_check_read_only(req, res, &was->base, derived) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    if (in->capacity && in->capacity->value < active) {
        db_tx_rollback(db);
        bus_response_violation(res, "capacity", "is below the %d famil%s this supporter supports now", active,
                               active == 1 ? "y" : "ies");
        return -1;
    }

    char **spec = arena_alloc(a, (in->n_specialisms + 1) * sizeof *spec);
    for (size_t i = 0; i < in->n_specialisms; i++) spec[i] = (char *)svc_enum_text(SPEC_D, in->specialisms[i]);
    const char *params[] = {in->id,
                            svc_opt(in->given_name),
                            svc_opt(in->family_name),
                            svc_opt(in->email),
                            svc_opt(in->phone),
                            list_param(a, in->authority_ids, in->n_authority_ids),
                            list_param(a, in->areas, in->n_areas),
                            list_param(a, in->languages, in->n_languages),
                            list_param(a, spec, in->n_specialisms),
                            svc_opt(in->vetting_expires_on),
                            in->status ? svc_enum_text(STATUS_D, in->status) : NULL,
                            svc_opt(in->home_postcode)};
    rc = db_exec(db, "sup_update", 12, params, NULL);
    if (rc == 0 && in->capacity) {
        const char *cap[] = {in->id, arena_printf(a, "%d", in->capacity->value)};
        rc = db_exec(db, "sup_capacity", 2, cap, NULL);
    }
    supporter_t *s = NULL;
    if (rc == 0) {
        int found = supporters_load(db, a, in->id, &s);
        rc = found == 1 ? 0 : found < 0 ? found : DB_ERR_QUERY;
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    res->reply = &s->base;
    return 0;
}
