/* Statutory deadlines of the SEN process (rules in deadlines.h). */
#include "services/intake/deadlines.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "parley/intake/v1/intake.pb-c.h"

#define S(x) PARLEY__INTAKE__V1__SEN_STAGE__SEN_STAGE_##x
#define K(x) PARLEY__INTAKE__V1__DEADLINE_KIND__DEADLINE_KIND_##x
#define ST(x) PARLEY__INTAKE__V1__DEADLINE_STATUS__DEADLINE_STATUS_##x
#define AUTHORITY PARLEY__INTAKE__V1__DEADLINE_PARTY__DEADLINE_PARTY_AUTHORITY
#define FAMILY PARLEY__INTAKE__V1__DEADLINE_PARTY__DEADLINE_PARTY_FAMILY
#define NONE DEADLINES_NO_DATE

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t deadline_day(int year, int month, int mday) {
    int64_t y = year - (month <= 2);
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + mday - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void deadline_civil(int64_t day, int *year, int *month, int *mday) {
    int64_t z = day + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)((int64_t)yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *mday = (int)d;
}

char *deadline_format(int64_t day, char out[11]) {
    int y, m, d;
    deadline_civil(day, &y, &m, &d);
    if (y < 0 || y > 9999) y = 0;
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    return out;
}

static int month_length(int year, int month) {
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return len[month - 1] + (month == 2 && leap);
}

int64_t deadline_add_days(int64_t day, int days) { return day + days; }

int64_t deadline_add_weeks(int64_t day, int weeks) { return day + 7 * (int64_t)weeks; }

int64_t deadline_add_months(int64_t day, int months) {
    int y, m, d;
    deadline_civil(day, &y, &m, &d);
    int64_t index = (int64_t)y * 12 + (m - 1) + months; /* months since year 0 */
    int ny = (int)(index >= 0 ? index / 12 : -((-index + 11) / 12));
    int nm = (int)(index - (int64_t)ny * 12) + 1;
    int last = month_length(ny, nm);
    return deadline_day(ny, nm, d > last ? last : d);
}

/* ---- the stages, as the rules need them -------------------------------- */

typedef struct {
    const deadline_stage_t *s;
    size_t n;
} stages_t;

/* The earliest date of stage on or after from and before until, or NONE. */
static int64_t first_between(const stages_t *st, int stage, int64_t from, int64_t until) {
    int64_t best = NONE;
    for (size_t i = 0; i < st->n; i++)
        if (st->s[i].stage == stage && st->s[i].on >= from && st->s[i].on < until &&
            (best == NONE || st->s[i].on < best))
            best = st->s[i].on;
    return best;
}

static int64_t first(const stages_t *st, int stage) { return first_between(st, stage, INT64_MIN + 1, INT64_MAX); }

/* The latest date of stage in [from, until), or NONE. */
static int64_t last_between(const stages_t *st, int stage, int64_t from, int64_t until) {
    int64_t best = NONE;
    for (size_t i = 0; i < st->n; i++)
        if (st->s[i].stage == stage && st->s[i].on >= from && st->s[i].on < until && st->s[i].on > best)
            best = st->s[i].on;
    return best;
}

/* ---- the output ----------------------------------------------------------- */

typedef struct {
    deadline_t *out;
    size_t cap, n;
    int64_t today;
} sink_t;

/* Adds a deadline, met at met_on by met_by (NONE / 0 when not met). */
static void emit(sink_t *k, int kind, int party, int from, int64_t starts_on, int64_t due_on, int met_by,
                 int64_t met_on) {
    deadline_t d = {.kind = kind, .starts_from = from, .starts_on = starts_on, .due_on = due_on,
                    .met_on = met_on, .met_by = met_on == NONE ? 0 : met_by, .party = party};
    d.status = met_on != NONE ? ST(MET) : (k->today > due_on ? ST(OVERDUE) : ST(UPCOMING));
    if (k->n < k->cap) k->out[k->n] = d;
    k->n++;
}

/* The earlier of two (stage, date) pairs that may be NONE. */
static void earliest_of(int64_t a, int sa, int64_t b, int sb, int64_t *on, int *stage) {
    if (a != NONE && (b == NONE || a <= b)) {
        *on = a;
        *stage = sa;
    } else {
        *on = b;
        *stage = b == NONE ? 0 : sb;
    }
}

/* assessment_requested or statutory_assessment: decide in 6 weeks. */
static void assessment_decision(sink_t *k, const stages_t *st, int kind, int from, int64_t r) {
    int64_t met;
    int by;
    earliest_of(first_between(st, S(ASSESSMENT_AGREED), r, INT64_MAX), S(ASSESSMENT_AGREED),
                first_between(st, S(ASSESSMENT_REFUSED), r, INT64_MAX), S(ASSESSMENT_REFUSED), &met, &by);
    emit(k, kind, AUTHORITY, from, r, deadline_add_weeks(r, 6), by, met);
}

/* Whether the assessment requested on r was refused with nothing since
 * agreeing it or issuing what it leads to (the later deadlines then lapse). */
static bool refused_since(const stages_t *st, int64_t r, int outcome_stage) {
    int64_t refused = first_between(st, S(ASSESSMENT_REFUSED), r, INT64_MAX);
    return refused != NONE && first_between(st, S(ASSESSMENT_AGREED), r, INT64_MAX) == NONE &&
           first_between(st, outcome_stage, r, INT64_MAX) == NONE;
}

static void ehc_request(sink_t *k, const stages_t *st) {
    int64_t r = first(st, S(ASSESSMENT_REQUESTED));
    if (r == NONE) return;
    assessment_decision(k, st, K(ASSESSMENT_DECISION), S(ASSESSMENT_REQUESTED), r);
    if (!refused_since(st, r, S(FINAL_PLAN_ISSUED)))
        emit(k, K(FINAL_PLAN), AUTHORITY, S(ASSESSMENT_REQUESTED), r, deadline_add_weeks(r, 20), S(FINAL_PLAN_ISSUED),
             first_between(st, S(FINAL_PLAN_ISSUED), r, INT64_MAX));
}

static void statutory_assessment_2001(sink_t *k, const stages_t *st) {
    int64_t s = first(st, S(STATUTORY_ASSESSMENT));
    if (s == NONE) return;
    assessment_decision(k, st, K(STATUTORY_ASSESSMENT_DECISION), S(STATUTORY_ASSESSMENT), s);
    if (!refused_since(st, s, S(PROPOSED_STATEMENT_ISSUED)))
        emit(k, K(PROPOSED_STATEMENT), AUTHORITY, S(STATUTORY_ASSESSMENT), s, deadline_add_weeks(s, 18),
             S(PROPOSED_STATEMENT_ISSUED), first_between(st, S(PROPOSED_STATEMENT_ISSUED), s, INT64_MAX));
    if (!refused_since(st, s, S(FINAL_STATEMENT_ISSUED)))
        emit(k, K(FINAL_STATEMENT), AUTHORITY, S(STATUTORY_ASSESSMENT), s, deadline_add_weeks(s, 26),
             S(FINAL_STATEMENT_ISSUED), first_between(st, S(FINAL_STATEMENT_ISSUED), s, INT64_MAX));
}

/* A draft (plan or proposed statement) gives the family 15 days. */
static void response_window(sink_t *k, const stages_t *st, int draft, int final, int kind) {
    int64_t d = first(st, draft);
    if (d == NONE) return;
    emit(k, kind, FAMILY, draft, d, deadline_add_days(d, 15), final, first_between(st, final, d, INT64_MAX));
}

static int by_date(const void *a, const void *b) {
    const deadline_stage_t *x = a, *y = b;
    return x->on < y->on ? -1 : x->on > y->on;
}

static bool is_decision(int stage) {
    return stage == S(ASSESSMENT_REFUSED) || stage == S(FINAL_PLAN_ISSUED) || stage == S(FINAL_STATEMENT_ISSUED);
}

/* sorted holds the stages by date; each appealable decision opens a window
 * that the next decision closes. */
static void appeals(sink_t *k, const stages_t *sorted) {
    for (size_t i = 0; i < sorted->n; i++) {
        const deadline_stage_t *e = &sorted->s[i];
        if (!is_decision(e->stage)) continue;
        if (first(sorted, e->stage) != e->on) continue; /* once-stages count once */
        int64_t until = INT64_MAX;
        for (size_t j = i + 1; j < sorted->n; j++)
            if (is_decision(sorted->s[j].stage) && sorted->s[j].on > e->on) {
                until = sorted->s[j].on;
                break;
            }
        int64_t due = deadline_add_months(e->on, 2);
        int64_t cert = last_between(sorted, S(MEDIATION), e->on, until);
        if (cert != NONE && deadline_add_months(cert, 1) > due) due = deadline_add_months(cert, 1);
        emit(k, K(APPEAL), FAMILY, e->stage, e->on, due, S(TRIBUNAL_APPEAL),
             first_between(sorted, S(TRIBUNAL_APPEAL), e->on, until));
    }
}

/* A final plan or statement, and each review, start 12 months to the next. */
static void annual_reviews(sink_t *k, const stages_t *sorted) {
    for (size_t i = 0; i < sorted->n; i++) {
        const deadline_stage_t *a = &sorted->s[i];
        bool anchor = a->stage == S(ANNUAL_REVIEW) ||
                      ((a->stage == S(FINAL_PLAN_ISSUED) || a->stage == S(FINAL_STATEMENT_ISSUED)) &&
                       first(sorted, a->stage) == a->on);
        if (!anchor) continue;
        /* Two reviews on one day are one review. */
        if (a->stage == S(ANNUAL_REVIEW) && i > 0 && sorted->s[i - 1].stage == S(ANNUAL_REVIEW) &&
            sorted->s[i - 1].on == a->on)
            continue;
        emit(k, K(ANNUAL_REVIEW), AUTHORITY, a->stage, a->on, deadline_add_months(a->on, 12), S(ANNUAL_REVIEW),
             first_between(sorted, S(ANNUAL_REVIEW), a->on + 1, INT64_MAX));
    }
}

static int by_due(const void *a, const void *b) {
    const deadline_t *x = a, *y = b;
    if (x->due_on != y->due_on) return x->due_on < y->due_on ? -1 : 1;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    return x->starts_on < y->starts_on ? -1 : x->starts_on > y->starts_on;
}

size_t deadlines_compute(const deadline_stage_t *stages, size_t n, int64_t today, deadline_t *out, size_t cap) {
    sink_t k = {.out = out, .cap = cap, .today = today};
    stages_t st = {stages, n};
    deadline_stage_t *copy = n ? malloc(n * sizeof *copy) : NULL;
    stages_t sorted = {copy, copy ? n : 0};
    for (size_t i = 0; i < sorted.n; i++) copy[i] = stages[i];
    if (copy) qsort(copy, n, sizeof *copy, by_date);

    ehc_request(&k, &st);
    statutory_assessment_2001(&k, &st);
    response_window(&k, &st, S(DRAFT_PLAN_ISSUED), S(FINAL_PLAN_ISSUED), K(DRAFT_PLAN_RESPONSE));
    response_window(&k, &st, S(PROPOSED_STATEMENT_ISSUED), S(FINAL_STATEMENT_ISSUED), K(PROPOSED_STATEMENT_RESPONSE));
    appeals(&k, &sorted);
    annual_reviews(&k, &sorted);
    free(copy);
    qsort(out, k.n < cap ? k.n : cap, sizeof *out, by_due);
    return k.n;
}

/* Day numbers shifted by KEY_BIAS fit KEY_DAY_BITS bits (years 771 to
 * 12254); kinds and stages fit 5 bits: 54 bits in all. */
#define KEY_BIAS 438000
#define KEY_DAY_BITS 22
#define KEY_KIND_BITS 5

static int64_t key_day(int64_t day) {
    int64_t v = day + KEY_BIAS, max = ((int64_t)1 << KEY_DAY_BITS) - 1;
    return v < 0 ? 0 : v > max ? max : v;
}

static int64_t key_small(int v) { return v < 0 ? 0 : v > 31 ? 31 : v; }

int64_t deadline_key(const deadline_t *d) {
    int64_t k = key_day(d->due_on) << KEY_KIND_BITS | key_small(d->kind);
    k = k << KEY_DAY_BITS | key_day(d->starts_on);
    return k << KEY_KIND_BITS | key_small(d->starts_from);
}

const char *deadline_rule(int kind) {
    switch (kind) {
    case K(ASSESSMENT_DECISION):
        return "6 weeks from the request to decide whether to carry out an EHC needs assessment (SEND Regulations "
               "2014, reg 5)";
    case K(FINAL_PLAN):
        return "20 weeks from the request to issue the final EHC plan (SEND Regulations 2014, reg 13)";
    case K(DRAFT_PLAN_RESPONSE):
        return "15 calendar days from the draft EHC plan for the family to comment and name a school (SEND "
               "Regulations 2014, reg 13)";
    case K(APPEAL):
        return "2 months from the decision to appeal to the First-tier Tribunal, or 1 month from the mediation "
               "certificate if that is later (SEND Regulations 2014, reg 45)";
    case K(ANNUAL_REVIEW):
        return "12 months from the plan or statement, or from the last review, to review it (SEND Regulations 2014, "
               "reg 18)";
    case K(STATUTORY_ASSESSMENT_DECISION):
        return "6 weeks from the request to decide whether to make a statutory assessment (SEN Code of Practice "
               "2001, 8:134)";
    case K(PROPOSED_STATEMENT):
        return "18 weeks from the request to issue a proposed statement or a note in lieu (SEN Code of Practice "
               "2001: 6 weeks to decide, 10 to assess, 2 to draft)";
    case K(PROPOSED_STATEMENT_RESPONSE):
        return "15 days from the proposed statement for the family to make representations and state a preference "
               "(Education Act 1996, Sch 27)";
    case K(FINAL_STATEMENT):
        return "26 weeks from the request to issue the final statement (SEN Code of Practice 2001, 8:134)";
    default: return "";
    }
}
