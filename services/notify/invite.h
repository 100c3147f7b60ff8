#ifndef PARLEY_NOTIFY_INVITE_H
#define PARLEY_NOTIFY_INVITE_H
/* The invitation a person gets, addressed to them when it is sent.
 *
 * Scheduling writes an appointment's iCalendar without anyone's email
 * address (it keeps none for parents and supporters: a supporter is
 * ATTENDEE urn:uuid:<their calendar's owner id>, others by a URN of the
 * appointment). Notify learns the recipient's address only when it sends
 * (contacts), so that is when the invitation is made theirs: the ATTENDEE
 * whose value is urn:uuid:<person_id> becomes mailto:<email>, or, when
 * none is, an ATTENDEE for them is added (CN their name, ROLE
 * REQ-PARTICIPANT), so a calendar client finds its user on the invitation
 * (and not a forwarded meeting). Nothing is stored: the text sent is made
 * for each try from the one stored.
 *
 * Reentrant (libical's parser and writer on the caller's objects only);
 * the result is in the arena. */
#include "core/arena.h"

/* ics with person_id's ATTENDEE addressed to email (name for CN when one
 * is added; may be NULL); NULL when ics is not one VCALENDAR with a
 * VEVENT, or email is not a plain address (no CR, LF, quote or
 * comma). */
const char *invite_addressed(arena_t *a, const char *ics, const char *person_id, const char *email, const char *name);

#endif
