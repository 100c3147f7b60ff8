/* Matching's hard rules, eligibility and explainable score
 * (services/matching/scoring.c, eligibility.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "services/matching/eligibility.h"
#include "services/matching/scoring.h"
#include "svc/svc.h"

#define AUTH_A "aaaaaaaa-0000-4000-8000-000000000001"
#define AUTH_B "bbbbbbbb-0000-4000-8000-000000000002"

static arena_t *arena;

static int setup(void **state) {
    (void)state;
    arena = arena_new();
    return arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    arena_destroy(&arena);
    return 0;
}

static int64_t day(const char *s) {
    int64_t d;
    if (!svc_parse_date(s, &d)) fail_msg("bad date in test: %s", s);
    return d;
}

#define TODAY day("2025-06-01")

static char *auth_a[] = {AUTH_A};
static char *auth_b[] = {AUTH_B};
static char *en[] = {"en"};
static char *pl_en[] = {"pl", "en"};
static char *pl[] = {"pl"};
static char *n1_area[] = {"N1"};
static char *interpreter[] = {"interpreter"};

/* A supporter serving A, English only, five places, none used. */
static supporter_facts_t supporter(const char *id) {
    supporter_facts_t s = {.id = id, .authority_ids = auth_a, .n_authority_ids = 1, .languages = en,
                           .n_languages = 1, .capacity = 5};
    return s;
}

/* A case in A whose family lives in N1 7AA. */
static case_input_t family(char **languages, size_t n, char **comm, size_t n_comm) {
    case_input_t in = {.authority_id = AUTH_A, .languages = languages, .n_languages = n,
                       .communication_needs = comm, .n_communication_needs = n_comm, .postcode = "N1 7AA"};
    return in;
}

static int sum_points(const reason_t *r) {
    int sum = 0;
    for (int i = 0; i < SCORING_FACTORS; i++) sum += r[i].points;
    return sum;
}

static const reason_t *reason(const reason_t *r, const char *factor) {
    for (int i = 0; i < SCORING_FACTORS; i++)
        if (strcmp(r[i].factor, factor) == 0) return &r[i];
    fail_msg("no reason %s", factor);
    return NULL;
}

/* ---- the acceptance case: Polish over a closer English-only supporter ---- */

static void test_family_needing_polish_gets_the_polish_speaker_over_a_closer_english_only_one(void **state) {
    (void)state;
    case_input_t in = family(pl, 1, interpreter, 1);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    assert_true(c.language_required);

    supporter_facts_t s[2] = {supporter("11111111-0000-4000-8000-000000000001"),
                              supporter("22222222-0000-4000-8000-000000000002")};
    s[0].areas = n1_area; /* English only, serves the family's own district */
    s[0].n_areas = 1;
    s[1].languages = pl_en; /* Polish, far away */
    s[1].n_languages = 2;

    assert_int_equal(scoring_rule_out(&c, &s[0]), RULE_LANGUAGE);
    assert_int_equal(scoring_rule_out(&c, &s[1]), 0);
    char *texts[4];
    assert_int_equal(scoring_rule_texts(arena, &c, RULE_LANGUAGE, texts, 4), 1);
    assert_non_null(strstr(texts[0], "Polish (pl)"));

    scoring_slot_t tmp[2];
    size_t idx[2];
    int scores[2];
    assert_int_equal(scoring_rank(&c, s, 2, &SCORING_DEFAULT_WEIGHTS, 10, tmp, idx, scores), 1);
    assert_int_equal(idx[0], 1);
    reason_t r[SCORING_FACTORS];
    int score = scoring_explain(arena, &c, &s[1], &SCORING_DEFAULT_WEIGHTS, r);
    assert_int_equal(score, scores[0]);
    assert_int_equal(sum_points(r), score);
    assert_int_equal(reason(r, "language")->points, SCORING_DEFAULT_WEIGHTS.language);
    assert_non_null(strstr(reason(r, "language")->detail, "speaks Polish (pl)"));
    assert_int_equal(reason(r, "proximity")->points, 0);
}

