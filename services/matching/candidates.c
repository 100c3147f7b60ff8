/* POST /v1/cases/{id}/candidates: the eligible supporters for a case,
 * best first, each with the reasons that add up to its score. No side
 * effects (beyond remembering the case's facts fetched from intake). */
#include <string.h>

#include "core/ids.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

#define DEFAULT_LIMIT 10
#define MAX_LIMIT 50

void candidates_check_prefs(bus_response_t *res, const Parley__Matching__V1__Preferences *p) {
    if (p == NULL) return;
    arena_t *a = res->arena;
    if (p->n_languages > SCORING_MAX_LANGUAGES)
        bus_response_violation(res, "preferences.languages", "at most %d languages", SCORING_MAX_LANGUAGES);
    for (size_t i = 0; i < p->n_languages && i < SCORING_MAX_LANGUAGES; i++) {
        const char *field = arena_printf(a, "preferences.languages[%zu]", i);
        if (svc_check_required(res, field, p->languages[i])) svc_check_language(res, field, p->languages[i]);
    }
    if (p->require_language && p->n_languages == 0)
        bus_response_violation(res, "preferences.requireLanguage", "name the languages in preferences.languages");
    if (p->n_exclude_supporter_ids > 50)
        bus_response_violation(res, "preferences.excludeSupporterIds", "at most 50 supporters");
    for (size_t i = 0; i < p->n_exclude_supporter_ids && i < 50; i++)
        svc_check_uuid(res, arena_printf(a, "preferences.excludeSupporterIds[%zu]", i), p->exclude_supporter_ids[i],
                       true);
}

void candidates_prefs(const Parley__Matching__V1__Preferences *p, request_prefs_t *out) {
    memset(out, 0, sizeof *out);
    if (p == NULL) return;
    out->pref_languages = p->languages;
    out->n_pref_languages = p->n_languages;
    out->require_language = p->require_language;
    out->pref_specialisms = pool_bits_of_input((const int *)p->specialisms, p->n_specialisms, (const int *)p->needs,
                                               p->n_needs);
    out->exclude = p->exclude_supporter_ids;
    out->n_exclude = p->n_exclude_supporter_ids;
}

int candidates_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    matching_t *m = ctx;
    db_t *db = m->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__ListCandidatesRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "case");
    int limit = in->limit == 0 ? DEFAULT_LIMIT : in->limit;
    if (limit < 1 || limit > MAX_LIMIT) bus_response_violation(res, "limit", "must be between 1 and %d", MAX_LIMIT);
    candidates_check_prefs(res, in->preferences);
    if (!svc_ok(res)) return -1;

    profile_t *p = NULL;
    if (profiles_ensure(m, req, res, in->id, &p) < 0) return -1;
    request_prefs_t prefs;
    candidates_prefs(in->preferences, &prefs);

    weights_t w;
    ranking_t rk;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = weights_load(db, matching_consortium_id(req), &w);
    if (rc == 0) rc = pool_rank(db, a, m->cache, p, &prefs, &w, (size_t)limit, in->include_ineligible, &rk);
    /* Those shown: the candidates, then (when asked) those ruled out. */
    size_t *shown = rc == 0 ? arena_alloc(a, (2 * (size_t)limit + 1) * sizeof *shown) : NULL;
    size_t n_shown = 0, n_ruled = 0;
    for (size_t i = 0; rc == 0 && i < rk.n; i++) shown[n_shown++] = rk.idx[i];
    for (size_t i = 0; rc == 0 && in->include_ineligible && i < rk.pool.n && n_ruled < (size_t)limit; i++)
        if (scoring_rule_out(&rk.facts, &rk.pool.facts[i]) != 0) {
            shown[n_shown++] = i;
            n_ruled++;
        }
    if (rc == 0) rc = pool_names(db, a, &rk.pool, shown, n_shown);
    /* A read of the case, as matching knows it. */
    db_audit_object(db, p->case_id, p->authority_id);
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);

    Parley__Matching__V1__ListCandidatesResponse *out = arena_alloc(a, sizeof *out);
    parley__matching__v1__list_candidates_response__init(out);
    out->case_id = p->case_id;
    out->authority_id = p->authority_id;
    out->considered = (int32_t)rk.pool.n;
    if (rk.facts.language_required && rk.facts.n_required > 0) out->required_language = (char *)rk.facts.required[0];
    pool_bits_split(a, rk.facts.specialisms, (int **)&out->wanted_specialisms, &out->n_wanted_specialisms,
                    (int **)&out->wanted_needs, &out->n_wanted_needs);
    out->items = arena_alloc(a, (n_shown + 1) * sizeof *out->items);
    for (size_t i = 0; i < n_shown; i++) out->items[out->n_items++] = pool_candidate(a, &rk, shown[i], &w);
    res->reply = &out->base;
    return 0;
}
