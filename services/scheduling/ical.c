/* ical — appointments as iCalendar text through libical; see ical.h. */
#include "services/scheduling/ical.h"

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/scheduling/tz.h"

#define YEAR_SECONDS (366 * 86400)
#define MAX_OBSERVANCES 16

void ical_init(void) { (void)icaltimezone_get_utc_timezone(); }

/* Wall-clock time t + offset as a floating icaltimetype. */
static struct icaltimetype wall(int64_t t, int32_t offset) {
    int64_t local = t + offset;
    int64_t days = tz_floor_days(local), secs = local - days * 86400;
    struct icaltimetype tt = icaltime_null_time();
    tz_civil_from_days(days, &tt.year, &tt.month, &tt.day);
    tt.hour = (int)(secs / 3600);
    tt.minute = (int)(secs / 60 % 60);
    tt.second = (int)(secs % 60);
    return tt;
}

static struct icaltimetype utc(int64_t t) {
    struct icaltimetype tt = wall(t, 0);
    tt.zone = icaltimezone_get_utc_timezone();
    return tt;
}

static icalcomponent *observance(bool dst, int64_t at, int32_t from, int32_t to) {
    icalcomponent *c = dst ? icalcomponent_new_xdaylight() : icalcomponent_new_xstandard();
    icalcomponent_add_property(c, icalproperty_new_dtstart(wall(at, from)));
    icalcomponent_add_property(c, icalproperty_new_tzoffsetfrom(from));
    icalcomponent_add_property(c, icalproperty_new_tzoffsetto(to));
    return c;
}

/* The zone's changes within a year either side of [start, end], each found
 * by a daily scan and then to the second (this covers a tzfile's
 * transitions and its footer's rule alike). */
static icalcomponent *vtimezone(const tz_t *z, const char *name, int64_t start, int64_t end) {
    icalcomponent *vtz = icalcomponent_new_vtimezone();
    icalcomponent_add_property(vtz, icalproperty_new_tzid(name));
    int n = 0;
    int32_t prev = tz_offset_at(z, start - YEAR_SECONDS);
    for (int64_t t = start - YEAR_SECONDS + 86400; t <= end + YEAR_SECONDS && n < MAX_OBSERVANCES; t += 86400) {
        int32_t now = tz_offset_at(z, t);
        if (now == prev) continue;
        int64_t lo = t - 86400, hi = t; /* offset(lo) == prev, offset(hi) == now */
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (tz_offset_at(z, mid) == prev) lo = mid;
            else hi = mid;
        }
        icalcomponent_add_component(vtz, observance(now > prev, hi, prev, now));
        n++;
        prev = now;
    }
    if (n == 0) {
        int32_t o = tz_offset_at(z, start);
        icalcomponent_add_component(vtz, observance(false, 0, o, o));
    }
    return vtz;
}

static icalparameter_role role_of(int role) {
    switch (role) {
    case PARLEY__SCHEDULING__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_CHAIR: return ICAL_ROLE_CHAIR;
    case PARLEY__SCHEDULING__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_OPTIONAL: return ICAL_ROLE_OPTPARTICIPANT;
    case PARLEY__SCHEDULING__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_NON_PARTICIPANT: return ICAL_ROLE_NONPARTICIPANT;
    default: return ICAL_ROLE_REQPARTICIPANT;
    }
}

static const char *where(arena_t *a, const Parley__Scheduling__V1__Location *l) {
    if (l == NULL) return NULL;
    switch (l->kind) {
    case PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_PHONE: return arena_printf(a, "Telephone: %s", l->phone);
    case PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_VIDEO: return arena_printf(a, "Video: %s", l->link);
    default: return l->address;
    }
}

/* What the family needs to take part, for everyone who must arrange it. */
static const char *needs(arena_t *a, const Parley__Scheduling__V1__AccessNeeds *n) {
    if (n == NULL) return NULL;
    const char *s = "";
    if (n->interpreter_language && *n->interpreter_language)
        s = arena_printf(a, "%san interpreter (%s); ", s, n->interpreter_language);
    if (n->bsl) s = arena_printf(a, "%sa BSL interpreter; ", s);
    if (n->step_free) s = arena_printf(a, "%sstep-free access; ", s);
    if (n->notes && *n->notes) s = arena_printf(a, "%s%s; ", s, n->notes);
    return s && *s ? arena_printf(a, "To take part the family needs: %.*s.", (int)strlen(s) - 2, s) : NULL;
}

