/* ical — an appointment as an iCalendar object (RFC 5545) carrying its
 * iTIP method (RFC 5546): METHOD:REQUEST while it is booked, METHOD:CANCEL
 * once cancelled; a stable UID (the appointment's id), SEQUENCE (raised by
 * each reschedule and by the cancel), a VTIMEZONE for the zone it was
 * booked in (its changes around the meeting, from tz.h), DTSTART/DTEND in
 * local time with TZID, and an ATTENDEE per participant with its ROLE.
 *
 * Written with libical's component API, which builds and prints objects
 * the caller owns (thread-safe); libical's own time zone tables are not
 * used (tz.h says why). ical_init must run once before any thread does. */
#ifndef PARLEY_SCHEDULING_ICAL_H
#define PARLEY_SCHEDULING_ICAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "parley/scheduling/v1/scheduling.pb-c.h"

/* Sets up what libical shares process-wide (its UTC zone), before threads. */
void ical_init(void);

/* The text of appointment x (CRLF lines) in arena a, with organizer (a
 * mailto: URI) as ORGANIZER; NULL when it cannot be written (an unknown
 * zone, out of memory). */
char *ical_appointment(arena_t *a, const Parley__Scheduling__V1__Appointment *x, const char *organizer);

/* ics: one event of a calendar's feed. Only what a URL may carry: times,
 * what it is, where (an address; "Telephone" or "Video call" without the
 * number or link), never a participant or an access need. */
typedef struct {
    const char *id;       /* the appointment's: UID <id>@parley */
    const char *summary;  /* its title, or its kind in words; "Busy" for another authority's */
    const char *location; /* NULL for none */
    const char *zone;     /* IANA; NULL or unknown: the times in UTC */
    int64_t start, end, stamp; /* seconds since the epoch */
    int sequence;
    bool cancelled;
} ical_feed_event_t;

#define ICAL_FEED_MAX_ZONES 8

/* The feed's text (CRLF lines) in a: a VCALENDAR without METHOD (a
 * published calendar, not an invitation) with a VTIMEZONE for each zone
 * its events use (at most ICAL_FEED_MAX_ZONES; later ones in UTC) and one
 * VEVENT each; NULL when out of memory. */
char *ical_feed(arena_t *a, const ical_feed_event_t *events, size_t n);

#endif
