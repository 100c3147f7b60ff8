/* Scheduling's events (docs/events.md, "What notify consumes"), through the
 * shared flow of events_send.h:
 *   appointment.booked       -> "appointment_invitation", with the
 *                               invitation (METHOD:REQUEST) attached;
 *   appointment.rescheduled  -> "appointment_rescheduled", REQUEST with the
 *                               raised SEQUENCE;
 *   appointment.cancelled    -> "appointment_cancelled", METHOD:CANCEL;
 *   appointment.reminder_due -> "appointment_reminder" (no calendar part);
 *   session.booking_promoted -> "session_place_offered", to the booking's
 *                               email;
 *   session.cancelled        -> "session_cancelled", to every booking's.
 * An appointment's people: the case's parents (or the young person whose
 * own case it is) from intake, each supporter participant (matching's
 * email for their calendar's owner), and each participant with an email
 * of their own. The iCalendar is scheduling's (GetAppointmentICalendar),
 * so its UID, SEQUENCE and VTIMEZONE are the ones its .ics gives; an event
 * overtaken by a later change of the appointment (its sequence below the
 * appointment's now, or a booking since cancelled) sends nothing, as the
 * later event sends the appointment as it is. */
#include <string.h>

#include "core/log.h"
#include "parley/scheduling/v1/scheduling.pb-c.h"
#include "services/notify/event_time.h"
#include "services/notify/events_send.h"
#include "svc/svc.h"

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x
#define SK(x) PARLEY__SCHEDULING__V1__##x
#define APPOINTMENTS "appointments"
#define SESSIONS "sessions"

typedef Parley__Scheduling__V1__Appointment appointment_t;

bool events_scheduling_type(const char *type) {
    static const char *const types[] = {"appointment.booked", "appointment.rescheduled", "appointment.cancelled",
                                        "appointment.reminder_due", "session.booking_promoted",
                                        "session.cancelled"};
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0) return true;
    return false;
}

static const char *kind_words(int kind) {
    switch (kind) {
    case SK(APPOINTMENT_KIND__APPOINTMENT_KIND_ONE_TO_ONE): return "one-to-one meeting";
    case SK(APPOINTMENT_KIND__APPOINTMENT_KIND_SCHOOL_MEETING): return "school meeting";
    case SK(APPOINTMENT_KIND__APPOINTMENT_KIND_AUTHORITY_MEETING): return "authority meeting";
    case SK(APPOINTMENT_KIND__APPOINTMENT_KIND_ANNUAL_REVIEW): return "annual review";
    case SK(APPOINTMENT_KIND__APPOINTMENT_KIND_TRIBUNAL_HEARING): return "tribunal hearing";
    default: return "meeting";
    }
}

/* Where: the address, "Telephone: …" or "Video: …". */
static const char *where(arena_t *a, const Parley__Scheduling__V1__Location *l) {
    if (l == NULL) return "";
    switch (l->kind) {
    case SK(LOCATION_KIND__LOCATION_KIND_PHONE): return arena_printf(a, "Telephone: %s", l->phone ? l->phone : "");
    case SK(LOCATION_KIND__LOCATION_KIND_VIDEO): return arena_printf(a, "Video: %s", l->link ? l->link : "");
    default: return l->address ? l->address : "";
    }
}

/* ((title)), ((start)), ((end)), ((zone)), ((location)) of a meeting. */
static void when_where(arena_t *a, events_message_t *m, const char *title, const Google__Protobuf__Timestamp *start,
                       const Google__Protobuf__Timestamp *end, const char *zone,
                       const Parley__Scheduling__V1__Location *loc) {
    events_send_value(m, "title", title && *title ? title : "");
    events_send_value(m, "start", start ? event_time_local(a, start->seconds, zone) : NULL);
    events_send_value(m, "end", end ? event_time_local(a, end->seconds, zone) : NULL);
    events_send_value(m, "zone", zone);
    events_send_value(m, "location", where(a, loc));
}

static int get_appointment(events_call_t *c, const char *id, appointment_t **x) {
    Parley__Scheduling__V1__GetAppointmentRequest in = PARLEY__SCHEDULING__V1__GET_APPOINTMENT_REQUEST__INIT;
    in.id = (char *)id;
    return events_send_call(c, "scheduling", "GetAppointment", &in.base,
                            &parley__scheduling__v1__appointment__descriptor, (ProtobufCMessage **)x);
}

