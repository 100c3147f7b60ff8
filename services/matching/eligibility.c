/* Supporter eligibility (contract in eligibility.h). */
#include "services/matching/eligibility.h"

#include <stdio.h>

unsigned eligibility_check(const eligibility_input_t *in, int64_t today) {
    unsigned bits = 0;
    if (!in->active) bits |= ELIGIBILITY_NOT_ACTIVE;
    if (!in->has_vetting) bits |= ELIGIBILITY_VETTING_MISSING;
    else if (in->vetting_expires <= today) bits |= ELIGIBILITY_VETTING_EXPIRED;
    if (in->training == ELIGIBILITY_TRAINING_LAPSED) bits |= ELIGIBILITY_TRAINING_LAPSED_BIT;
    return bits;
}

/* YYYY-MM-DD of a day number (civil-from-days, after H. Hinnant). */
static void civil(int64_t z, char out[11]) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, 11, "%04d-%02d-%02d", (int)(y + (m <= 2)), (int)m, (int)d);
}

void eligibility_set_training(arena_t *a, eligibility_input_t *in, const char *reason) {
    bool lapsed = reason != NULL && *reason != '\0';
    in->training = lapsed ? ELIGIBILITY_TRAINING_LAPSED : ELIGIBILITY_TRAINING_UNKNOWN;
    in->training_reason = lapsed ? arena_strdup(a, reason) : NULL;
}

size_t eligibility_reasons(arena_t *a, const eligibility_input_t *in, unsigned bits, char **out, size_t cap) {
    size_t n = 0;
    if ((bits & ELIGIBILITY_NOT_ACTIVE) && n < cap)
        out[n++] = arena_printf(a, "status is %s, not active", in->status_word ? in->status_word : "unknown");
    if ((bits & ELIGIBILITY_VETTING_MISSING) && n < cap) out[n++] = arena_strdup(a, "no DBS vetting is recorded");
    if ((bits & ELIGIBILITY_VETTING_EXPIRED) && n < cap) {
        char day[11];
        civil(in->vetting_expires, day);
        out[n++] = arena_printf(a, "DBS vetting expired on %s", day);
    }
    if ((bits & ELIGIBILITY_TRAINING_LAPSED_BIT) && n < cap)
        out[n++] = in->training_reason ? arena_strdup(a, in->training_reason)
                                       : arena_strdup(a, "training_lapsed: training is not up to date");
    return n;
}
