/* ics: a family's communication needs for a meeting, from intake.
 *
 * Creating an appointment for a case asks intake, over the bus with the
 * caller's own principal (a delegation the broker admits only while this
 * request is in flight), for the case (GetCase) and then the family's
 * parents (GetFamily) or, for a young person's own case, the young person
 * (GetYoungPerson), and maps intake's vocabulary onto the appointment's
 * AccessNeeds: interpreter -> interpreterLanguage (the person's preferred
 * language; a second language goes to notes), bsl -> bsl, large_print,
 * easy_read, braille and audio -> notes (the papers). stepFree is not in
 * intake's vocabulary: only the request gives it. */
#ifndef PARLEY_SCHEDULING_NEEDS_H
#define PARLEY_SCHEDULING_NEEDS_H

#include "bus/bus.h"
#include "parley/scheduling/v1/scheduling.pb-c.h"

/* Reads PARLEY_SCHEDULING_INTAKE_TIMEOUT_MS, once before any thread. */
void needs_configure(void);

/* 0 with *out (in res's arena) for case_id of authority_id, or -1 with
 * res set: 400 naming caseId when intake has no such case for the caller
 * (or it is another authority's than authority_id), 503 when intake cannot
 * be asked. Makes no database call. */
int needs_from_intake(bus_client_t *bus, const bus_request_t *req, bus_response_t *res, const char *case_id,
                      const char *authority_id, Parley__Scheduling__V1__AccessNeeds **out);

#endif
