/* scoring — which supporters may be offered a family (the hard rules) and
 * how well each fits (the soft score), with the reasons that add up to it.
 * Pure: no database, no clock, no allocation except the reasons' text in
 * the arena a caller gives.
 *
 * Hard rules (scoring_rule_out): the supporter is eligible
 * (eligibility.h), serves the case's authority, has a free place (capacity
 * minus active assignments minus pending offers), speaks one of the
 * family's languages when the family needs that, and is not excluded for
 * this request (the family asked not to have them, or they declined or let
 * an offer lapse).
 *
 * Soft score: six factors, each worth at most its weight (weights_t) and
 * rounded to whole points, so a score is exactly the sum of its reasons:
 *   language    weight if the supporter speaks the family's first language,
 *               a third of it for another of the family's languages;
 *   specialism  weight x the share of the wanted types of need (the
 *               child's DfE codes) and specialisms (age, case) known;
 *   continuity  weight if the supporter supported this family before;
 *   proximity   weight for the family's postcode district among the areas
 *               served (or the supporter's home district), half for the
 *               same postcode area;
 *   capacity    weight x min(free places, 3) / 3;
 *   fairness    weight x the share of capacity not yet in use or promised,
 *               so work spreads across supporters.
 */
#ifndef PARLEY_MATCHING_SCORING_H
#define PARLEY_MATCHING_SCORING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "svc/sen_type.h"

typedef struct {
    int language, specialism, continuity, proximity, capacity, fairness;
    int waiting_per_week; /* batch assignment: points per week a family has waited (at most 10 weeks) */
} weights_t;

/* language 30, specialism 25, continuity 15, proximity 15, capacity 5,
 * fairness 10 (100 in all), waiting 5 a week. */
extern const weights_t SCORING_DEFAULT_WEIGHTS;

/* Specialisms as bits, numbered as parley.matching.v1.Specialism. */
enum {
    SPEC_AUTISM = 1,
    SPEC_ADHD,
    SPEC_SENSORY,
    SPEC_PHYSICAL,
    SPEC_SEMH,
    SPEC_SPEECH_LANGUAGE,
    SPEC_LEARNING,
    SPEC_EARLY_YEARS,
    SPEC_POST_16,
    SPEC_EXCLUSIONS,
    SPEC_TRIBUNAL,
    SPEC_COUNT
};
#define SPEC_BIT(s) (1u << (s))

/* The types of need (parley.common.v1.SenType, 1..SEN_LAST) share the mask
 * with the specialisms, from bit SEN_SHIFT: what a child's needs call for
 * and what a supporter knows are one set, compared code for code. The
 * specialisms autism to learning (1-7) are the words used before the
 * codes: never set in a mask, read as the types they stand for
 * (scoring_bits_of_specialism). */
#define SEN_SHIFT 16
#define SEN_LAST 13
#define SEN_BIT(t) (1u << (SEN_SHIFT + (t)))
#define SCORING_BITS (SEN_SHIFT + SEN_LAST + 1) /* every bit index is below it */

#define SCORING_FACTORS 6
#define SCORING_MAX_LANGUAGES 8
#define SCORING_DISTRICT_LEN 8

/* What is known of a case, as stored (scoring_case_facts derives the rest). */
typedef struct {
    const char *authority_id;
    char *const *languages; /* the parents' preferred languages, in order */
    size_t n_languages;
    char *const *communication_needs; /* "interpreter", "bsl", ... */
    size_t n_communication_needs;
    char *const *child_needs; /* types ("asd", "SEN_TYPE_ASD"), or free text from before them ("autism") */
    size_t n_child_needs;
    char *const *case_needs; /* "supporter", "tribunal_support", ... */
    size_t n_case_needs;
    bool has_birth_date;
    int64_t child_born; /* days since 1970-01-01 */
    const char *postcode;
    /* The request's preferences. */
    char *const *pref_languages;
    size_t n_pref_languages;
    bool require_language;
    unsigned pref_specialisms; /* SPEC_BIT()s and SEN_BIT()s */
} case_input_t;

/* What matching asks of supporters for one case. */
typedef struct {
    const char *authority_id;
    const char *languages[SCORING_MAX_LANGUAGES]; /* wanted, most wanted first, one per primary subtag */
    size_t n_languages;
    const char *required[SCORING_MAX_LANGUAGES]; /* one of these must be spoken, when language_required */
    size_t n_required;
    bool language_required;
    unsigned specialisms; /* wanted, SPEC_BIT()s and SEN_BIT()s */
    char district[SCORING_DISTRICT_LEN]; /* "SW1A"; "" when the postcode is unknown */
    char area[SCORING_DISTRICT_LEN];     /* "SW" */
    char *const *previous; /* supporters who supported this family before */
    size_t n_previous;
    char *const *excluded; /* never offer these for this request */
    size_t n_excluded;
} case_facts_t;