static void test_polish_wins_on_language_weight_when_english_would_do(void **state) {
    (void)state;
    /* One parent prefers Polish, the other English: no hard rule, but the
     * language weight outweighs proximity. */
    case_input_t in = family(pl_en, 2, NULL, 0);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    assert_false(c.language_required);
    supporter_facts_t near = supporter("11111111-0000-4000-8000-000000000001"),
                      polish = supporter("22222222-0000-4000-8000-000000000002");
    near.areas = n1_area;
    near.n_areas = 1;
    polish.languages = pl;
    assert_int_equal(scoring_rule_out(&c, &near), 0);
    reason_t rn[SCORING_FACTORS], rp[SCORING_FACTORS];
    int sn = scoring_explain(arena, &c, &near, &SCORING_DEFAULT_WEIGHTS, rn);
    int sp = scoring_explain(arena, &c, &polish, &SCORING_DEFAULT_WEIGHTS, rp);
    assert_true(sp > sn);
    assert_int_equal(reason(rn, "proximity")->points, SCORING_DEFAULT_WEIGHTS.proximity);
    assert_non_null(strstr(reason(rn, "language")->detail, "but not Polish (pl)"));
    assert_non_null(strstr(reason(rp, "language")->detail, "the family's first language"));

    /* A consortium that weighs proximity above all ranks the other way. */
    weights_t w = SCORING_DEFAULT_WEIGHTS;
    w.proximity = 100;
    assert_true(scoring_score(&c, &near, &w) > scoring_score(&c, &polish, &w));
}

/* ---- hard rules -------------------------------------------------------------- */

static void test_expired_vetting_is_never_a_candidate(void **state) {
    (void)state;
    eligibility_input_t e = {.active = true, .status_word = "active", .has_vetting = true,
                             .vetting_expires = day("2025-05-31")};
    unsigned bits = eligibility_check(&e, TODAY);
    assert_int_equal(bits, ELIGIBILITY_VETTING_EXPIRED);
    char *why[4];
    assert_int_equal(eligibility_reasons(arena, &e, bits, why, 4), 1);
    assert_string_equal(why[0], "DBS vetting expired on 2025-05-31");

    case_input_t in = family(en, 1, NULL, 0);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    supporter_facts_t s[2] = {supporter("11111111-0000-4000-8000-000000000001"),
                              supporter("22222222-0000-4000-8000-000000000002")};
    s[0].ineligible = bits;
    s[0].areas = n1_area; /* the better fit in every other way */
    s[0].n_areas = 1;
    assert_true(scoring_rule_out(&c, &s[0]) & RULE_INELIGIBLE);
    scoring_slot_t tmp[2];
    size_t idx[2];
    assert_int_equal(scoring_rank(&c, s, 2, &SCORING_DEFAULT_WEIGHTS, 10, tmp, idx, NULL), 1);
    assert_int_equal(idx[0], 1);
}

static void test_vetting_is_expired_from_its_expiry_date(void **state) {
    (void)state;
    eligibility_input_t e = {.active = true, .has_vetting = true, .vetting_expires = TODAY};
    assert_int_equal(eligibility_check(&e, TODAY), ELIGIBILITY_VETTING_EXPIRED);
    e.vetting_expires = TODAY + 1;
    assert_int_equal(eligibility_check(&e, TODAY), 0);
    e.has_vetting = false;
    assert_int_equal(eligibility_check(&e, TODAY), ELIGIBILITY_VETTING_MISSING);
}

