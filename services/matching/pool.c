/* The pool of supporters a case may be offered, loaded for the case's
 * authority in the caller's transaction, and ranked by scoring.c. The SQL
 * narrows the pool to supporters who might pass the hard rules (active,
 * vetting not past, a place not promised); scoring.c then decides, so the
 * rules live in one place and the SQL only saves work. */
#include <stdio.h>
#include <string.h>

#include "services/matching/matching.h"
#include "svc/svc.h"

#define STATUS_ACTIVE "SUPPORTER_STATUS_ACTIVE"

static const db_stmt_t stmts[] = {
    /* Row-level security bounds the rows; the caller must hold $1 too (a
     * one-time filter, not a per-row one: this reads thousands of rows). */
    {"pool_load",
     "SELECT s.id, s.languages, s.specialisms, s.areas, s.home_postcode,"
     " s.status, s.vetting_expires_on - date '1970-01-01', s.training_reason, p.capacity, p.active, p.pending"
     " FROM supporters s JOIN supporter_places p ON p.supporter_id = s.id"
     " WHERE s.authority_ids @> ARRAY[$1::uuid] AND $1::uuid = ANY ((SELECT current_authorities())::uuid[])"
     " AND ($2::boolean OR (s.status = '" STATUS_ACTIVE "' AND s.vetting_expires_on >= current_date - 1"
     "      AND p.capacity > p.active + p.pending AND s.training_reason IS NULL))"},
    {"pool_names", "SELECT id, given_name, family_name FROM supporters WHERE id = ANY ($1::uuid[])"},
    {"pool_previous",
     "SELECT DISTINCT supporter_id FROM assignments"
     " WHERE family_id = $1 AND authority_id = ANY (current_authorities())"},
    /* The request's declined and lapsed offers: scoring_offer_excludes
     * decides which still keep their supporter out (a lapse only during
     * its cool-off), on the database's clock, as the sweeper's due test. */
    {"pool_excluded",
     "SELECT supporter_id, status, " DB_MICROS("answered_at") ", " DB_MICROS("now()") " FROM offers"
     " WHERE match_request_id = $1 AND status IN ('declined', 'expired') AND answered_at IS NOT NULL"
     " AND authority_id = ANY (current_authorities())"},
};

const db_stmt_t *pool_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

#define SEN_D (&parley__common__v1__sen_type__descriptor)
#define SPECIALISM_D (&parley__matching__v1__specialism__descriptor)

unsigned pool_specialism_bits(char *const *names, size_t n) {
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int t = svc_enum_value(SEN_D, names[i]);
        if (t > 0 && t <= SEN_LAST) bits |= SEN_BIT(t);
        else bits |= scoring_bits_of_specialism(svc_enum_value(SPECIALISM_D, names[i]));
    }
    return bits;
}

char *pool_bits_literal(arena_t *a, unsigned bits) {
    char **names = arena_alloc(a, (SCORING_BITS + 1) * sizeof *names);
    size_t n = 0;
    if (names == NULL) return NULL;
    for (int b = 1; b < SPEC_COUNT; b++)
        if (bits & SPEC_BIT(b)) names[n++] = (char *)svc_enum_text(SPECIALISM_D, b);
    for (int t = 1; t <= SEN_LAST; t++)
        if (bits & SEN_BIT(t)) names[n++] = (char *)svc_enum_text(SEN_D, t);
    return db_array_literal(a, names, n);
}

unsigned pool_bits_of_input(const int *specialisms, size_t n_specialisms, const int *needs, size_t n_needs) {
    unsigned bits = 0;
    for (size_t i = 0; i < n_specialisms; i++) bits |= scoring_bits_of_specialism(specialisms[i]);
    for (size_t i = 0; i < n_needs; i++)
        if (needs[i] > 0 && needs[i] <= SEN_LAST) bits |= SEN_BIT(needs[i]);
    return bits;
}

