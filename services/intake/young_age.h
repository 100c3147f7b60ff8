/* young_age — who may be a client as a young person in their own right:
 * aged 16 to 25 (SEND Code of Practice 2015, 8.1: the Children and
 * Families Act 2014 gives a young person over compulsory school age, up to
 * 25, rights of their own), on the calendar date in Europe/London.
 *
 * Ages are whole years as English law counts them (Family Law Reform Act
 * 1969, s.9): a year older at the start of the birthday; someone born on
 * 29 February turns a year older on 1 March in a year with no 29 February.
 * Pure functions on day numbers (days since 1970-01-01) and Unix seconds;
 * no state, no allocation. */
#ifndef PARLEY_INTAKE_YOUNG_AGE_H
#define PARLEY_INTAKE_YOUNG_AGE_H

#include <stdbool.h>
#include <stdint.h>

#define YOUNG_AGE_MIN 16
#define YOUNG_AGE_MAX 25

/* Whole years of age on day `on` of someone born on day `born`; -1 when
 * `on` is before `born`. */
int young_age_years(int64_t born, int64_t on);

/* The calendar day in Europe/London at Unix time `unix_seconds`: GMT, or
 * BST (UTC+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC on
 * the last Sunday of October. */
int64_t young_age_london_day(int64_t unix_seconds);

/* Whether someone born on day `born` is 16 to 25 on day `on`. */
bool young_age_in_range(int64_t born, int64_t on);

/* Today's day number in Europe/London. */
int64_t young_age_london_today(void);

#endif