static void test_a_paused_supporter_is_ineligible_and_says_why(void **state) {
    (void)state;
    eligibility_input_t e = {.active = false, .status_word = "paused", .has_vetting = true,
                             .vetting_expires = TODAY + 100};
    unsigned bits = eligibility_check(&e, TODAY);
    assert_int_equal(bits, ELIGIBILITY_NOT_ACTIVE);
    char *why[4];
    eligibility_reasons(arena, &e, bits, why, 4);
    assert_string_equal(why[0], "status is paused, not active");
    /* Training counts only once the training service says it lapsed. */
    e.active = true;
    e.training = ELIGIBILITY_TRAINING_UNKNOWN;
    assert_int_equal(eligibility_check(&e, TODAY), 0);
    e.training = ELIGIBILITY_TRAINING_LAPSED;
    assert_int_equal(eligibility_check(&e, TODAY), ELIGIBILITY_TRAINING_LAPSED_BIT);
}

static void test_a_supporter_serving_only_another_authority_is_ruled_out(void **state) {
    (void)state;
    case_input_t in = family(en, 1, NULL, 0);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
    s.authority_ids = auth_b;
    assert_int_equal(scoring_rule_out(&c, &s), RULE_OTHER_AUTHORITY);
}

static void test_no_free_place_counts_pending_offers(void **state) {
    (void)state;
    case_input_t in = family(en, 1, NULL, 0);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
    s.capacity = 2;
    s.active = 1;
    assert_int_equal(scoring_rule_out(&c, &s), 0);
    s.pending = 1;
    assert_int_equal(scoring_rule_out(&c, &s), RULE_NO_PLACE);
    s.capacity = 0;
    s.active = s.pending = 0;
    assert_int_equal(scoring_rule_out(&c, &s), RULE_NO_PLACE);
}

static void test_excluded_supporters_are_ruled_out(void **state) {
    (void)state;
    case_input_t in = family(en, 1, NULL, 0);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    char *excluded[] = {"11111111-0000-4000-8000-000000000001"};
    c.excluded = excluded;
    c.n_excluded = 1;
    supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
    assert_int_equal(scoring_rule_out(&c, &s), RULE_EXCLUDED);
}

static void test_interpreter_need_requires_the_parents_language_even_beside_english(void **state) {
    (void)state;
    char *so_en[] = {"so", "en"};
    case_input_t in = family(so_en, 2, interpreter, 1);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    assert_true(c.language_required);
    assert_int_equal(c.n_required, 1);
    assert_string_equal(c.required[0], "so");
    /* Without the interpreter need an English-speaking parent is enough. */
    in.n_communication_needs = 0;
    scoring_case_facts(&in, TODAY, &c);
    assert_false(c.language_required);
}

static void test_bsl_need_requires_british_sign_language(void **state) {
    (void)state;
    char *bsl[] = {"bsl"};
    case_input_t in = family(en, 1, bsl, 1);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    assert_true(c.language_required);
    assert_string_equal(c.required[0], "bfi");
    supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
    assert_int_equal(scoring_rule_out(&c, &s), RULE_LANGUAGE);
    char *signs[] = {"en", "bfi"};
    s.languages = signs;
    s.n_languages = 2;
    assert_int_equal(scoring_rule_out(&c, &s), 0);
}

static void test_a_request_may_require_one_of_its_own_languages(void **state) {
    (void)state;
    char *so[] = {"so"};
    case_input_t in = family(en, 1, NULL, 0);
    in.pref_languages = so;
    in.n_pref_languages = 1;
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    assert_false(c.language_required); /* preferred, not required */
    assert_string_equal(c.languages[0], "so");
    in.require_language = true;
    scoring_case_facts(&in, TODAY, &c);
    assert_true(c.language_required);
    assert_int_equal(c.n_required, 1);
    assert_string_equal(c.required[0], "so");
    supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
    assert_int_equal(scoring_rule_out(&c, &s), RULE_LANGUAGE); /* English is not enough */
}

static void test_language_tags_match_on_their_primary_subtag(void **state) {
    (void)state;
    assert_true(scoring_same_language("pl", "PL-pl"));
    assert_true(scoring_same_language("pt-BR", "pt"));
    assert_false(scoring_same_language("pa", "pt"));
    assert_false(scoring_same_language("", ""));
    assert_string_equal(scoring_language_name("pl-PL"), "Polish");
    assert_string_equal(scoring_language_name("xx"), "xx");
}