void pool_bits_split(arena_t *a, unsigned bits, int **specialisms, size_t *n_specialisms, int **needs,
                     size_t *n_needs) {
    *specialisms = arena_alloc(a, SPEC_COUNT * sizeof **specialisms);
    *needs = arena_alloc(a, (SEN_LAST + 1) * sizeof **needs);
    *n_specialisms = *n_needs = 0;
    if (*specialisms == NULL || *needs == NULL) return;
    for (int b = 1; b < SPEC_COUNT; b++)
        if (bits & SPEC_BIT(b)) (*specialisms)[(*n_specialisms)++] = b;
    for (int t = 1; t <= SEN_LAST; t++)
        if (bits & SEN_BIT(t)) (*needs)[(*n_needs)++] = t;
}

/* The first column of every row of statement name, as strings in a. */
static int column(db_t *db, arena_t *a, const char *name, const char *param, char ***out, size_t *n) {
    db_result_t *r = NULL;
    const char *params[] = {param};
    int rc = db_exec(db, name, 1, params, &r);
    if (rc != 0) return rc;
    int rows = db_rows(r);
    *out = arena_alloc(a, ((size_t)rows + 1) * sizeof **out);
    for (int i = 0; i < rows; i++) (*out)[i] = db_str(a, r, i, 0);
    *n = (size_t)rows;
    db_result_free(&r);
    return 0;
}

int pool_excluded(db_t *db, arena_t *a, const char *request_id, char ***out, size_t *n) {
    db_result_t *r = NULL;
    const char *params[] = {request_id};
    int rc = db_exec(db, "pool_excluded", 1, params, &r);
    if (rc != 0) return rc;
    int rows = db_rows(r);
    *out = arena_alloc(a, ((size_t)rows + 1) * sizeof **out);
    *n = 0;
    for (int i = 0; i < rows; i++)
        if (scoring_offer_excludes(db_text(r, i, 1), db_int(r, i, 2), db_int(r, i, 3),
                                   matching_config.offer_cooloff_s))
            (*out)[(*n)++] = db_str(a, r, i, 0);
    db_result_free(&r);
    return 0;
}

void pool_parse_static(arena_t *a, const db_result_t *r, int row, const char *authority, supporter_facts_t *f,
                       eligibility_input_t *e) {
    f->id = db_str(a, r, row, 0);
    char **auth = arena_alloc(a, sizeof *auth);
    *auth = (char *)authority; /* the SQL keeps only those serving it */
    f->authority_ids = auth;
    f->n_authority_ids = 1;
    char **items;
    int k = db_array_parse(a, db_text(r, row, 1), &items);
    f->languages = items;
    f->n_languages = k > 0 ? (size_t)k : 0;
    k = db_array_parse(a, db_text(r, row, 2), &items);
    f->specialisms = pool_specialism_bits(items, k > 0 ? (size_t)k : 0);
    k = db_array_parse(a, db_text(r, row, 3), &items);
    f->areas = items;
    f->n_areas = k > 0 ? (size_t)k : 0;
    f->home_postcode = db_is_null(r, row, 4) ? NULL : db_str(a, r, row, 4);
    memset(e, 0, sizeof *e);
    e->active = strcmp(db_text(r, row, 5), STATUS_ACTIVE) == 0;
    if (!e->active) /* only explained, so only then worded */
        e->status_word = svc_enum_word(
            a, &parley__matching__v1__supporter_status__descriptor,
            svc_enum_value(&parley__matching__v1__supporter_status__descriptor, db_text(r, row, 5)));
    e->has_vetting = !db_is_null(r, row, 6);
    e->vetting_expires = db_int(r, row, 6);
    eligibility_set_training(a, e, db_is_null(r, row, 7) ? NULL : db_text(r, row, 7));
}