typedef struct {
    const char *id;
    char *const *authority_ids;
    size_t n_authority_ids;
    char *const *languages;
    size_t n_languages;
    unsigned specialisms; /* known: SPEC_BIT()s and SEN_BIT()s */
    char *const *areas; /* postcode districts ("N1") or areas ("N") served */
    size_t n_areas;
    const char *home_postcode; /* may be NULL */
    int capacity, active, pending;
    unsigned ineligible; /* eligibility_check's bits; 0 when eligible */
} supporter_facts_t;

typedef struct {
    const char *factor;
    int points;
    const char *detail;
} reason_t;

/* The hard rules, as bits (0: the supporter is a candidate). */
#define RULE_INELIGIBLE 0x1u
#define RULE_OTHER_AUTHORITY 0x2u
#define RULE_NO_PLACE 0x4u
#define RULE_LANGUAGE 0x8u
#define RULE_EXCLUDED 0x10u

/* Derives the facts of a case from in, on day today. Strings are borrowed
 * from in (previous and excluded are left empty for the caller to set).
 * A language is required when the request says so (one of its preferred
 * languages), when a parent needs an interpreter or BSL (BSL is the language
 * "bfi"), or when no parent's language is English; then one of the family's
 * languages other than English must be spoken. */
void scoring_case_facts(const case_input_t *in, int64_t today, case_facts_t *out);

/* Which hard rules rule s out for c. */
unsigned scoring_rule_out(const case_facts_t *c, const supporter_facts_t *s);

/* One sentence per rule in bits, for the API's ruledOut (strings in a).
 * Returns how many were written (at most cap). */
size_t scoring_rule_texts(arena_t *a, const case_facts_t *c, unsigned bits, char **out, size_t cap);

/* The soft score of s for c (without its reasons: no allocation). */
int scoring_score(const case_facts_t *c, const supporter_facts_t *s, const weights_t *w);

/* The same score with its SCORING_FACTORS reasons written to out (details
 * in a); the points add up to the returned score. */
int scoring_explain(arena_t *a, const case_facts_t *c, const supporter_facts_t *s, const weights_t *w,
                    reason_t out[SCORING_FACTORS]);

/* Ranks the candidates among n supporters: writes the indexes of up to k of
 * them that no hard rule rules out to idx, best first (ties: fewer active
 * assignments, then the smaller id), with their scores to scores (may be
 * NULL). tmp must hold k entries (scratch). Returns how many were written. */
typedef struct {
    int score;
    int active;
    const char *id;
    size_t index;
} scoring_slot_t;
size_t scoring_rank(const case_facts_t *c, const supporter_facts_t *s, size_t n, const weights_t *w, size_t k,
                    scoring_slot_t *tmp, size_t *idx, int *scores);

/* What a child's need calls for: the SEN_BIT() of its type, read as
 * svc/sen_type.h reads words ("asd", "SEN_TYPE_ASD" and, from an event
 * written before the codes, "autism"); 0 for oth and nsa, which call for
 * no particular knowledge. */
unsigned scoring_specialisms_of_need(const char *need);

/* The bits a specialism stands for: its SPEC_BIT(), or for autism to
 * learning the SEN_BIT()s of the types they were (autism asd; adhd and semh
 * semh; sensory hi, vi and msi; physical pd; speech_language slcn; learning
 * spld, mld and sld); 0 for an unknown value. */
unsigned scoring_bits_of_specialism(int spec);

/* Whether two language tags share their primary language ("pl" and
 * "pl-PL"), ignoring case. */
bool scoring_same_language(const char *a, const char *b);

/* The English name of a language tag ("Polish" for "pl"), or the tag. */
const char *scoring_language_name(const char *tag);

/* The API word of bit index bit: a specialism's ("tribunal") or a type of
 * need's ("asd"); NULL if none. */
const char *scoring_specialism_word(int bit);

/* The outward code ("SW1A") and area ("SW") of a UK postcode, upper case;
 * "" when it does not look like one. Each out holds SCORING_DISTRICT_LEN. */
void scoring_postcode_parts(const char *postcode, char *district, char *area);

/* ---- no family stuck, unmet demand by area (issue 12, items 1 and 6) ---- */

/* Whether an earlier offer of a request, with status ("declined",
 * "expired", ...) answered at answered_us, keeps its supporter out of the
 * request at now_us: a decline does for good; a lapse only during its
 * cool-off, cooloff_s seconds from when it lapsed (a lapse is not a
 * refusal: the supporter may simply have been away). Any other status
 * (accepted, withdrawn, pending) does not. */
bool scoring_offer_excludes(const char *status, int64_t answered_us, int64_t now_us, int64_t cooloff_s);

/* When a lapse answered at answered_us stops keeping its supporter out. */
int64_t scoring_cooloff_end_us(int64_t answered_us, int64_t cooloff_s);

/* Whether s serves district (an outward code, "N1"): an area served is the
 * district itself or its whole postcode area ("N"), or s lives in it. */
bool scoring_covers_district(const supporter_facts_t *s, const char *district);

#endif