char *ical_appointment(arena_t *a, const Parley__Scheduling__V1__Appointment *x, const char *organizer) {
    const tz_t *z = tz_get(x->zone);
    if (z == NULL || x->start == NULL || x->end == NULL) return NULL;
    bool cancelled = x->status == PARLEY__SCHEDULING__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED;
    int64_t start = x->start->seconds, end = x->end->seconds;
    icalcomponent *cal = icalcomponent_new_vcalendar();
    icalcomponent_add_property(cal, icalproperty_new_prodid("-//Parley//Scheduling//EN"));
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal, icalproperty_new_method(cancelled ? ICAL_METHOD_CANCEL : ICAL_METHOD_REQUEST));
    icalcomponent_add_component(cal, vtimezone(z, x->zone, start, end));

    icalcomponent *ev = icalcomponent_new_vevent();
    icalcomponent_add_property(ev, icalproperty_new_uid(arena_printf(a, "%s@parley", x->id)));
    icalcomponent_add_property(ev, icalproperty_new_sequence(x->sequence));
    icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc(x->updated_at ? x->updated_at->seconds : start)));
    icalproperty *p = icalproperty_new_dtstart(wall(start, tz_offset_at(z, start)));
    icalproperty_add_parameter(p, icalparameter_new_tzid(x->zone));
    icalcomponent_add_property(ev, p);
    p = icalproperty_new_dtend(wall(end, tz_offset_at(z, end)));
    icalproperty_add_parameter(p, icalparameter_new_tzid(x->zone));
    icalcomponent_add_property(ev, p);
    icalcomponent_add_property(ev, icalproperty_new_summary(x->title && *x->title ? x->title : "Meeting"));
    const char *loc = where(a, x->location), *need = needs(a, x->access_needs);
    if (loc && *loc) icalcomponent_add_property(ev, icalproperty_new_location(loc));
    if (need) icalcomponent_add_property(ev, icalproperty_new_description(need));
    icalcomponent_add_property(ev, icalproperty_new_status(cancelled ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
    icalcomponent_add_property(ev, icalproperty_new_organizer(organizer));
    for (size_t i = 0; i < x->n_participants; i++) {
        const Parley__Scheduling__V1__Participant *pt = x->participants[i];
        /* events: a participant reached by email is that address, so the
         * mail client that gets notify's invitation finds them on it. */
        const char *who = pt->email && *pt->email ? arena_printf(a, "mailto:%s", pt->email)
                          : pt->calendar_owner_id && *pt->calendar_owner_id
                              ? arena_printf(a, "urn:uuid:%s", pt->calendar_owner_id)
                              : arena_printf(a, "urn:x-parley:%s:participant:%zu", x->id, i);
        p = icalproperty_new_attendee(who);
        if (pt->name && *pt->name) icalproperty_add_parameter(p, icalparameter_new_cn(pt->name));
        icalproperty_add_parameter(p, icalparameter_new_role(role_of((int)pt->role)));
        if (pt->kind == PARLEY__SCHEDULING__V1__PARTICIPANT_KIND__PARTICIPANT_KIND_ROOM)
            icalproperty_add_parameter(p, icalparameter_new_cutype(ICAL_CUTYPE_ROOM));
        icalcomponent_add_property(ev, p);
    }
    icalcomponent_add_component(cal, ev);
    char *text = icalcomponent_as_ical_string_r(cal);
    char *out = text ? arena_strdup(a, text) : NULL;
    free(text);
    icalcomponent_free(cal);
    return out;
}

/* ics: a calendar's feed (ical.h). */
char *ical_feed(arena_t *a, const ical_feed_event_t *events, size_t n) {
    icalcomponent *cal = icalcomponent_new_vcalendar();
    icalcomponent_add_property(cal, icalproperty_new_prodid("-//Parley//Scheduling feed//EN"));
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
    /* One VTIMEZONE per zone, covering every event in it. */
    const char *names[ICAL_FEED_MAX_ZONES];
    const tz_t *zones[ICAL_FEED_MAX_ZONES];
    int64_t lo[ICAL_FEED_MAX_ZONES], hi[ICAL_FEED_MAX_ZONES];
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) {
        const tz_t *z = events[i].zone ? tz_get(events[i].zone) : NULL;
        if (z == NULL) continue;
        size_t k = 0;
        while (k < nz && strcmp(names[k], events[i].zone) != 0) k++;
        if (k == nz) {
            if (nz == ICAL_FEED_MAX_ZONES) continue;
            names[nz] = events[i].zone, zones[nz] = z, lo[nz] = events[i].start, hi[nz] = events[i].end;
            nz++;
        }
        if (events[i].start < lo[k]) lo[k] = events[i].start;
        if (events[i].end > hi[k]) hi[k] = events[i].end;
    }
    for (size_t k = 0; k < nz; k++) icalcomponent_add_component(cal, vtimezone(zones[k], names[k], lo[k], hi[k]));
    for (size_t i = 0; i < n; i++) {
        const ical_feed_event_t *e = &events[i];
        const tz_t *z = NULL;
        for (size_t k = 0; k < nz && z == NULL; k++)
            if (e->zone && strcmp(names[k], e->zone) == 0) z = zones[k];
        icalcomponent *ev = icalcomponent_new_vevent();
        icalcomponent_add_property(ev, icalproperty_new_uid(arena_printf(a, "%s@parley", e->id)));
        icalcomponent_add_property(ev, icalproperty_new_sequence(e->sequence));
        icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc(e->stamp)));
        icalproperty *p;
        if (z != NULL) {
            p = icalproperty_new_dtstart(wall(e->start, tz_offset_at(z, e->start)));
            icalproperty_add_parameter(p, icalparameter_new_tzid(e->zone));
            icalcomponent_add_property(ev, p);
            p = icalproperty_new_dtend(wall(e->end, tz_offset_at(z, e->end)));
            icalproperty_add_parameter(p, icalparameter_new_tzid(e->zone));
            icalcomponent_add_property(ev, p);
        } else {
            icalcomponent_add_property(ev, icalproperty_new_dtstart(utc(e->start)));
            icalcomponent_add_property(ev, icalproperty_new_dtend(utc(e->end)));
        }
        icalcomponent_add_property(ev, icalproperty_new_summary(e->summary && *e->summary ? e->summary : "Meeting"));
        if (e->location && *e->location) icalcomponent_add_property(ev, icalproperty_new_location(e->location));
        icalcomponent_add_property(ev, icalproperty_new_status(e->cancelled ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
        icalcomponent_add_property(ev, icalproperty_new_transp(e->cancelled ? ICAL_TRANSP_TRANSPARENT : ICAL_TRANSP_OPAQUE));
        icalcomponent_add_component(cal, ev);
    }
    char *text = icalcomponent_as_ical_string_r(cal);
    char *out = text ? arena_strdup(a, text) : NULL;
    free(text);
    icalcomponent_free(cal);
    return out;
}