/* The appointment's people onto m: CODE_OK or CODE_UNAVAILABLE. */
static int appointment_people(events_call_t *c, const appointment_t *x, events_message_t *m) {
    int code = events_send_case_people(c, x->case_id, m);
    if (code != CODE(OK)) return code;
    for (size_t i = 0; i < x->n_participants; i++) {
        const Parley__Scheduling__V1__Participant *p = x->participants[i];
        if (svc_opt(p->email)) {
            events_person_t who = {p->email, p->name ? p->name : "", "", NULL, 0, NULL, NULL, NULL};
            events_send_person(m, &who);
        } else if (p->kind == SK(PARTICIPANT_KIND__PARTICIPANT_KIND_SUPPORTER) && svc_opt(p->calendar_owner_id)) {
            events_person_t who;
            int found = events_send_supporter(c, p->calendar_owner_id, &who);
            if (found < 0) return CODE(UNAVAILABLE);
            if (found) events_send_person(m, &who);
        }
    }
    return CODE(OK);
}

static int appointment_event(events_call_t *c, const Parley__Events__V1__Event *ev, json_t *d, events_plan_t *plan) {
    arena_t *a = c->a;
    const char *id = events_send_id(a, d, "appointmentId");
    appointment_t *x = NULL;
    int code = id ? get_appointment(c, id, &x) : CODE(NOT_FOUND);
    if (code == CODE(NOT_FOUND)) {
        log_warn(ev->id, "%s: no appointment %s to tell anyone of", ev->type, id ? id : "(none)");
        return CODE(OK);
    }
    if (code != CODE(OK)) return CODE(UNAVAILABLE);
    bool cancelled = x->status == SK(APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED);
    bool reminder = strcmp(ev->type, "appointment.reminder_due") == 0;
    bool cancel = strcmp(ev->type, "appointment.cancelled") == 0;
    const char *template_ = reminder ? "appointment_reminder"
                            : cancel ? "appointment_cancelled"
                            : strcmp(ev->type, "appointment.booked") == 0 ? "appointment_invitation"
                                                                          : "appointment_rescheduled";
    Parley__Scheduling__V1__AppointmentICalendar *cal = NULL;
    if (reminder && cancelled) return CODE(OK); /* nothing left to remind of */
    if (!reminder) {
        json_t *seq = json_object_get(d, "sequence");
        Parley__Scheduling__V1__GetAppointmentICalendarRequest in =
            PARLEY__SCHEDULING__V1__GET_APPOINTMENT_ICALENDAR_REQUEST__INIT;
        in.id = (char *)id;
        code = events_send_call(c, "scheduling", "GetAppointmentICalendar", &in.base,
                                &parley__scheduling__v1__appointment_icalendar__descriptor,
                                (ProtobufCMessage **)&cal);
        if (code == CODE(NOT_FOUND)) return CODE(OK);
        if (code != CODE(OK)) return CODE(UNAVAILABLE);
        bool overtaken = !json_is_integer(seq) || json_integer_value(seq) < cal->sequence || cancelled != cancel;
        if (overtaken || cal->ics == NULL || cal->method == NULL) {
            log_info(ev->id, "%s: appointment %s changed since (sequence %d); the later event tells", ev->type, id,
                     cal->sequence);
            return CODE(OK);
        }
    }
    events_message_t *m = events_send_message(plan, template_, APPOINTMENTS, false);
    plan->case_id = svc_opt(x->case_id);
    events_send_value(m, "kind", kind_words((int)x->kind));
    when_where(a, m, x->title, x->start, x->end, x->zone, x->location);
    if (cancel) events_send_value(m, "reason", x->cancel_reason ? x->cancel_reason : "");
    if (reminder) {
        json_t *before = json_object_get(d, "minutesBefore");
        long long minutes = json_is_integer(before) ? (long long)json_integer_value(before) : 0LL;
        events_send_value(m, "minutesBefore", arena_printf(a, "%lld", minutes));
    }
    if (cal) {
        m->ics = cal->ics;
        m->method = cal->method;
    }
    return appointment_people(c, x, m);
}

static int get_session(events_call_t *c, const char *id, Parley__Scheduling__V1__Session **s) {
    Parley__Scheduling__V1__GetSessionRequest in = PARLEY__SCHEDULING__V1__GET_SESSION_REQUEST__INIT;
    in.id = (char *)id;
    return events_send_call(c, "scheduling", "GetSession", &in.base, &parley__scheduling__v1__session__descriptor,
                            (ProtobufCMessage **)s);
}

/* A booking's person, in the session's language. */
static events_person_t booker(const Parley__Scheduling__V1__Booking *b, const Parley__Scheduling__V1__Session *s) {
    return (events_person_t){b->email, b->name ? b->name : "", "", svc_opt(s->language), 0, svc_opt(b->case_id),
                             NULL, NULL};
}