/* ---- the soft score ------------------------------------------------------------ */

#define SEN(x) SEN_BIT(PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_##x)

static void test_child_needs_read_as_their_types(void **state) {
    (void)state;
    /* As events carry them, as intake answers them, and as events written
     * before the codes carried them. */
    assert_int_equal(scoring_specialisms_of_need("asd"), SEN(ASD));
    assert_int_equal(scoring_specialisms_of_need("SEN_TYPE_SLCN"), SEN(SLCN));
    assert_int_equal(scoring_specialisms_of_need("Autism Spectrum Condition"), SEN(ASD));
    assert_int_equal(scoring_specialisms_of_need("speech and language"), SEN(SLCN));
    assert_int_equal(scoring_specialisms_of_need("hearing impairment"), SEN(HI));
    assert_int_equal(scoring_specialisms_of_need("ADHD and anxiety"), SEN(SEMH));
    assert_int_equal(scoring_specialisms_of_need("dyslexia"), SEN(SPLD));
    /* oth and nsa call for no particular knowledge. */
    assert_int_equal(scoring_specialisms_of_need("oth"), 0);
    assert_int_equal(scoring_specialisms_of_need("sleep"), 0);
    assert_int_equal(scoring_specialisms_of_need("nsa"), 0);
    assert_int_equal(scoring_specialisms_of_need(NULL), 0);
}

static void test_deprecated_specialisms_stand_for_types(void **state) {
    (void)state;
    assert_int_equal(scoring_bits_of_specialism(SPEC_AUTISM), SEN(ASD));
    assert_int_equal(scoring_bits_of_specialism(SPEC_SENSORY), SEN(HI) | SEN(VI) | SEN(MSI));
    assert_int_equal(scoring_bits_of_specialism(SPEC_LEARNING), SEN(SPLD) | SEN(MLD) | SEN(SLD));
    assert_int_equal(scoring_bits_of_specialism(SPEC_TRIBUNAL), SPEC_BIT(SPEC_TRIBUNAL));
    assert_int_equal(scoring_bits_of_specialism(99), 0);
    assert_string_equal(scoring_specialism_word(SEN_SHIFT + PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_ASD), "asd");
    assert_string_equal(scoring_specialism_word(SPEC_POST_16), "post_16");
}

static void test_age_and_case_needs_add_specialisms(void **state) {
    (void)state;
    case_input_t in = family(en, 1, NULL, 0);
    char *needs[] = {"supporter", "tribunal_support"};
    in.case_needs = needs;
    in.n_case_needs = 2;
    in.has_birth_date = true;
    in.child_born = day("2022-01-10"); /* three */
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    assert_int_equal(c.specialisms, SPEC_BIT(SPEC_TRIBUNAL) | SPEC_BIT(SPEC_EARLY_YEARS));
    in.child_born = day("2008-05-01"); /* seventeen */
    in.n_case_needs = 0;
    scoring_case_facts(&in, TODAY, &c);
    assert_int_equal(c.specialisms, SPEC_BIT(SPEC_POST_16));
}

static void test_specialism_points_are_the_share_known(void **state) {
    (void)state;
    case_input_t in = family(en, 1, NULL, 0);
    char *needs[] = {"autism", "speech and language", "ADHD"};
    in.child_needs = needs;
    in.n_child_needs = 3;
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
    char *more[] = {"autism", "speech and language", "dyslexia"};
    in.child_needs = more;
    scoring_case_facts(&in, TODAY, &c);
    s.specialisms = SEN(ASD) | SEN(SPLD) | SEN(PD);
    reason_t r[SCORING_FACTORS];
    scoring_explain(arena, &c, &s, &SCORING_DEFAULT_WEIGHTS, r);
    assert_int_equal(reason(r, "specialism")->points, 17); /* 25 x 2/3, rounded */
    assert_non_null(strstr(reason(r, "specialism")->detail,
                           "knows SpLD (specific learning difficulty) and ASD (autistic spectrum disorder): 2 of the 3"));
}

