/* Hard rules and the explainable soft score (contract in scoring.h). */
#include "services/matching/scoring.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const weights_t SCORING_DEFAULT_WEIGHTS = {
    .language = 30, .specialism = 25, .continuity = 15, .proximity = 15, .capacity = 5, .fairness = 10,
    .waiting_per_week = 5,
};

/* ---- words ------------------------------------------------------------------ */

static const char *const spec_words[SPEC_COUNT] = {
    NULL,           "autism",   "adhd",        "sensory", "physical",   "semh",
    "speech_language", "learning", "early_years", "post_16", "exclusions", "tribunal",
};

static const char *const sen_words[SEN_LAST + 1] = {
    NULL, "spld", "mld", "sld", "pmld", "semh", "slcn", "hi", "vi", "msi", "pd", "asd", "oth", "nsa",
};

const char *scoring_specialism_word(int bit) {
    if (bit > 0 && bit < SPEC_COUNT) return spec_words[bit];
    if (bit > SEN_SHIFT && bit <= SEN_SHIFT + SEN_LAST) return sen_words[bit - SEN_SHIFT];
    return NULL;
}

static const struct {
    const char *tag, *name;
} language_names[] = {
    {"en", "English"},  {"cy", "Welsh"},      {"gd", "Scottish Gaelic"}, {"ga", "Irish"},   {"pl", "Polish"},
    {"ur", "Urdu"},     {"so", "Somali"},     {"pa", "Punjabi"},         {"bn", "Bengali"}, {"ar", "Arabic"},
    {"ro", "Romanian"}, {"gu", "Gujarati"},   {"ta", "Tamil"},           {"pt", "Portuguese"}, {"es", "Spanish"},
    {"fr", "French"},   {"lt", "Lithuanian"}, {"tr", "Turkish"},         {"zh", "Chinese"}, {"uk", "Ukrainian"},
    {"ru", "Russian"},  {"fa", "Persian"},    {"ps", "Pashto"},          {"ku", "Kurdish"}, {"ti", "Tigrinya"},
    {"am", "Amharic"},  {"it", "Italian"},    {"bg", "Bulgarian"},       {"lv", "Latvian"}, {"hu", "Hungarian"},
    {"bfi", "British Sign Language"},
};

/* The length of a tag's primary language subtag. */
static size_t primary_len(const char *tag) {
    size_t n = 0;
    while (tag[n] && tag[n] != '-' && tag[n] != '_') n++;
    return n;
}

bool scoring_same_language(const char *a, const char *b) {
    if (a == NULL || b == NULL) return false;
    size_t la = primary_len(a), lb = primary_len(b);
    return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

const char *scoring_language_name(const char *tag) {
    for (size_t i = 0; i < sizeof language_names / sizeof language_names[0]; i++)
        if (scoring_same_language(tag, language_names[i].tag)) return language_names[i].name;
    return tag;
}

static bool speaks(const supporter_facts_t *s, const char *tag) {
    for (size_t i = 0; i < s->n_languages; i++)
        if (scoring_same_language(s->languages[i], tag)) return true;
    return false;
}

static bool listed(char *const *ids, size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(ids[i], id) == 0) return true;
    return false;
}

/* ---- needs --------------------------------------------------------------------- */

unsigned scoring_specialisms_of_need(const char *need) {
    if (need == NULL || *need == '\0') return 0;
    Parley__Common__V1__SenType t = sen_type_of_text(need);
    if (t == PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_OTH || t == PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_NSA) return 0;
    return SEN_BIT(t);
}

unsigned scoring_bits_of_specialism(int spec) {
#define SEN(x) SEN_BIT(PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_##x)
    switch (spec) {
    case SPEC_AUTISM: return SEN(ASD);
    case SPEC_ADHD:
    case SPEC_SEMH: return SEN(SEMH);
    case SPEC_SENSORY: return SEN(HI) | SEN(VI) | SEN(MSI);
    case SPEC_PHYSICAL: return SEN(PD);
    case SPEC_SPEECH_LANGUAGE: return SEN(SLCN);
    case SPEC_LEARNING: return SEN(SPLD) | SEN(MLD) | SEN(SLD);
    default: return spec > 0 && spec < SPEC_COUNT ? SPEC_BIT(spec) : 0;
    }
#undef SEN
}

