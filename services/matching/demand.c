/* GET /v1/matching/unmet-demand: the waiting list as evidence for
 * recruitment. Waiting families are grouped by authority, the language
 * they need (or their first) and each specialism their child's needs call
 * for ("general" when none); each group says how long its families have
 * waited, how many free places the eligible supporters who fit it have, and
 * how many places and supporters are short. A family with several needs is
 * counted under each. Supporters short = places short over the typical
 * (median) capacity of the authority's eligible supporters, or 3 when it
 * has none. An analyst (without a staff role) sees groups under 5 families
 * suppressed, and with them whatever else would let the hidden counts be
 * worked out from the authority's total (svc/suppression.h): another group,
 * or the total itself.
 *
 * The same families are grouped by postcode district too (the outward code
 * of the family's postcode, "unknown" without one), with the eligible
 * supporters serving each district. A family waiting although a supporter
 * passes every hard rule for it and has a free place now is not a shortage
 * but a matching failure (the sweeper has not tried it since, or something
 * is wrong): counted per group, district and authority and listed by
 * request, for a caseworker to look at and retry. Analysts see districts
 * suppressed as groups are, and no matching failures. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "services/matching/matching.h"
#include "svc/suppression.h"
#include "svc/svc.h"

#define SUPPRESS_UNDER 5
#define TYPICAL_CAPACITY 3
#define MAX_GROUPS 2000

/* The language of a group whose families' language is not recorded. */
#define DEMAND_UNKNOWN "und"

static const db_stmt_t stmts[] = {
    {"dem_waiting",
     "SELECT r.authority_id, (extract(epoch FROM now() - r.waiting_since) / 86400)::bigint, p.languages,"
     " p.communication_needs, p.child_needs, p.case_needs, p.child_date_of_birth - date '1970-01-01',"
     " r.pref_languages, r.pref_require_language, r.pref_specialisms,"
     " r.id, r.case_id, p.postcode, r.pref_exclude, " DB_MICROS("r.last_attempt_at")
     " FROM match_requests r JOIN case_profiles p ON p.case_id = r.case_id"
     " WHERE r.status = 'waiting' AND r.authority_id = ANY (current_authorities())"
     " AND ($1::uuid IS NULL OR r.authority_id = $1) ORDER BY r.authority_id, r.waiting_since"},
    {"dem_supporters",
     "SELECT s.languages, s.specialisms, s.status = 'SUPPORTER_STATUS_ACTIVE',"
     " s.vetting_expires_on - date '1970-01-01', p.capacity, p.active, p.pending"
     " FROM supporters s JOIN supporter_places p ON p.supporter_id = s.id"
     " WHERE s.authority_ids @> ARRAY[$1::uuid] AND s.authority_ids && current_authorities()"
     " AND s.training_reason IS NULL"},
    /* The waiting requests' declined and lapsed offers, for the hard rule
     * that keeps their supporters out (scoring_offer_excludes). */
    {"dem_excluded",
     "SELECT o.match_request_id::text, o.supporter_id, o.status, " DB_MICROS("o.answered_at") ", " DB_MICROS("now()")
     " FROM offers o JOIN match_requests r ON r.id = o.match_request_id"
     " WHERE r.status = 'waiting' AND o.status IN ('declined', 'expired') AND o.answered_at IS NOT NULL"
     " AND r.authority_id = ANY (current_authorities()) AND ($1::uuid IS NULL OR r.authority_id = $1)"
     " ORDER BY o.match_request_id::text COLLATE \"C\""},
};

const db_stmt_t *demand_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

typedef struct {
    const char *authority, *language, *need;
    int spec; /* 0 for general */
    int *waits;
    size_t n, cap;
    int failures; /* of them, waiting although a supporter fits and has a place */
} group_t;

/* Waiting families by authority and postcode district. */
typedef struct {
    const char *authority;
    char district[SCORING_DISTRICT_LEN + 8];
    int *waits;
    size_t n, cap;
    int failures;
} district_t;

typedef struct {
    char **languages;
    size_t n_languages;
    unsigned specs;
    int free;
    int capacity;
} fit_t;

static char **list(arena_t *a, const db_result_t *r, int i, int col, size_t *n) {
    char **items = NULL;
    int k = db_array_parse(a, db_text(r, i, col), &items);
    *n = k > 0 ? (size_t)k : 0;
    return items;
}