int pool_load(db_t *db, arena_t *a, const char *authority_id, bool all, pool_t *out) {
    const char *params[] = {authority_id, all ? "true" : "false"};
    db_result_t *r = NULL;
    int rc = db_exec(db, "pool_load", 2, params, &r);
    if (rc != 0) return rc;
    size_t n = (size_t)db_rows(r);
    out->n = n;
    out->facts = arena_alloc(a, (n + 1) * sizeof *out->facts);
    out->elig = arena_alloc(a, (n + 1) * sizeof *out->elig);
    out->given_names = arena_alloc(a, (n + 1) * sizeof *out->given_names);
    out->family_names = arena_alloc(a, (n + 1) * sizeof *out->family_names);
    const char *authority = arena_strdup(a, authority_id);
    int64_t today = svc_today_days();
    for (size_t i = 0; i < n; i++) {
        supporter_facts_t *f = &out->facts[i];
        pool_parse_static(a, r, (int)i, authority, f, &out->elig[i]);
        out->given_names[i] = out->family_names[i] = "";
        f->ineligible = eligibility_check(&out->elig[i], today);
        f->capacity = (int)db_int(r, (int)i, 8);
        f->active = (int)db_int(r, (int)i, 9);
        f->pending = (int)db_int(r, (int)i, 10);
    }
    db_result_free(&r);
    return 0;
}