static void test_continuity_proximity_capacity_and_fairness(void **state) {
    (void)state;
    case_input_t in = family(en, 1, NULL, 0);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    assert_string_equal(c.district, "N1");
    assert_string_equal(c.area, "N");
    char *previous[] = {"11111111-0000-4000-8000-000000000001"};
    c.previous = previous;
    c.n_previous = 1;
    supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
    s.home_postcode = "n7 9zz"; /* same area, another district */
    s.capacity = 4;
    s.active = 2;
    s.pending = 1;
    reason_t r[SCORING_FACTORS];
    int score = scoring_explain(arena, &c, &s, &SCORING_DEFAULT_WEIGHTS, r);
    assert_int_equal(reason(r, "continuity")->points, 15);
    assert_int_equal(reason(r, "proximity")->points, 8); /* half of 15, rounded up */
    assert_int_equal(reason(r, "capacity")->points, 2);  /* 1 free place of 3 counted: 5 x 1/3 */
    assert_int_equal(reason(r, "fairness")->points, 3);  /* a quarter unused: 10 x 1/4, rounded up */
    assert_string_equal(reason(r, "fairness")->detail, "supports 2 families with 1 offer pending, of 4 places");
    assert_int_equal(sum_points(r), score);
    /* An area served whole covers every district in it. */
    char *whole_n[] = {"N"};
    s.areas = whole_n;
    s.n_areas = 1;
    assert_int_equal(scoring_explain(arena, &c, &s, &SCORING_DEFAULT_WEIGHTS, r) - score, 7);
}

static void test_postcode_parts(void **state) {
    (void)state;
    char d[SCORING_DISTRICT_LEN], a[SCORING_DISTRICT_LEN];
    scoring_postcode_parts("SW1A 1AA", d, a);
    assert_string_equal(d, "SW1A");
    assert_string_equal(a, "SW");
    scoring_postcode_parts("w11aa", d, a);
    assert_string_equal(d, "W1");
    scoring_postcode_parts("EC1", d, a);
    assert_string_equal(d, "EC1");
    assert_string_equal(a, "EC");
    scoring_postcode_parts("12345", d, a);
    assert_string_equal(d, "");
    assert_string_equal(a, "");
    scoring_postcode_parts(NULL, d, a);
    assert_string_equal(a, "");
}

/* ---- no family stuck, unmet demand by area (issue 12) ---- */

static void test_a_lapse_keeps_its_supporter_out_only_for_the_cool_off(void **state) {
    (void)state;
    const int64_t answered = 1700000000LL * 1000000, day = 86400;
    /* A decline: for good, however long ago. */
    assert_true(scoring_offer_excludes("declined", answered, answered + 400 * day * 1000000, 2 * day));
    /* A lapse: during the cool-off, up to the microsecond before it ends. */
    assert_true(scoring_offer_excludes("expired", answered, answered, 2 * day));
    assert_true(scoring_offer_excludes("expired", answered, answered + 2 * day * 1000000 - 1, 2 * day));
    assert_false(scoring_offer_excludes("expired", answered, answered + 2 * day * 1000000, 2 * day));
    assert_int_equal(scoring_cooloff_end_us(answered, 2 * day), answered + 2 * day * 1000000);
    /* No cool-off (0, or a negative setting): a lapse never keeps anyone out. */
    assert_false(scoring_offer_excludes("expired", answered, answered, 0));
    assert_int_equal(scoring_cooloff_end_us(answered, -5), answered);
    /* A cool-off too long to add saturates rather than wrapping into the past. */
    assert_true(scoring_offer_excludes("expired", answered, INT64_MAX - 1, INT64_MAX / 1000));
    /* Withdrawn, accepted, pending or unknown: no refusal. */
    assert_false(scoring_offer_excludes("withdrawn", answered, answered, 2 * day));
    assert_false(scoring_offer_excludes("accepted", answered, answered, 2 * day));
    assert_false(scoring_offer_excludes("pending", answered, answered, 2 * day));
    assert_false(scoring_offer_excludes(NULL, answered, answered, 2 * day));
}