static group_t *group_for(arena_t *a, group_t *groups, size_t *n, const char *authority, const char *language,
                          int spec) {
    for (size_t i = 0; i < *n; i++)
        if (groups[i].spec == spec && strcmp(groups[i].authority, authority) == 0 &&
            scoring_same_language(groups[i].language, language))
            return &groups[i];
    if (*n == MAX_GROUPS) return NULL;
    group_t *g = &groups[(*n)++];
    memset(g, 0, sizeof *g);
    g->authority = authority;
    g->language = language;
    g->spec = spec;
    g->need = spec ? scoring_specialism_word(spec) : "general";
    (void)a;
    return g;
}

static void add_wait(arena_t *a, group_t *g, int days) {
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        int *w = arena_alloc(a, cap * sizeof *w);
        if (g->n) memcpy(w, g->waits, g->n * sizeof *w);
        g->waits = w;
        g->cap = cap;
    }
    g->waits[g->n++] = days;
}

static int int_cmp(const void *x, const void *y) { return *(const int *)x - *(const int *)y; }

static district_t *district_for(district_t *ds, size_t *n, const char *authority, const char *district) {
    for (size_t i = 0; i < *n; i++)
        if (strcmp(ds[i].district, district) == 0 && strcmp(ds[i].authority, authority) == 0) return &ds[i];
    if (*n == MAX_GROUPS) return NULL;
    district_t *d = &ds[(*n)++];
    memset(d, 0, sizeof *d);
    d->authority = authority;
    snprintf(d->district, sizeof d->district, "%s", district);
    return d;
}

static void district_add(arena_t *a, district_t *d, int days, bool failure) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        int *w = arena_alloc(a, cap * sizeof *w);
        if (d->n) memcpy(w, d->waits, d->n * sizeof *w);
        d->waits = w;
        d->cap = cap;
    }
    d->waits[d->n++] = days;
    d->failures += failure;
}

/* The supporters still kept out of request id (the rows of x for it; x is
 * sorted by request id, bytewise), with the family's own exclusions, into
 * *out (in a). */
static void excluded_of(arena_t *a, const db_result_t *x, const char *id, char **own, size_t n_own, char ***out,
                        size_t *n) {
    int first = 0, last = db_rows(x);
    while (first < last) { /* the first row of id */
        int mid = first + (last - first) / 2;
        if (strcmp(db_text(x, mid, 0), id) < 0) first = mid + 1;
        else last = mid;
    }
    int end = first;
    while (end < db_rows(x) && strcmp(db_text(x, end, 0), id) == 0) end++;
    *out = arena_alloc(a, ((size_t)(end - first) + n_own + 1) * sizeof **out);
    *n = 0;
    for (size_t i = 0; i < n_own; i++) (*out)[(*n)++] = own[i];
    for (int i = first; i < end; i++)
        if (scoring_offer_excludes(db_text(x, i, 2), db_int(x, i, 3), db_int(x, i, 4),
                                   matching_config.offer_cooloff_s))
            (*out)[(*n)++] = db_str(a, x, i, 1);
}

/* How many of pool's supporters pass every hard rule for f (eligible, a
 * free place, the language, not excluded): more than 0 while the family
 * waits is a matching failure. */
static int fitting(const case_facts_t *f, const pool_t *pool) {
    int n = 0;
    for (size_t j = 0; j < pool->n; j++) n += scoring_rule_out(f, &pool->facts[j]) == 0;
    return n;
}

/* The eligible supporters serving authority: count, with their fit. */
static int load_fits(db_t *db, arena_t *a, const char *authority, fit_t **out, int *typical) {
    const char *params[] = {authority};
    db_result_t *r = NULL;
    int rc = db_exec(db, "dem_supporters", 1, params, &r);
    if (rc != 0) return rc;
    int rows = db_rows(r), n = 0;
    fit_t *fits = arena_alloc(a, ((size_t)rows + 1) * sizeof *fits);
    int *caps = arena_alloc(a, ((size_t)rows + 1) * sizeof *caps);
    int64_t today = svc_today_days();
    for (int i = 0; i < rows; i++) {
        eligibility_input_t e = {.active = db_bool(r, i, 2), .has_vetting = !db_is_null(r, i, 3),
                                 .vetting_expires = db_int(r, i, 3)};
        if (eligibility_check(&e, today) != 0) continue;
        fit_t *f = &fits[n];
        f->languages = list(a, r, i, 0, &f->n_languages);
        size_t n_spec;
        char **spec = list(a, r, i, 1, &n_spec);
        f->specs = pool_specialism_bits(spec, n_spec);
        f->capacity = (int)db_int(r, i, 4);
        int free = f->capacity - (int)db_int(r, i, 5) - (int)db_int(r, i, 6);
        f->free = free > 0 ? free : 0;
        caps[n++] = f->capacity;
    }
    db_result_free(&r);
    qsort(caps, (size_t)n, sizeof *caps, int_cmp);
    *typical = n && caps[n / 2] > 0 ? caps[n / 2] : TYPICAL_CAPACITY;
    *out = fits;
    return n;
}

