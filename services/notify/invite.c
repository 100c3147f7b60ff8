/* An invitation addressed to its recipient when sent (contract in invite.h). */
#include "services/notify/invite.h"

#include <libical/ical.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An address libical may write as a mailto: URI unquoted and unfolded wrongly
 * by nobody: printable, no spaces, quotes, commas, semicolons or colons
 * beyond the one '@' part. */
static bool plain_address(const char *s) {
    size_t n = strlen(s);
    if (n < 3 || n > 254 || strchr(s, '@') == NULL) return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("\"',;:<>\\", *p)) return false;
    return true;
}

const char *invite_addressed(arena_t *a, const char *ics, const char *person_id, const char *email, const char *name) {
    if (ics == NULL || person_id == NULL || email == NULL || !plain_address(email)) return NULL;
    icalcomponent *cal = icalparser_parse_string(ics);
    if (cal == NULL) return NULL;
    const char *out = NULL;
    icalcomponent *ev = icalcomponent_isa(cal) == ICAL_VCALENDAR_COMPONENT
                            ? icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT)
                            : NULL;
    if (ev != NULL) {
        char *urn = arena_printf(a, "urn:uuid:%s", person_id), *mailto = arena_printf(a, "mailto:%s", email);
        bool found = false;
        for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY); p && urn && mailto;
             p = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY)) {
            const char *v = icalproperty_get_attendee(p);
            if (v != NULL && strcasecmp(v, urn) == 0) {
                icalproperty_set_attendee(p, mailto);
                found = true;
            }
        }
        if (!found && urn && mailto) {
            icalproperty *p = icalproperty_new_attendee(mailto);
            if (name && *name) icalproperty_add_parameter(p, icalparameter_new_cn(name));
            icalproperty_add_parameter(p, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
            icalcomponent_add_property(ev, p);
        }
        char *text = icalcomponent_as_ical_string_r(cal);
        if (text != NULL) out = arena_strdup(a, text);
        free(text);
    }
    icalcomponent_free(cal);
    return out;
}
