/* deadlines — the statutory deadlines of the SEN process, computed from the
 * stages a case has recorded. Pure: no database, no clock (today is given),
 * so the timeline is computed afresh on every read and never goes stale.
 *
 * Dates are day numbers since 1970-01-01 (as svc_parse_date gives them).
 * Stages, kinds, statuses and parties are the proto enums' values
 * (Parley__Intake__V1__SenStage, __DeadlineKind, __DeadlineStatus,
 * __DeadlineParty).
 *
 * Calendar rules (UK):
 * - N days are calendar days (day + N); N weeks are 7N calendar days.
 * - N months follow the "corresponding date" rule of Dodds v Walker [1981]
 *   1 WLR 1027 (HL), read with the Interpretation Act 1978 ("month" means
 *   calendar month): the period ends on the same day of the month N months
 *   on; when that month is too short to have that day, on its last day.
 *   So 31 January + 1 month = 28 February (29 in a leap year), and
 *   29 February 2024 + 12 months = 28 February 2025.
 *
 * The rules (each deadline's `rule` text says it in words):
 * - assessment_requested R: the decision whether to assess, R + 6 weeks
 *   (met by assessment_agreed or assessment_refused); the final EHC plan,
 *   R + 20 weeks (met by final_plan_issued; dropped when the assessment was
 *   refused and nothing since agreed it or issued a plan).
 * - draft_plan_issued D: the family's 15 days to respond, D + 15 days (met
 *   by final_plan_issued: the consultation is over).
 * - a decision the family may appeal (assessment_refused, final_plan_issued,
 *   final_statement_issued) on E: 2 months, or 1 month from a mediation
 *   certificate (a mediation stage on or after E, before the next decision)
 *   if that is later (met by tribunal_appeal in the same window).
 * - final_plan_issued, final_statement_issued or annual_review on A: the
 *   next annual review, A + 12 months (met by an annual_review after A).
 * - 2001 code, statutory_assessment S: the decision whether to assess,
 *   S + 6 weeks; the proposed statement or note in lieu, S + 18 weeks
 *   (6 to decide, 10 to assess, 2 to draft); the final statement, S + 26
 *   weeks (met by proposed_statement_issued / final_statement_issued).
 * - proposed_statement_issued P: the family's 15 days to respond, P + 15
 *   days (met by final_statement_issued).
 * A stage that happens once is taken at its earliest date if recorded twice.
 * Status: met when the stage that ends it is recorded, else overdue when
 * due_on is before today, else upcoming.
 */
#ifndef PARLEY_INTAKE_DEADLINES_H
#define PARLEY_INTAKE_DEADLINES_H

#include <stddef.h>
#include <stdint.h>

#define DEADLINES_NO_DATE INT64_MIN

typedef struct {
    int stage;  /* SenStage */
    int64_t on; /* day number */
} deadline_stage_t;

typedef struct {
    int kind;        /* DeadlineKind */
    int starts_from; /* SenStage */
    int64_t starts_on;
    int64_t due_on;
    int status;     /* DeadlineStatus */
    int64_t met_on; /* DEADLINES_NO_DATE unless met */
    int met_by;     /* SenStage, 0 unless met */
    int party;      /* DeadlineParty */
} deadline_t;

/* Calendar arithmetic on day numbers (see the rules above). */
int64_t deadline_add_days(int64_t day, int days);
int64_t deadline_add_weeks(int64_t day, int weeks);
int64_t deadline_add_months(int64_t day, int months);

/* Day number <-> proleptic Gregorian date. */
int64_t deadline_day(int year, int month, int mday);
void deadline_civil(int64_t day, int *year, int *month, int *mday);
/* day as YYYY-MM-DD into out (11 bytes with the NUL); returns out. */
char *deadline_format(int64_t day, char out[11]);

/* Computes the deadlines the n stages (any order) start, as of today, into
 * out (at most cap), ordered by due date then kind. Returns how many there
 * are (which may exceed cap: then only cap were written). */
size_t deadlines_compute(const deadline_stage_t *stages, size_t n, int64_t today, deadline_t *out, size_t cap);

/* A deadline's place in a list across cases, as one number: by due date,
 * then kind, then start date, then the stage it starts from (a case's id
 * breaks the remaining ties). Dates from 771 to 12254 AD keep their order
 * (others are clamped), as do kinds and stages up to 31. */
int64_t deadline_key(const deadline_t *d);

/* The rule of a kind in words, e.g. "6 weeks from the request for an EHC
 * needs assessment". Static storage; "" for an unknown kind. */
const char *deadline_rule(int kind);

#endif