static int promoted_event(events_call_t *c, const Parley__Events__V1__Event *ev, json_t *d, events_plan_t *plan) {
    arena_t *a = c->a;
    const char *session_id = events_send_id(a, d, "sessionId"), *booking_id = events_send_id(a, d, "bookingId");
    Parley__Scheduling__V1__Session *s = NULL;
    Parley__Scheduling__V1__Booking *b = NULL;
    Parley__Scheduling__V1__GetBookingRequest in = PARLEY__SCHEDULING__V1__GET_BOOKING_REQUEST__INIT;
    in.id = (char *)booking_id;
    int code = session_id && booking_id ? get_session(c, session_id, &s) : CODE(NOT_FOUND);
    if (code == CODE(OK))
        code = events_send_call(c, "scheduling", "GetBooking", &in.base, &parley__scheduling__v1__booking__descriptor,
                                (ProtobufCMessage **)&b);
    if (code == CODE(NOT_FOUND)) {
        log_warn(ev->id, "%s: no session or booking to tell", ev->type);
        return CODE(OK);
    }
    if (code != CODE(OK)) return CODE(UNAVAILABLE);
    /* Cancelled since, by its booker or with the session: nothing to offer. */
    if (b->status != SK(BOOKING_STATUS__BOOKING_STATUS_CONFIRMED) ||
        s->status != SK(SESSION_STATUS__SESSION_STATUS_SCHEDULED))
        return CODE(OK);
    events_message_t *m = events_send_message(plan, "session_place_offered", SESSIONS, false);
    when_where(a, m, s->title, s->start, s->end, s->zone, s->location);
    events_person_t who = booker(b, s);
    events_send_person(m, &who);
    return CODE(OK);
}

static int session_cancelled_event(events_call_t *c, const Parley__Events__V1__Event *ev, json_t *d,
                                   events_plan_t *plan) {
    arena_t *a = c->a;
    const char *session_id = events_send_id(a, d, "sessionId");
    Parley__Scheduling__V1__Session *s = NULL;
    int code = session_id ? get_session(c, session_id, &s) : CODE(NOT_FOUND);
    Parley__Scheduling__V1__ListSessionBookingsResponse *list = NULL;
    Parley__Scheduling__V1__ListSessionBookingsRequest in = PARLEY__SCHEDULING__V1__LIST_SESSION_BOOKINGS_REQUEST__INIT;
    in.id = (char *)session_id;
    if (code == CODE(OK))
        code = events_send_call(c, "scheduling", "ListSessionBookings", &in.base,
                                &parley__scheduling__v1__list_session_bookings_response__descriptor,
                                (ProtobufCMessage **)&list);
    if (code == CODE(NOT_FOUND)) {
        log_warn(ev->id, "%s: no session %s to tell of", ev->type, session_id ? session_id : "(none)");
        return CODE(OK);
    }
    if (code != CODE(OK)) return CODE(UNAVAILABLE);
    /* One message for every booking, each notification on its booking's case. */
    events_message_t *m = events_send_message(plan, "session_cancelled", SESSIONS, false);
    when_where(a, m, s->title, s->start, s->end, s->zone, s->location);
    events_send_value(m, "reason", s->cancel_reason ? s->cancel_reason : "");
    for (size_t i = 0; i < list->n_items; i++) {
        events_person_t who = booker(list->items[i], s);
        events_send_person(m, &who);
    }
    if (m->n_people == EVENTS_SEND_MAX_PEOPLE && list->n_items > m->n_people)
        log_warn(ev->id, "%s: %zu bookings, the first %d told", ev->type, list->n_items, EVENTS_SEND_MAX_PEOPLE);
    return CODE(OK);
}

static int gather(events_call_t *c, const Parley__Events__V1__Event *ev, json_t *d, events_plan_t *plan) {
    if (strncmp(ev->type, "appointment.", 12) == 0) return appointment_event(c, ev, d, plan);
    if (strcmp(ev->type, "session.booking_promoted") == 0) return promoted_event(c, ev, d, plan);
    return session_cancelled_event(c, ev, d, plan);
}

int events_scheduling(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev) {
    /* Each type's own template: an authority without it sends nothing for it. */
    static const char *const types[][2] = {
        {"appointment.booked", "appointment_invitation"},   {"appointment.rescheduled", "appointment_rescheduled"},
        {"appointment.cancelled", "appointment_cancelled"}, {"appointment.reminder_due", "appointment_reminder"},
        {"session.booking_promoted", "session_place_offered"}, {"session.cancelled", "session_cancelled"}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(ev->type, types[i][0]) == 0) return events_send_run(t, req, res, ev, &types[i][1], 1, gather);
    return 0;
}