void scoring_postcode_parts(const char *postcode, char *district, char *area) {
    district[0] = area[0] = '\0';
    if (postcode == NULL) return;
    char compact[16];
    size_t n = 0;
    for (const char *p = postcode; *p && n < sizeof compact - 1; p++)
        if (!isspace((unsigned char)*p)) compact[n++] = (char)toupper((unsigned char)*p);
    compact[n] = '\0';
    size_t letters = 0;
    while (letters < n && isalpha((unsigned char)compact[letters])) letters++;
    if (letters < 1 || letters > 2) return;
    /* A full postcode ends in its inward code (digit, letter, letter): the
     * outward code is what precedes it. Anything shorter is an outward
     * code ("SW1A") or an area ("SW") already. */
    size_t outward = n;
    if (n >= 5 && isdigit((unsigned char)compact[n - 3]) && isalpha((unsigned char)compact[n - 2]) &&
        isalpha((unsigned char)compact[n - 1]))
        outward = n - 3;
    if (outward > 4 || outward < letters) return;
    memcpy(area, compact, letters);
    area[letters] = '\0';
    if (outward > letters) {
        memcpy(district, compact, outward);
        district[outward] = '\0';
    }
}

/* ---- the case's facts ------------------------------------------------------------ */

static void add_language(case_facts_t *f, const char *tag) {
    if (tag == NULL || *tag == '\0' || f->n_languages == SCORING_MAX_LANGUAGES) return;
    for (size_t i = 0; i < f->n_languages; i++)
        if (scoring_same_language(f->languages[i], tag)) return;
    f->languages[f->n_languages++] = tag;
}

static void add_required(case_facts_t *f, const char *tag) {
    if (f->n_required == SCORING_MAX_LANGUAGES) return;
    for (size_t i = 0; i < f->n_required; i++)
        if (scoring_same_language(f->required[i], tag)) return;
    f->required[f->n_required++] = tag;
}

void scoring_case_facts(const case_input_t *in, int64_t today, case_facts_t *out) {
    memset(out, 0, sizeof *out);
    out->authority_id = in->authority_id;
    bool interpreter = false, bsl = false;
    for (size_t i = 0; i < in->n_communication_needs; i++) {
        interpreter = interpreter || strcasecmp(in->communication_needs[i], "interpreter") == 0;
        bsl = bsl || strcasecmp(in->communication_needs[i], "bsl") == 0;
    }
    for (size_t i = 0; i < in->n_pref_languages; i++) add_language(out, in->pref_languages[i]);
    if (bsl) add_language(out, "bfi");
    for (size_t i = 0; i < in->n_languages; i++) add_language(out, in->languages[i]);
    bool english = false;
    for (size_t i = 0; i < out->n_languages; i++) english = english || scoring_same_language(out->languages[i], "en");

    if (in->require_language && in->n_pref_languages > 0) {
        for (size_t i = 0; i < in->n_pref_languages; i++) add_required(out, in->pref_languages[i]);
    } else {
        if (bsl) add_required(out, "bfi");
        if (interpreter || !english)
            for (size_t i = 0; i < out->n_languages; i++)
                if (!scoring_same_language(out->languages[i], "en")) add_required(out, out->languages[i]);
    }
    out->language_required = out->n_required > 0;

    unsigned spec = in->pref_specialisms;
    for (size_t i = 0; i < in->n_child_needs; i++) spec |= scoring_specialisms_of_need(in->child_needs[i]);
    for (size_t i = 0; i < in->n_case_needs; i++)
        if (strcasecmp(in->case_needs[i], "tribunal_support") == 0) spec |= SPEC_BIT(SPEC_TRIBUNAL);
    /* A deprecated specialism (stored by an older build) is read as its types. */
    for (int b = 1; b < SPEC_COUNT; b++)
        if (spec & SPEC_BIT(b)) spec = (spec & ~SPEC_BIT(b)) | scoring_bits_of_specialism(b);
    if (in->has_birth_date && today >= in->child_born) {
        int64_t years = (today - in->child_born) * 4 / 1461; /* 365.25 days a year */
        if (years < 5) spec |= SPEC_BIT(SPEC_EARLY_YEARS);
        if (years >= 16) spec |= SPEC_BIT(SPEC_POST_16);
    }
    out->specialisms = spec;
    scoring_postcode_parts(in->postcode, out->district, out->area);
}

/* ---- hard rules ---------------------------------------------------------------------- */

static int free_places(const supporter_facts_t *s) { return s->capacity - s->active - s->pending; }