static void test_a_supporter_covers_a_district_by_area_served_or_home(void **state) {
    (void)state;
    char *areas[] = {"SE15", "N"};
    supporter_facts_t s = {.id = "s", .areas = areas, .n_areas = 2};
    assert_true(scoring_covers_district(&s, "SE15"));
    assert_true(scoring_covers_district(&s, "se15"));   /* as the district is written */
    assert_true(scoring_covers_district(&s, "N1"));     /* the whole area N is served */
    assert_true(scoring_covers_district(&s, "N19"));
    assert_false(scoring_covers_district(&s, "SE1"));   /* a district is not its neighbour */
    assert_false(scoring_covers_district(&s, "NW1"));   /* NW is not N */
    assert_false(scoring_covers_district(&s, "unknown"));
    assert_false(scoring_covers_district(&s, ""));
    s.n_areas = 0;
    s.home_postcode = "E2 8AA";
    assert_true(scoring_covers_district(&s, "E2"));
    assert_false(scoring_covers_district(&s, "E20"));
    s.home_postcode = NULL;
    assert_false(scoring_covers_district(&s, "E2"));
}

static void test_reasons_always_add_up_to_the_score(void **state) {
    (void)state;
    srand(7);
    char *langs[] = {"en", "pl", "so", "ur", "cy"};
    char *areas[] = {"N1", "N", "SW1A", "E2"};
    char *needs[] = {"autism", "ADHD", "hearing", "dyslexia", "anxiety"};
    for (int round = 0; round < 2000; round++) {
        case_input_t in = family(&langs[rand() % 4], 1 + (size_t)(rand() % 2), NULL, 0);
        in.child_needs = &needs[rand() % 3];
        in.n_child_needs = (size_t)(rand() % 3);
        in.postcode = rand() % 5 ? "N1 7AA" : NULL;
        case_facts_t c;
        scoring_case_facts(&in, TODAY, &c);
        supporter_facts_t s = supporter("11111111-0000-4000-8000-000000000001");
        s.languages = &langs[rand() % 3];
        s.n_languages = 1 + (size_t)(rand() % 3);
        s.areas = &areas[rand() % 3];
        s.n_areas = (size_t)(rand() % 2);
        s.specialisms = (unsigned)rand() & 0xffe;
        s.capacity = rand() % 6;
        s.active = s.capacity ? rand() % (s.capacity + 1) : 0;
        s.pending = rand() % 2;
        weights_t w = {rand() % 101, rand() % 101, rand() % 101, rand() % 101, rand() % 101, rand() % 101, 5};
        reason_t r[SCORING_FACTORS];
        int score = scoring_explain(arena, &c, &s, &w, r);
        assert_int_equal(sum_points(r), score);
        assert_int_equal(scoring_score(&c, &s, &w), score);
        for (int i = 0; i < SCORING_FACTORS; i++) assert_true(r[i].points >= 0 && r[i].detail && *r[i].detail);
        arena_reset(arena);
    }
}

static void test_ties_go_to_the_less_loaded_then_the_smaller_id(void **state) {
    (void)state;
    case_input_t in = family(en, 1, NULL, 0);
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    weights_t w = SCORING_DEFAULT_WEIGHTS;
    w.fairness = w.capacity = 0; /* load then counts only as the tie-break */
    supporter_facts_t s[3] = {supporter("33333333-0000-4000-8000-000000000003"),
                              supporter("22222222-0000-4000-8000-000000000002"),
                              supporter("11111111-0000-4000-8000-000000000001")};
    s[2].active = 1;
    scoring_slot_t tmp[3];
    size_t idx[3];
    assert_int_equal(scoring_rank(&c, s, 3, &w, 3, tmp, idx, NULL), 3);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 0);
    assert_int_equal(idx[2], 2);
    assert_int_equal(scoring_rank(&c, s, 3, &w, 1, tmp, idx, NULL), 1);
}