int pool_names(db_t *db, arena_t *a, pool_t *pool, const size_t *idx, size_t n) {
    if (n == 0) return 0;
    char **ids = arena_alloc(a, n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (char *)pool->facts[idx[i]].id;
    const char *params[] = {db_array_literal(a, ids, n)};
    db_result_t *r = NULL;
    int rc = db_exec(db, "pool_names", 1, params, &r);
    if (rc != 0) return rc;
    for (int row = 0; row < db_rows(r); row++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(pool->facts[idx[i]].id, db_text(r, row, 0)) == 0) {
                pool->given_names[idx[i]] = db_str(a, r, row, 1);
                pool->family_names[idx[i]] = db_str(a, r, row, 2);
            }
    db_result_free(&r);
    return 0;
}

int pool_facts(db_t *db, arena_t *a, const profile_t *p, const request_prefs_t *prefs, case_facts_t *out) {
    case_input_t in = {
        .authority_id = p->authority_id,
        .languages = p->languages,
        .n_languages = p->n_languages,
        .communication_needs = p->communication_needs,
        .n_communication_needs = p->n_communication_needs,
        .child_needs = p->child_needs,
        .n_child_needs = p->n_child_needs,
        .case_needs = p->case_needs,
        .n_case_needs = p->n_case_needs,
        .has_birth_date = p->has_birth_date,
        .child_born = p->child_born,
        .postcode = p->postcode,
    };
    if (prefs) {
        in.pref_languages = prefs->pref_languages;
        in.n_pref_languages = prefs->n_pref_languages;
        in.require_language = prefs->require_language;
        in.pref_specialisms = prefs->pref_specialisms;
    }
    /* A young person in their own right wants a supporter who knows post-16
     * and transition, whatever their needs say. */
    if (p->young_person) in.pref_specialisms |= SPEC_BIT(SPEC_POST_16);
    scoring_case_facts(&in, svc_today_days(), out);

    char **previous = NULL, **excluded = NULL;
    size_t n_previous = 0, n_excluded = 0;
    int rc = column(db, a, "pool_previous", p->family_id, &previous, &n_previous);
    if (rc == 0 && prefs && prefs->id) rc = pool_excluded(db, a, prefs->id, &excluded, &n_excluded);
    if (rc != 0) return rc;
    if (prefs && prefs->n_exclude) {
        char **all_ex = arena_alloc(a, (n_excluded + prefs->n_exclude + 1) * sizeof *all_ex);
        if (n_excluded) memcpy(all_ex, excluded, n_excluded * sizeof *all_ex);
        memcpy(all_ex + n_excluded, prefs->exclude, prefs->n_exclude * sizeof *all_ex);
        excluded = all_ex;
        n_excluded += prefs->n_exclude;
    }
    out->previous = previous;
    out->n_previous = n_previous;
    out->excluded = excluded;
    out->n_excluded = n_excluded;
    return 0;
}

void pool_rank_loaded(arena_t *a, const case_facts_t *facts, const pool_t *pool, const weights_t *w, size_t k,
                      ranking_t *out) {
    out->facts = *facts;
    out->pool = *pool;
    scoring_slot_t *tmp = arena_alloc(a, (k + 1) * sizeof *tmp);
    out->idx = arena_alloc(a, (k + 1) * sizeof *out->idx);
    out->scores = arena_alloc(a, (k + 1) * sizeof *out->scores);
    out->n = scoring_rank(&out->facts, pool->facts, pool->n, w, k, tmp, out->idx, out->scores);
}

int pool_rank(db_t *db, arena_t *a, pool_cache_t *cache, const profile_t *p, const request_prefs_t *prefs,
              const weights_t *w, size_t k, bool all, ranking_t *out) {
    memset(out, 0, sizeof *out);
    case_facts_t facts;
    pool_t pool;
    int rc = pool_facts(db, a, p, prefs, &facts);
    if (rc == 0)
        rc = cache ? pool_cache_load(cache, db, a, p->authority_id, all, &pool)
                   : pool_load(db, a, p->authority_id, all, &pool);
    if (rc != 0) return rc;
    pool_rank_loaded(a, &facts, &pool, w, k, out);
    return 0;
}

/* s's score for the ranking's case and its reasons, into *reasons (in a). */
static int explain(arena_t *a, const ranking_t *r, const supporter_facts_t *s, const weights_t *w,
                   pb_reason_t ***reasons, size_t *n_reasons) {
    reason_t parts[SCORING_FACTORS];
    int score = scoring_explain(a, &r->facts, s, w, parts);
    *reasons = arena_alloc(a, SCORING_FACTORS * sizeof **reasons);
    *n_reasons = 0;
    for (int k = 0; k < SCORING_FACTORS; k++) {
        pb_reason_t *x = arena_alloc(a, sizeof *x);
        parley__matching__v1__reason__init(x);
        x->factor = (char *)parts[k].factor;
        x->points = parts[k].points;
        x->detail = (char *)parts[k].detail;
        (*reasons)[(*n_reasons)++] = x;
    }
    return score;
}

Parley__Matching__V1__Candidate *pool_candidate(arena_t *a, const ranking_t *r, size_t i, const weights_t *w) {
    const supporter_facts_t *s = &r->pool.facts[i];
    Parley__Matching__V1__Candidate *c = arena_alloc(a, sizeof *c);
    parley__matching__v1__candidate__init(c);
    c->supporter_id = (char *)s->id;
    c->given_name = r->pool.given_names[i];
    c->family_name = r->pool.family_names[i];
    int free = s->capacity - s->active - s->pending;
    c->free_places = free > 0 ? free : 0;
    unsigned rules = scoring_rule_out(&r->facts, s);
    c->eligible = rules == 0;
    if (rules) {
        c->ruled_out = arena_alloc(a, 12 * sizeof *c->ruled_out);
        char *texts[8];
        size_t n = scoring_rule_texts(a, &r->facts, rules, texts, 8);
        for (size_t k = 0; k < n; k++) {
            if (strcmp(texts[k], "not eligible") == 0) {
                /* Say which part of eligibility failed. */
                char *why[4];
                size_t m = eligibility_reasons(a, &r->pool.elig[i], s->ineligible, why, 4);
                for (size_t j = 0; j < m; j++)
                    c->ruled_out[c->n_ruled_out++] = arena_printf(a, "not eligible: %s", why[j]);
                continue;
            }
            c->ruled_out[c->n_ruled_out++] = texts[k];
        }
        /* What they would have scored, so a caseworker sees what the rule
         * costs the family (a near-perfect fit whose vetting lapsed). */
        c->would_have_scored = explain(a, r, s, w, &c->would_have_reasons, &c->n_would_have_reasons);
        return c;
    }
    c->score = explain(a, r, s, w, &c->reasons, &c->n_reasons);
    return c;
}

json_t *pool_reasons_json(const Parley__Matching__V1__Candidate *c) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < c->n_reasons; i++)
        json_array_append_new(arr, json_pack("{s:s, s:i, s:s}", "factor", c->reasons[i]->factor, "points",
                                              c->reasons[i]->points, "detail", c->reasons[i]->detail));
    return arr;
}