unsigned scoring_rule_out(const case_facts_t *c, const supporter_facts_t *s) {
    unsigned bits = 0;
    if (s->ineligible) bits |= RULE_INELIGIBLE;
    if (!listed(s->authority_ids, s->n_authority_ids, c->authority_id)) bits |= RULE_OTHER_AUTHORITY;
    if (free_places(s) <= 0) bits |= RULE_NO_PLACE;
    if (c->language_required) {
        bool ok = false;
        for (size_t i = 0; i < c->n_required && !ok; i++) ok = speaks(s, c->required[i]);
        if (!ok) bits |= RULE_LANGUAGE;
    }
    if (listed(c->excluded, c->n_excluded, s->id)) bits |= RULE_EXCLUDED;
    return bits;
}

/* "Polish (pl) or Romanian (ro)" for the required languages, in a. */
static const char *required_names(arena_t *a, const case_facts_t *c) {
    const char *text = "";
    for (size_t i = 0; i < c->n_required; i++)
        text = arena_printf(a, "%s%s%s (%s)", text, i == 0 ? "" : " or ", scoring_language_name(c->required[i]),
                            c->required[i]);
    return text;
}

size_t scoring_rule_texts(arena_t *a, const case_facts_t *c, unsigned bits, char **out, size_t cap) {
    size_t n = 0;
    if ((bits & RULE_INELIGIBLE) && n < cap) out[n++] = arena_strdup(a, "not eligible");
    if ((bits & RULE_OTHER_AUTHORITY) && n < cap) out[n++] = arena_strdup(a, "does not serve the case's authority");
    if ((bits & RULE_NO_PLACE) && n < cap) out[n++] = arena_strdup(a, "has no free place");
    if ((bits & RULE_LANGUAGE) && n < cap)
        out[n++] = arena_printf(a, "does not speak %s, which the family needs", required_names(a, c));
    if ((bits & RULE_EXCLUDED) && n < cap)
        out[n++] = arena_strdup(a, "not to be offered for this request (declined it, let an offer lapse "
                                   "less than the cool-off ago, or the family asked not to have them)");
    return n;
}

/* ---- the soft score --------------------------------------------------------------------- */

enum { F_LANGUAGE, F_SPECIALISM, F_CONTINUITY, F_PROXIMITY, F_CAPACITY, F_FAIRNESS };
static const char *const factor_names[SCORING_FACTORS] = {"language", "specialism", "continuity",
                                                          "proximity", "capacity",  "fairness"};

/* weight * num / den, rounded half up (all non-negative). */
static int share(int weight, int num, int den) {
    if (den <= 0 || weight <= 0 || num <= 0) return 0;
    if (num > den) num = den;
    return (int)(((long)weight * num * 2 + den) / (2L * den));
}

typedef struct {
    int pts[SCORING_FACTORS];
    int language;      /* 0 none, 1 the first language, 2 another of the family's */
    const char *spoken; /* which */
    int wanted, known; /* specialisms */
    bool previous;
    int near;          /* 0 not near or unknown, 1 same district, 2 same area */
    const char *near_what;
} parts_t;

static int popcount(unsigned x) {
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

/* Whether an area served (a district "N1" or an area "N") covers the
 * family: 1 the district, 2 the same postcode area, 0 neither. */
static int area_covers(const char *served, const case_facts_t *c) {
    char d[SCORING_DISTRICT_LEN], a[SCORING_DISTRICT_LEN];
    scoring_postcode_parts(served, d, a);
    if (c->district[0] && d[0] && strcmp(d, c->district) == 0) return 1;
    if (a[0] && strcmp(a, c->area) == 0) return d[0] ? 2 : 1; /* an area served whole covers its districts */
    return 0;
}

static void compute(const case_facts_t *c, const supporter_facts_t *s, const weights_t *w, parts_t *p) {
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < c->n_languages && p->language == 0; i++)
        if (speaks(s, c->languages[i])) {
            p->language = i == 0 ? 1 : 2;
            p->spoken = c->languages[i];
        }
    p->pts[F_LANGUAGE] = p->language == 1 ? w->language : p->language == 2 ? share(w->language, 1, 3) : 0;

    p->wanted = popcount(c->specialisms);
    p->known = popcount(c->specialisms & s->specialisms);
    p->pts[F_SPECIALISM] = share(w->specialism, p->known, p->wanted);

    p->previous = listed(c->previous, c->n_previous, s->id);
    p->pts[F_CONTINUITY] = p->previous ? w->continuity : 0;

    if (c->area[0]) {
        for (size_t i = 0; i < s->n_areas && p->near != 1; i++) {
            int k = area_covers(s->areas[i], c);
            if (k && (p->near == 0 || k < p->near)) {
                p->near = k;
                p->near_what = s->areas[i];
            }
        }
        if (p->near != 1 && s->home_postcode && *s->home_postcode) {
            char d[SCORING_DISTRICT_LEN], a[SCORING_DISTRICT_LEN];
            scoring_postcode_parts(s->home_postcode, d, a);
            int k = (c->district[0] && d[0] && strcmp(d, c->district) == 0) ? 1
                    : (a[0] && strcmp(a, c->area) == 0)                    ? 2
                                                                            : 0;
            if (k && (p->near == 0 || k < p->near)) {
                p->near = k;
                p->near_what = "home";
            }
        }
    }
    p->pts[F_PROXIMITY] = p->near == 1 ? w->proximity : p->near == 2 ? share(w->proximity, 1, 2) : 0;

    int free = free_places(s);
    p->pts[F_CAPACITY] = share(w->capacity, free, 3);
    int unused = s->capacity - s->active - s->pending;
    p->pts[F_FAIRNESS] = share(w->fairness, unused, s->capacity);
}