static void hide_group(Parley__Matching__V1__DemandGroup *d) {
    d->waiting_families = d->longest_wait_days = d->median_wait_days = 0;
    d->places_short = d->supporters_short = 0;
    d->suppressed = true;
}

static void hide_authority(Parley__Matching__V1__AuthorityDemand *x) {
    x->waiting_families = x->longest_wait_days = 0;
    x->suppressed = true;
}

static void hide_district(Parley__Matching__V1__DistrictDemand *d) {
    d->waiting_families = d->longest_wait_days = d->median_wait_days = 0;
    d->suppressed = true;
}

/* An analyst's view: each authority's total, its groups' counts and its
 * districts' counts as one table for svc/suppression.h (the total adds up
 * its groups, and, as a second total, its districts), and what it hides
 * zeroed. Every figure derived from a hidden count goes with it (places
 * short is waiting minus the free places shown). Returns 0, or -1 when the
 * table is too large to check (nothing may then be shown). */
static int suppress_counts(arena_t *a, Parley__Matching__V1__UnmetDemandResponse *out) {
    Parley__Matching__V1__AuthorityDemand **auth = out->authorities;
    size_t n_auth = out->n_authorities, n_items = out->n_items, n_dist = out->n_districts;
    size_t n_cells = n_auth + n_items + n_dist;
    suppression_cell_t *cells = arena_alloc(a, (n_cells + 1) * sizeof *cells);
    suppression_total_t *totals = arena_alloc(a, (2 * n_auth + 1) * sizeof *totals);
    size_t *members = arena_alloc(a, (n_items + n_dist + 1) * sizeof *members);
    if (cells == NULL || totals == NULL || members == NULL) return -1;
    size_t used = 0;
    for (size_t k = 0; k < n_auth; k++) {
        cells[k].value = auth[k]->waiting_families;
        totals[k] = (suppression_total_t){.total = k, .members = members + used, .n_members = 0};
        for (size_t i = 0; i < n_items; i++) {
            if (strcmp(out->items[i]->authority_id, auth[k]->authority_id) != 0) continue;
            cells[n_auth + i].value = out->items[i]->waiting_families;
            members[used++] = n_auth + i;
            totals[k].n_members++;
        }
        totals[n_auth + k] = (suppression_total_t){.total = k, .members = members + used, .n_members = 0};
        for (size_t i = 0; i < n_dist; i++) {
            if (strcmp(out->districts[i]->authority_id, auth[k]->authority_id) != 0) continue;
            cells[n_auth + n_items + i].value = out->districts[i]->waiting_families;
            members[used++] = n_auth + n_items + i;
            totals[n_auth + k].n_members++;
        }
    }
    if (suppression_apply(cells, n_cells, totals, 2 * n_auth, SUPPRESS_UNDER) != 0) return -1;
    for (size_t k = 0; k < n_auth; k++)
        if (cells[k].suppressed) hide_authority(auth[k]);
    for (size_t i = 0; i < n_items; i++)
        if (cells[n_auth + i].suppressed) hide_group(out->items[i]);
    for (size_t i = 0; i < n_dist; i++)
        if (cells[n_auth + n_items + i].suppressed) hide_district(out->districts[i]);
    /* Matching failures are a caseworker's worklist: small counts of named
     * requests, never an analyst's figures. */
    for (size_t k = 0; k < n_auth; k++) auth[k]->matching_failures = 0;
    for (size_t i = 0; i < n_items; i++) out->items[i]->matching_failures = 0;
    for (size_t i = 0; i < n_dist; i++) out->districts[i]->matching_failures = 0;
    out->n_matching_failures = 0;
    return 0;
}

static bool fits_group(const fit_t *f, const group_t *g) {
    /* Until the family's language is known, any supporter may turn out to speak it. */
    bool speaks = strcmp(g->language, DEMAND_UNKNOWN) == 0;
    for (size_t i = 0; i < f->n_languages && !speaks; i++) speaks = scoring_same_language(f->languages[i], g->language);
    return speaks && (g->spec == 0 || (f->specs & SPEC_BIT(g->spec)));
}

/* The districts' figures for authority k: the eligible supporters serving
 * each (pool: every supporter of the authority) and their free places. */
