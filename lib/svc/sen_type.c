/* The DfE's SEN types read from free text (contract in sen_type.h). */
#include "svc/sen_type.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#define T(x) PARLEY__COMMON__V1__SEN_TYPE__SEN_TYPE_##x

static const struct {
    const char *code, *name;
} codes[] = {
    [T(SPLD)] = {"SpLD", "specific learning difficulty"},
    [T(MLD)] = {"MLD", "moderate learning difficulty"},
    [T(SLD)] = {"SLD", "severe learning difficulty"},
    [T(PMLD)] = {"PMLD", "profound and multiple learning difficulty"},
    [T(SEMH)] = {"SEMH", "social, emotional and mental health"},
    [T(SLCN)] = {"SLCN", "speech, language and communication needs"},
    [T(HI)] = {"HI", "hearing impairment"},
    [T(VI)] = {"VI", "vision impairment"},
    [T(MSI)] = {"MSI", "multi-sensory impairment"},
    [T(PD)] = {"PD", "physical disability"},
    [T(ASD)] = {"ASD", "autistic spectrum disorder"},
    [T(OTH)] = {"OTH", "other difficulty or disability"},
    [T(NSA)] = {"NSA", "SEN support but no specialist assessment of type of need"},
};
#define N_CODES ((int)(sizeof codes / sizeof codes[0]))

const char *sen_type_code(int type) { return type > 0 && type < N_CODES ? codes[type].code : NULL; }
const char *sen_type_name(int type) { return type > 0 && type < N_CODES ? codes[type].name : NULL; }

/* Whole words other than the codes themselves. */
static const struct {
    const char *word;
    int type;
} words[] = {
    {"asc", T(ASD)}, {"adhd", T(SEMH)}, {"salt", T(SLCN)}, {"deaf", T(HI)}, {"blind", T(VI)},
};

/* Found anywhere, in this order. */
static const struct {
    const char *stem;
    int type;
} stems[] = {
    {"multi-sensory", T(MSI)},     {"multisensory", T(MSI)},      {"deafblind", T(MSI)},
    {"profound", T(PMLD)},         {"severe learning", T(SLD)},   {"moderate learning", T(MLD)},
    {"dyslexi", T(SPLD)},          {"dyspraxi", T(SPLD)},         {"dyscalculi", T(SPLD)},
    {"specific learning", T(SPLD)}, {"autis", T(ASD)},            {"asperger", T(ASD)},
    {"speech", T(SLCN)},           {"language", T(SLCN)},         {"communication", T(SLCN)},
    {"stammer", T(SLCN)},          {"hearing", T(HI)},            {"deaf", T(HI)},
    {"vision", T(VI)},             {"visual", T(VI)},             {"sight", T(VI)},
    {"blind", T(VI)},              {"emotional", T(SEMH)},        {"mental health", T(SEMH)},
    {"anxiety", T(SEMH)},          {"behaviour", T(SEMH)},        {"behavior", T(SEMH)},
    {"attachment", T(SEMH)},       {"attention deficit", T(SEMH)}, {"hyperactiv", T(SEMH)},
    {"physical", T(PD)},           {"mobility", T(PD)},           {"cerebral palsy", T(PD)},
    {"wheelchair", T(PD)},         {"learning", T(MLD)},          {"down syndrome", T(MLD)},
    {"developmental delay", T(MLD)},
};

/* The type a whole word (len bytes, lower case) names, or 0. */
static int word_type(const char *w, size_t len) {
    for (int t = 1; t < N_CODES; t++) {
        const char *c = codes[t].code;
        if (strlen(c) != len) continue;
        size_t k = 0;
        while (k < len && tolower((unsigned char)c[k]) == w[k]) k++;
        if (k == len) return t;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].word) == len && memcmp(words[i].word, w, len) == 0) return words[i].type;
    return 0;
}

Parley__Common__V1__SenType sen_type_of_text(const char *text) {
    if (text == NULL) return T(OTH);
    char low[256];
    size_t n = 0;
    for (; text[n] != '\0' && n < sizeof low - 1; n++) low[n] = (char)tolower((unsigned char)text[n]);
    low[n] = '\0';
    /* Whole words: a run of letters and digits. */
    for (size_t i = 0; i < n;) {
        while (i < n && !isalnum((unsigned char)low[i])) i++;
        size_t start = i;
        while (i < n && isalnum((unsigned char)low[i])) i++;
        int t = i > start ? word_type(low + start, i - start) : 0;
        if (t != 0) return (Parley__Common__V1__SenType)t;
    }
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++)
        if (strstr(low, stems[i].stem) != NULL) return (Parley__Common__V1__SenType)stems[i].type;
    return T(OTH);
}