int scoring_score(const case_facts_t *c, const supporter_facts_t *s, const weights_t *w) {
    parts_t p;
    compute(c, s, w, &p);
    int sum = 0;
    for (int i = 0; i < SCORING_FACTORS; i++) sum += p.pts[i];
    return sum;
}

/* "ASD (autistic spectrum disorder), SLCN (speech, language and
 * communication needs) and tribunal" for the bits, in a: the types of need
 * by their DfE codes, then the specialisms. */
static const char *spec_list(arena_t *a, unsigned bits) {
    const char *text = "";
    int total = popcount(bits), k = 0;
    for (int b = 1; b < SCORING_BITS; b++) {
        int bit = b <= SEN_LAST ? SEN_SHIFT + b : b - SEN_LAST; /* types first */
        if (bit >= SPEC_COUNT && bit <= SEN_SHIFT) continue;
        if (!(bits & (1u << bit))) continue;
        const char *sep = ++k == 1 ? "" : k == total ? " and " : ", ";
        if (bit > SEN_SHIFT)
            text = arena_printf(a, "%s%s%s (%s)", text, sep, sen_type_code(bit - SEN_SHIFT),
                                sen_type_name(bit - SEN_SHIFT));
        else text = arena_printf(a, "%s%s%s", text, sep, spec_words[bit]);
    }
    return text;
}

static const char *language_detail(arena_t *a, const case_facts_t *c, const parts_t *p) {
    if (c->n_languages == 0)
        return "the family's language is not recorded: ask the family which language they need before offering";
    const char *first = c->languages[0];
    const char *need = c->language_required ? "the family needs" : "the family's first language";
    if (p->language == 1)
        return arena_printf(a, "speaks %s (%s), %s", scoring_language_name(first), first,
                            c->language_required ? "the language the family needs" : "the family's first language");
    if (p->language == 2)
        return arena_printf(a, "speaks %s (%s), one of the family's languages, but not %s (%s), %s",
                            scoring_language_name(p->spoken), p->spoken, scoring_language_name(first), first, need);
    return arena_printf(a, "does not speak %s (%s), %s", scoring_language_name(first), first, need);
}

static const char *proximity_detail(arena_t *a, const case_facts_t *c, const parts_t *p) {
    if (!c->area[0]) return "the family's postcode is not known";
    const char *where = c->district[0] ? c->district : c->area;
    if (p->near == 1 && strcmp(p->near_what, "home") == 0)
        return arena_printf(a, "lives in %s, the family's postcode district", where);
    if (p->near == 1) return arena_printf(a, "serves %s, which covers the family's district %s", p->near_what, where);
    if (p->near == 2)
        return arena_printf(a, "works in the family's postcode area %s, not in %s itself", c->area, where);
    return arena_printf(a, "neither serves nor lives near %s", where);
}