static void district_items(arena_t *a, const district_t *ds, size_t n_ds, const char *authority, const pool_t *pool,
                           Parley__Matching__V1__UnmetDemandResponse *out) {
    for (size_t i = 0; i < n_ds; i++) {
        const district_t *g = &ds[i];
        if (strcmp(g->authority, authority) != 0) continue;
        Parley__Matching__V1__DistrictDemand *d = arena_alloc(a, sizeof *d);
        parley__matching__v1__district_demand__init(d);
        d->authority_id = (char *)g->authority;
        d->district = arena_strdup(a, g->district);
        qsort(g->waits, g->n, sizeof *g->waits, int_cmp);
        d->waiting_families = (int32_t)g->n;
        d->longest_wait_days = g->waits[g->n - 1];
        d->median_wait_days = g->waits[g->n / 2];
        d->matching_failures = g->failures;
        for (size_t j = 0; j < pool->n; j++) {
            const supporter_facts_t *s = &pool->facts[j];
            if (s->ineligible || !scoring_covers_district(s, g->district)) continue;
            int free = s->capacity - s->active - s->pending;
            d->serving_supporters++;
            d->free_places += free > 0 ? free : 0;
        }
        out->districts[out->n_districts++] = d;
    }
}

int demand_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((matching_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Matching__V1__UnmetDemandRequest *in = (const void *)req->input;
    if (svc_opt(in->authority_id)) svc_check_authority(req, res, "authorityId", in->authority_id);
    if (!svc_ok(res)) return -1;
    bool suppress = !matching_has_role(req, "consortium_admin") && !matching_has_role(req, "caseworker");

    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL, *x = NULL;
    const char *params[] = {svc_opt(in->authority_id)};
    if (rc == 0) rc = db_exec(db, "dem_waiting", 1, params, &r);
    if (rc == 0) rc = db_exec(db, "dem_excluded", 1, params, &x);
    if (rc != 0) {
        db_result_free(&r);
        return matching_db_fail(res, req, db, rc);
    }

    int rows = db_rows(r);
    group_t *groups = arena_alloc(a, MAX_GROUPS * sizeof *groups);
    district_t *districts = arena_alloc(a, MAX_GROUPS * sizeof *districts);
    size_t n_groups = 0, n_districts = 0;
    Parley__Matching__V1__AuthorityDemand **auth = arena_alloc(a, ((size_t)rows + 1) * sizeof *auth);
    pool_t *pools = arena_alloc(a, ((size_t)rows + 1) * sizeof *pools); /* every supporter of auth[k] */
    size_t n_auth = 0;
    Parley__Matching__V1__UnmetDemandResponse *out = arena_alloc(a, sizeof *out);
    parley__matching__v1__unmet_demand_response__init(out);
    out->matching_failures = arena_alloc(a, ((size_t)rows + 1) * sizeof *out->matching_failures);
    int64_t today = svc_today_days();
    for (int i = 0; i < rows && rc == 0; i++) {
        const char *authority = db_str(a, r, i, 0);
        if (n_auth == 0 || strcmp(auth[n_auth - 1]->authority_id, authority) != 0) {
            Parley__Matching__V1__AuthorityDemand *ad = arena_alloc(a, sizeof *ad);
            parley__matching__v1__authority_demand__init(ad);
            ad->authority_id = (char *)authority;
            if ((rc = pool_load(db, a, authority, true, &pools[n_auth])) != 0) break;
            auth[n_auth++] = ad;
        }
        int days = (int)db_int(r, i, 1);
        case_input_t ci = {.authority_id = authority};
        ci.languages = list(a, r, i, 2, &ci.n_languages);
        ci.communication_needs = list(a, r, i, 3, &ci.n_communication_needs);
        ci.child_needs = list(a, r, i, 4, &ci.n_child_needs);
        ci.case_needs = list(a, r, i, 5, &ci.n_case_needs);
        ci.has_birth_date = !db_is_null(r, i, 6);
        ci.child_born = db_int(r, i, 6);
        ci.pref_languages = list(a, r, i, 7, &ci.n_pref_languages);
        ci.require_language = db_bool(r, i, 8);
        size_t n_spec;
        char **spec = list(a, r, i, 9, &n_spec);
        ci.pref_specialisms = pool_specialism_bits(spec, n_spec);
        ci.postcode = db_is_null(r, i, 12) ? NULL : db_str(a, r, i, 12);
        case_facts_t f;
        scoring_case_facts(&ci, today, &f);
        size_t n_own;
        char **own = list(a, r, i, 13, &n_own), **excluded;
        excluded_of(a, x, db_text(r, i, 10), own, n_own, &excluded, &f.n_excluded);
        f.excluded = excluded;
        /* A supporter who fits and has a place, while the family waits: a
         * matching failure to look at, not a shortage. */
        int fit = fitting(&f, &pools[n_auth - 1]);
        if (fit > 0) {
            Parley__Matching__V1__MatchingFailure *mf = arena_alloc(a, sizeof *mf);
            parley__matching__v1__matching_failure__init(mf);
            mf->authority_id = (char *)authority;
            mf->match_request_id = db_str(a, r, i, 10);
            mf->case_id = db_str(a, r, i, 11);
            mf->waiting_days = days;
            mf->fitting_supporters = fit;
            if (!db_is_null(r, i, 14)) mf->last_attempt_at = svc_timestamp(a, db_int(r, i, 14));
            out->matching_failures[out->n_matching_failures++] = mf;
            auth[n_auth - 1]->matching_failures++;
        }
        /* A family whose language is not recorded is counted as such (BCP
         * 47's "und", undetermined), never as English. */
        const char *language = f.language_required ? f.required[0] : f.n_languages ? f.languages[0] : DEMAND_UNKNOWN;
        bool any = false;
        for (int s = 1; s < SCORING_BITS; s++) {
            if (!(f.specialisms & SPEC_BIT(s))) continue;
            group_t *g = group_for(a, groups, &n_groups, authority, language, s);
            if (g) {
                add_wait(a, g, days);
                g->failures += fit > 0;
            }
            any = true;
        }
        if (!any) {
            group_t *g = group_for(a, groups, &n_groups, authority, language, 0);
            if (g) {
                add_wait(a, g, days);
                g->failures += fit > 0;
            }
        }
        district_t *d = district_for(districts, &n_districts, authority, f.district[0] ? f.district : "unknown");
        if (d) district_add(a, d, days, fit > 0);
        auth[n_auth - 1]->waiting_families++;
        if (days > auth[n_auth - 1]->longest_wait_days) auth[n_auth - 1]->longest_wait_days = days;
    }
    db_result_free(&r);
    db_result_free(&x);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    if (n_auth == 0 && svc_opt(in->authority_id)) {
        /* Nobody waits there: still say what the authority has. */
        auth[0] = arena_alloc(a, sizeof *auth[0]);
        parley__matching__v1__authority_demand__init(auth[0]);
        auth[0]->authority_id = in->authority_id;
        n_auth = 1;
    }

    out->items = arena_alloc(a, (n_groups + 1) * sizeof *out->items);
    out->districts = arena_alloc(a, (n_districts + 1) * sizeof *out->districts);
    for (size_t k = 0; k < n_auth && rc == 0; k++) {
        fit_t *fits = NULL;
        int typical = TYPICAL_CAPACITY;
        int n_fits = load_fits(db, a, auth[k]->authority_id, &fits, &typical);
        if (n_fits < 0) {
            rc = n_fits;
            break;
        }
        auth[k]->eligible_supporters = n_fits;
        for (int j = 0; j < n_fits; j++) auth[k]->free_places += fits[j].free;
        for (size_t i = 0; i < n_groups; i++) {
            group_t *g = &groups[i];
            if (strcmp(g->authority, auth[k]->authority_id) != 0) continue;
            Parley__Matching__V1__DemandGroup *d = arena_alloc(a, sizeof *d);
            parley__matching__v1__demand_group__init(d);
            d->authority_id = (char *)g->authority;
            d->language = (char *)g->language;
            d->need = (char *)g->need;
            qsort(g->waits, g->n, sizeof *g->waits, int_cmp);
            d->waiting_families = (int32_t)g->n;
            d->longest_wait_days = g->waits[g->n - 1];
            d->median_wait_days = g->waits[g->n / 2];
            d->matching_failures = g->failures;
            for (int j = 0; j < n_fits; j++)
                if (fits_group(&fits[j], g)) {
                    d->fitting_supporters++;
                    d->free_places += fits[j].free;
                }
            d->places_short = d->waiting_families > d->free_places ? d->waiting_families - d->free_places : 0;
            d->supporters_short = (d->places_short + typical - 1) / typical;
            out->items[out->n_items++] = d;
        }
        if (auth[k]->waiting_families > 0)
            district_items(a, districts, n_districts, auth[k]->authority_id, &pools[k], out);
    }
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    out->authorities = auth;
    out->n_authorities = n_auth;
    if (suppress && suppress_counts(a, out) != 0) {
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, "the figures cannot be checked for small numbers");
        return -1;
    }
    out->as_of = svc_timestamp(a, (int64_t)time(NULL) * 1000000);
    res->reply = &out->base;
    return 0;
}