static void test_the_top_k_are_the_first_k_of_a_full_ranking(void **state) {
    (void)state;
    enum { N = 600 };
    static char ids[N][37];
    static char *langs[] = {"en", "pl", "so"};
    supporter_facts_t s[N];
    srand(5);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "%08x-0000-4000-8000-%012x", (unsigned)rand(), (unsigned)i);
        s[i] = supporter(ids[i]);
        s[i].languages = &langs[rand() % 2];
        s[i].n_languages = 1 + (size_t)(rand() % 2);
        s[i].specialisms = (unsigned)rand() & 0x6;
        s[i].capacity = 1 + rand() % 4;
        s[i].active = rand() % s[i].capacity;
        s[i].ineligible = rand() % 10 == 0;
    }
    char *needs[] = {"autism", "ADHD"};
    case_input_t in = family(pl_en, 2, NULL, 0);
    in.child_needs = needs;
    in.n_child_needs = 2;
    case_facts_t c;
    scoring_case_facts(&in, TODAY, &c);
    scoring_slot_t tmp[N];
    size_t all[N], top[10];
    int all_scores[N], top_scores[10];
    size_t n = scoring_rank(&c, s, N, &SCORING_DEFAULT_WEIGHTS, N, tmp, all, all_scores);
    assert_true(n > 400 && n < N);
    for (size_t i = 1; i < n; i++) {
        assert_true(all_scores[i - 1] >= all_scores[i]);
        if (all_scores[i - 1] == all_scores[i] && s[all[i - 1]].active == s[all[i]].active)
            assert_true(strcmp(s[all[i - 1]].id, s[all[i]].id) < 0);
    }
    assert_int_equal(scoring_rank(&c, s, N, &SCORING_DEFAULT_WEIGHTS, 10, tmp, top, top_scores), 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(top[i], all[i]);
        assert_int_equal(top_scores[i], all_scores[i]);
    }
    assert_int_equal(scoring_rank(&c, s, N, &SCORING_DEFAULT_WEIGHTS, 0, tmp, top, NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_needing_polish_gets_the_polish_speaker_over_a_closer_english_only_one),
        cmocka_unit_test(test_polish_wins_on_language_weight_when_english_would_do),
        cmocka_unit_test(test_expired_vetting_is_never_a_candidate),
        cmocka_unit_test(test_vetting_is_expired_from_its_expiry_date),
        cmocka_unit_test(test_a_paused_supporter_is_ineligible_and_says_why),
        cmocka_unit_test(test_a_supporter_serving_only_another_authority_is_ruled_out),
        cmocka_unit_test(test_no_free_place_counts_pending_offers),
        cmocka_unit_test(test_excluded_supporters_are_ruled_out),
        cmocka_unit_test(test_interpreter_need_requires_the_parents_language_even_beside_english),
        cmocka_unit_test(test_bsl_need_requires_british_sign_language),
        cmocka_unit_test(test_a_request_may_require_one_of_its_own_languages),
        cmocka_unit_test(test_language_tags_match_on_their_primary_subtag),
        cmocka_unit_test(test_child_needs_read_as_their_types),
        cmocka_unit_test(test_deprecated_specialisms_stand_for_types),
        cmocka_unit_test(test_age_and_case_needs_add_specialisms),
        cmocka_unit_test(test_specialism_points_are_the_share_known),
        cmocka_unit_test(test_continuity_proximity_capacity_and_fairness),
        cmocka_unit_test(test_postcode_parts),
        cmocka_unit_test(test_a_lapse_keeps_its_supporter_out_only_for_the_cool_off),
        cmocka_unit_test(test_a_supporter_covers_a_district_by_area_served_or_home),
        cmocka_unit_test(test_reasons_always_add_up_to_the_score),
        cmocka_unit_test(test_ties_go_to_the_less_loaded_then_the_smaller_id),
        cmocka_unit_test(test_the_top_k_are_the_first_k_of_a_full_ranking),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