int scoring_explain(arena_t *a, const case_facts_t *c, const supporter_facts_t *s, const weights_t *w,
                    reason_t out[SCORING_FACTORS]) {
    parts_t p;
    compute(c, s, w, &p);
    const char *details[SCORING_FACTORS];
    details[F_LANGUAGE] = language_detail(a, c, &p);
    if (p.wanted == 0) details[F_SPECIALISM] = "the child's needs call for no particular specialism";
    else if (p.known == 0)
        details[F_SPECIALISM] = arena_printf(a, "knows none of %s, which the child's needs call for",
                                             spec_list(a, c->specialisms));
    else if (p.wanted == 1)
        details[F_SPECIALISM] =
            arena_printf(a, "knows %s, which the child's needs call for", spec_list(a, c->specialisms));
    else
        details[F_SPECIALISM] = arena_printf(a, "knows %s: %d of the %d the child's needs call for",
                                             spec_list(a, c->specialisms & s->specialisms), p.known, p.wanted);
    details[F_CONTINUITY] = p.previous ? "supported this family before" : "has not supported this family before";
    details[F_PROXIMITY] = proximity_detail(a, c, &p);
    int free = free_places(s);
    details[F_CAPACITY] = free == 1 ? "1 free place" : arena_printf(a, "%d free places", free > 0 ? free : 0);
    details[F_FAIRNESS] = arena_printf(a, "supports %d famil%s with %d offer%s pending, of %d places", s->active,
                                       s->active == 1 ? "y" : "ies", s->pending, s->pending == 1 ? "" : "s",
                                       s->capacity);
    int sum = 0;
    for (int i = 0; i < SCORING_FACTORS; i++) {
        out[i].factor = factor_names[i];
        out[i].points = p.pts[i];
        out[i].detail = details[i];
        sum += p.pts[i];
    }
    return sum;
}

/* ---- ranking ------------------------------------------------------------------------ */

static int slot_cmp(const void *x, const void *y) {
    const scoring_slot_t *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->active != b->active) return a->active < b->active ? -1 : 1;
    return strcmp(a->id, b->id);
}

size_t scoring_rank(const case_facts_t *c, const supporter_facts_t *s, size_t n, const weights_t *w, size_t k,
                    scoring_slot_t *tmp, size_t *idx, int *scores) {
    /* The best k so far, best first, in tmp: most supporters only need to
     * be compared with the worst kept, so this is O(n) for the small k
     * asked for, not a sort of everyone. */
    size_t kept = 0;
    for (size_t i = 0; i < n && k > 0; i++) {
        if (scoring_rule_out(c, &s[i]) != 0) continue;
        scoring_slot_t cand = {scoring_score(c, &s[i], w), s[i].active, s[i].id, i};
        if (kept == k && slot_cmp(&cand, &tmp[k - 1]) >= 0) continue;
        size_t at = kept < k ? kept++ : k - 1;
        while (at > 0 && slot_cmp(&cand, &tmp[at - 1]) < 0) {
            tmp[at] = tmp[at - 1];
            at--;
        }
        tmp[at] = cand;
    }
    for (size_t i = 0; i < kept; i++) {
        idx[i] = tmp[i].index;
        if (scores) scores[i] = tmp[i].score;
    }
    return kept;
}

/* ---- no family stuck, unmet demand by area ------------------------------------------ */

int64_t scoring_cooloff_end_us(int64_t answered_us, int64_t cooloff_s) {
    if (cooloff_s < 0) cooloff_s = 0;
    if (cooloff_s > INT64_MAX / 1000000 || answered_us > INT64_MAX - cooloff_s * 1000000) return INT64_MAX;
    return answered_us + cooloff_s * 1000000;
}

bool scoring_offer_excludes(const char *status, int64_t answered_us, int64_t now_us, int64_t cooloff_s) {
    if (status == NULL) return false;
    if (strcmp(status, "declined") == 0) return true;
    if (strcmp(status, "expired") == 0) return now_us < scoring_cooloff_end_us(answered_us, cooloff_s);
    return false;
}

bool scoring_covers_district(const supporter_facts_t *s, const char *district) {
    char want_d[SCORING_DISTRICT_LEN], want_a[SCORING_DISTRICT_LEN];
    scoring_postcode_parts(district, want_d, want_a);
    if (!want_d[0]) return false;
    case_facts_t c;
    memset(&c, 0, sizeof c);
    memcpy(c.district, want_d, sizeof c.district);
    memcpy(c.area, want_a, sizeof c.area);
    for (size_t i = 0; i < s->n_areas; i++)
        if (area_covers(s->areas[i], &c) == 1) return true;
    if (s->home_postcode && *s->home_postcode) {
        char d[SCORING_DISTRICT_LEN], a[SCORING_DISTRICT_LEN];
        scoring_postcode_parts(s->home_postcode, d, a);
        if (d[0] && strcmp(d, want_d) == 0) return true;
    }
    return false;
}
