/* Appointments: a meeting for a case, booked on the calendar of every
 * participant who has one in Parley. A calendar's active bookings never
 * overlap (calendar_bookings' exclusion constraint), so of concurrent
 * bookings of one slot exactly one commits and the others answer 409
 * calendar_clash naming the participant. A reschedule keeps the id, raises
 * the iCalendar SEQUENCE and is kept in the history, as is a cancel. */
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "db/outbox.h"
#include "core/config.h"
#include "services/scheduling/ical.h"
#include "services/scheduling/needs.h"
#include "services/scheduling/reminders.h"
#include "services/scheduling/scheduling.h"
#include "services/scheduling/slots.h"
#include "services/scheduling/tz.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Scheduling__V1__Appointment appointment_t;
typedef Parley__Scheduling__V1__CreateAppointmentRequest create_t;
typedef Parley__Scheduling__V1__Participant participant_t;

#define MAX_PARTICIPANTS 20
#define MAX_LENGTH_SECONDS (12 * 3600)
#define SQLSTATE_EXCLUSION "23P01"
/* Matches no booking: a supporter key bound to no supporter sees nothing. */
#define NO_OWNER "00000000-0000-0000-0000-000000000000"

#define COLUMNS                                                                                                  \
    "id, authority_id, case_id, kind, status, " DB_MICROS("starts_at") ", " DB_MICROS("ends_at") ", zone, title," \
    " location::text, participants::text, access_needs::text, sequence::text, cancel_reason, history::text,"     \
    " version::text, " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ", allow_outside_hours"
#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* One history entry ($r the reason) from the row as it is after the change. */
#define CHANGE(action, r)                                                                                     \
    "jsonb_build_array(jsonb_build_object('action', '" action "', 'sequence', sequence, 'start', "            \
    RFC3339("starts_at") ", 'end', " RFC3339("ends_at") ", 'reason', " r ", 'at', " RFC3339("now()") "))"

static const db_stmt_t stmts[] = {
    {"a_insert",
     "INSERT INTO appointments (id, authority_id, case_id, kind, starts_at, ends_at, zone, title, location,"
     " participants, access_needs, created_by_client, allow_outside_hours, history)"
     " VALUES ($1, $2, $3, $4, " DB_FROM_MICROS("$5") ", " DB_FROM_MICROS("$6") ", $7, $8, $9::jsonb, $10::jsonb,"
     " $11::jsonb, $12, $13::boolean, jsonb_build_array(jsonb_build_object('action', 'booked', 'sequence', 0, 'start', "
     RFC3339(DB_FROM_MICROS("$5")) ", 'end', " RFC3339(DB_FROM_MICROS("$6")) ", 'at', " RFC3339("now()") ")))"
     " RETURNING audit.touch(id::text, authority_id)"},
    /* Booked only on a calendar the caller's authorities hold. */
    {"a_book",
     "INSERT INTO calendar_bookings (owner_id, appointment_id, during)"
     " SELECT owner_id, $2, tstzrange(" DB_FROM_MICROS("$3") ", " DB_FROM_MICROS("$4") ")"
     " FROM calendars WHERE owner_id = $1 RETURNING 1"},
    {"a_get",
     "SELECT " COLUMNS ", audit.touch(id::text, authority_id) FROM appointments WHERE id = $1"
     " AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM calendar_bookings b WHERE b.appointment_id = appointments.id"
     " AND b.owner_id = $2))"},
    {"a_lock", "SELECT version, status, participants::text FROM appointments WHERE id = $1 FOR UPDATE"},
    {"a_move",
     "UPDATE calendar_bookings SET during = tstzrange(" DB_FROM_MICROS("$3") ", " DB_FROM_MICROS("$4") ")"
     " WHERE appointment_id = $1 AND owner_id = $2"},
    {"a_reschedule",
     "UPDATE appointments SET starts_at = " DB_FROM_MICROS("$2") ", ends_at = " DB_FROM_MICROS("$3") ","
     " allow_outside_hours = $4::boolean, sequence = sequence + 1, version = version + 1, updated_at = now()"
     " WHERE id = $1 RETURNING 1"},
    /* ics: a calendar locked for the booking (so that concurrent bookings
     * of it are counted one after another: each statement below reads
     * after the lock is granted), then its other active bookings near the
     * times, for the caps. */
    {"a_calendar",
     "SELECT zone, weekly::text, max_per_day, max_per_week, bank_holidays, exceptions::text"
     " FROM calendars WHERE owner_id = $1 FOR UPDATE"},
    {"a_busy",
     "SELECT extract(epoch FROM lower(during))::bigint, extract(epoch FROM upper(during))::bigint"
     " FROM calendar_bookings WHERE owner_id = $1 AND active AND appointment_id <> $2"
     " AND during && tstzrange(to_timestamp($3::bigint) - interval '8 days', to_timestamp($4::bigint) + interval '8 days')"
     " LIMIT 20000"},
    {"a_release", "UPDATE calendar_bookings SET active = false WHERE appointment_id = $1"},
    {"a_cancel",
     "UPDATE appointments SET status = 'APPOINTMENT_STATUS_CANCELLED', cancel_reason = $2, sequence = sequence + 1,"
     " version = version + 1, updated_at = now() WHERE id = $1 RETURNING 1"},
    /* The change's history entry, from the row as changed. */
    {"a_history",
     "UPDATE appointments SET history = history || CASE WHEN status = 'APPOINTMENT_STATUS_CANCELLED'"
     " THEN " CHANGE("cancelled", "$2::text") " ELSE " CHANGE("rescheduled", "$2::text") " END"
     " WHERE id = $1 RETURNING " COLUMNS ", audit.touch(id::text, authority_id)"},
};

const db_stmt_t *appointments_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static int64_t micros(const Google__Protobuf__Timestamp *t) {
    return t ? t->seconds * 1000000 + t->nanos / 1000 : 0;
}

static appointment_t *from_row(arena_t *a, const db_result_t *r) {
    appointment_t *x = arena_alloc(a, sizeof *x);
    if (x == NULL) return NULL;
    parley__scheduling__v1__appointment__init(x);
    x->id = db_str(a, r, 0, 0);
    x->authority_id = db_str(a, r, 0, 1);
    x->case_id = db_str(a, r, 0, 2);
    x->kind = svc_enum_value(&parley__scheduling__v1__appointment_kind__descriptor, db_text(r, 0, 3));
    x->status = svc_enum_value(&parley__scheduling__v1__appointment_status__descriptor, db_text(r, 0, 4));
    x->start = svc_timestamp(a, db_int(r, 0, 5));
    x->end = svc_timestamp(a, db_int(r, 0, 6));
    x->zone = db_str(a, r, 0, 7);
    x->title = db_str(a, r, 0, 8);
    x->location = (Parley__Scheduling__V1__Location *)sched_json_message(
        a, db_text(r, 0, 9), &parley__scheduling__v1__location__descriptor);
    x->participants = (participant_t **)sched_json_items(a, db_text(r, 0, 10), &parley__scheduling__v1__participant__descriptor,
                                                         MAX_PARTICIPANTS, &x->n_participants);
    x->access_needs = (Parley__Scheduling__V1__AccessNeeds *)sched_json_message(
        a, db_text(r, 0, 11), &parley__scheduling__v1__access_needs__descriptor);
    x->sequence = (int32_t)db_int(r, 0, 12);
    x->cancel_reason = db_str(a, r, 0, 13);
    x->history = (Parley__Scheduling__V1__AppointmentChange **)sched_json_items(
        a, db_text(r, 0, 14), &parley__scheduling__v1__appointment_change__descriptor, 1000, &x->n_history);
    x->version = (int32_t)db_int(r, 0, 15);
    x->created_at = svc_timestamp(a, db_int(r, 0, 16));
    x->updated_at = svc_timestamp(a, db_int(r, 0, 17));
    x->allow_outside_hours = db_bool(r, 0, 18);
    return x->location ? x : NULL;
}

static void check_times(bus_response_t *res, const Google__Protobuf__Timestamp *start,
                        const Google__Protobuf__Timestamp *end) {
    if (start == NULL || end == NULL) return;
    int64_t s = micros(start), e = micros(end);
    if (e <= s) bus_response_violation(res, "end", "must be after start");
    else if (e - s > (int64_t)MAX_LENGTH_SECONDS * 1000000)
        bus_response_violation(res, "end", "must be at most 12 hours after start");
}

static void validate(const bus_request_t *req, bus_response_t *res, const create_t *in) {
    arena_t *a = res->arena;
    svc_check_authority(req, res, "authorityId", in->authority_id);
    check_times(res, in->start, in->end);
    if (svc_opt(in->zone) && tz_get(in->zone) == NULL)
        bus_response_violation(res, "zone", "must be an IANA time zone such as Europe/London");
    const Parley__Scheduling__V1__Location *l = in->location;
    if (l && l->kind == PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_IN_PERSON && !svc_opt(l->address))
        bus_response_violation(res, "location.address", "is required for a meeting in person");
    if (l && l->kind == PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_PHONE && !svc_opt(l->phone))
        bus_response_violation(res, "location.phone", "is required for a telephone meeting");
    if (l && l->kind == PARLEY__SCHEDULING__V1__LOCATION_KIND__LOCATION_KIND_VIDEO && !svc_opt(l->link))
        bus_response_violation(res, "location.link", "is required for a video meeting");
    for (size_t i = 0; i < in->n_participants && i < MAX_PARTICIPANTS; i++) {
        const participant_t *p = in->participants[i];
        if (!svc_opt(p->calendar_owner_id) && !svc_opt(p->name))
            bus_response_violation(res, arena_printf(a, "participants[%zu].name", i),
                                   "is required for a participant without a calendar");
        for (size_t k = 0; k < i && svc_opt(p->calendar_owner_id); k++)
            if (svc_opt(in->participants[k]->calendar_owner_id) &&
                strcasecmp(in->participants[k]->calendar_owner_id, p->calendar_owner_id) == 0) {
                bus_response_violation(res, arena_printf(a, "participants[%zu].calendarOwnerId", i),
                                       "names the calendar of participants[%zu] again", k);
                break;
            }
    }
}

/* The indexes of the participants with a calendar, ordered by calendar id,
 * so that every transaction books calendars in one order (no deadlock). */
static size_t calendar_order(arena_t *a, participant_t *const *ps, size_t n, size_t **order) {
    size_t *o = arena_alloc(a, (n + 1) * sizeof *o), k = 0;
    for (size_t i = 0; o && i < n && i < MAX_PARTICIPANTS; i++) {
        if (!svc_opt(ps[i]->calendar_owner_id)) continue;
        size_t j = k++;
        while (j > 0 && strcasecmp(ps[o[j - 1]]->calendar_owner_id, ps[i]->calendar_owner_id) > 0) {
            o[j] = o[j - 1];
            j--;
        }
        o[j] = i;
    }
    *order = o;
    return o ? k : 0;
}

/* A failed booking statement: the clash (409 naming participant i) or a
 * database failure. Rolls back. */
static int booking_failed(bus_response_t *res, const bus_request_t *req, db_t *db, int rc, size_t i,
                          const char *owner) {
    if (rc == DB_ERR_QUERY && strcmp(db_sqlstate(db), SQLSTATE_EXCLUSION) == 0) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_CALENDAR_CLASH,
                             "participants[%zu] (calendarOwnerId %s) is already booked at that time", i, owner);
        return -1;
    }
    return svc_db_fail(res, req, db, rc);
}

/* "HH:MM" to minutes (the codec checked the pattern). */
static int minutes_of(const char *hhmm) { return atoi(hhmm) * 60 + atoi(hhmm + 3); }

/* ics: participant i's calendar locked and [start, end) (seconds) checked
 * against it: its weekly hours, closed days and bank holidays (unless
 * outside hours are allowed, or it keeps no weekly hours: a room booked
 * whenever it is free) and its caps (always). 0 when it may be booked; 1
 * when the caller's authorities hold no such calendar; -1 with res set
 * (409 calendar_unavailable naming participants[i], or a database failure)
 * and the transaction rolled back. */
static int availability_check(db_t *db, const bus_request_t *req, bus_response_t *res, size_t i, const char *owner,
                              const char *appointment_id, int64_t start, int64_t end, bool allow_outside) {
    arena_t *a = res->arena;
    const char *lp[] = {owner};
    db_result_t *cal = NULL, *busy = NULL, *hol = NULL;
    int rc = db_exec(db, "a_calendar", 1, lp, &cal), out = -1;
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(cal) != 1) {
        db_result_free(&cal);
        return 1;
    }
    const char *from = arena_printf(a, "%lld", (long long)start), *to = arena_printf(a, "%lld", (long long)end);
    const char *bp[] = {owner, appointment_id, from, to}, *hp[] = {from, to};
    rc = db_exec(db, "a_busy", 4, bp, &busy);
    if (rc == 0) rc = db_exec(db, "c_holidays", 2, hp, &hol);
    if (rc != 0) {
        svc_db_fail(res, req, db, rc);
        goto done;
    }
    const tz_t *zone = tz_get(db_text(cal, 0, 0));
    size_t nw = 0, ne = 0, nb = (size_t)db_rows(busy), nh = (size_t)db_rows(hol);
    Parley__Scheduling__V1__WeeklyHours **weekly = (Parley__Scheduling__V1__WeeklyHours **)sched_json_items(
        a, db_text(cal, 0, 1), &parley__scheduling__v1__weekly_hours__descriptor, SLOTS_MAX_WINDOWS, &nw);
    Parley__Scheduling__V1__DateException **exceptions = (Parley__Scheduling__V1__DateException **)sched_json_items(
        a, db_text(cal, 0, 5), &parley__scheduling__v1__date_exception__descriptor, 400, &ne);
    bool holidays = strcmp(db_text(cal, 0, 4), "BANK_HOLIDAYS_NONE") != 0;
    slots_window_t windows[SLOTS_MAX_WINDOWS];
    slots_span_t *spans = arena_alloc(a, (nb + 1) * sizeof *spans);
    int64_t *closed = arena_alloc(a, (ne + nh + 1) * sizeof *closed);
    if (zone == NULL || spans == NULL || closed == NULL) {
        svc_db_fail(res, req, db, DB_ERR_QUERY);
        goto done;
    }
    for (size_t k = 0; k < nw && weekly; k++)
        windows[k] = (slots_window_t){weekly[k]->weekday, minutes_of(weekly[k]->start), minutes_of(weekly[k]->end)};
    size_t nc = 0;
    for (size_t k = 0; k < ne && exceptions; k++) {
        int64_t d;
        if (svc_parse_date(exceptions[k]->date, &d)) closed[nc++] = d;
    }
    for (size_t k = 0; holidays && k < nh; k++) closed[nc++] = db_int(hol, (int)k, 0);
    for (size_t k = 0; k < nb; k++) spans[k] = (slots_span_t){db_int(busy, (int)k, 0), db_int(busy, (int)k, 1)};
    slots_calendar_t c = {.zone = zone, .windows = windows, .n_windows = weekly ? nw : 0, .closed_days = closed,
                          .n_closed = nc, .busy = spans, .n_busy = nb,
                          .max_per_day = (int)db_int(cal, 0, 2), .max_per_week = (int)db_int(cal, 0, 3)};
    int64_t day = 0;
    slots_fit_t fit = slots_check(&c, start, end, !allow_outside && c.n_windows > 0, &day);
    if (fit == SLOTS_FITS) {
        out = 0;
        goto done;
    }
    int y, m, d;
    tz_civil_from_days(day, &y, &m, &d);
    const char *why = fit == SLOTS_OUTSIDE_HOURS ? "outside its weekly hours"
                      : fit == SLOTS_CLOSED_DAY  ? arena_printf(a, "closed on %04d-%02d-%02d (leave or a bank holiday)", y, m, d)
                      : fit == SLOTS_DAY_CAP     ? arena_printf(a, "at its cap of %d a day", c.max_per_day)
                                                 : arena_printf(a, "at its cap of %d a week", c.max_per_week);
    db_tx_rollback(db);
    bus_response_violation(res, arena_printf(a, "participants[%zu]", i), "%s", why);
    bus_response_problem(res, BUS_PROBLEM_CALENDAR_UNAVAILABLE,
                         "participants[%zu] (calendarOwnerId %s) is not available then: %s", i, owner, why);
done:
    db_result_free(&cal);
    db_result_free(&busy);
    db_result_free(&hol);
    return out;
}

static int emit(db_t *db, arena_t *a, const char *type, const appointment_t *x) {
    const char *data = arena_printf(a, "{\"appointmentId\":\"%s\",\"caseId\":\"%s\",\"sequence\":%d}", x->id,
                                    x->case_id, x->sequence);
    return outbox_add(db, type, x->authority_id, x->id, data);
}

static int read_back(db_t *db, arena_t *a, const char *id, const char *reason, appointment_t **x) {
    const char *params[] = {id, reason};
    db_result_t *r = NULL;
    int rc = db_exec(db, "a_history", 2, params, &r);
    if (rc != 0) return rc;
    *x = db_rows(r) == 1 ? from_row(a, r) : NULL;
    db_result_free(&r);
    return *x ? 0 : DB_ERR_QUERY;
}

int appointments_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const create_t *in = (const void *)req->input;
    validate(req, res, in);
    if (!svc_ok(res)) return -1;
    /* ics: the case from intake, before any transaction (none is held open
     * across the bus): its family's communication needs, unless the request
     * gives accessNeeds itself, which then stand whole. Intake unreachable:
     * 503, nothing booked. */
    Parley__Scheduling__V1__AccessNeeds *from_intake = NULL;
    if (needs_from_intake(((scheduling_t *)ctx)->bus, req, res, in->case_id, in->authority_id, &from_intake) != 0)
        return -1;
    const Parley__Scheduling__V1__AccessNeeds *needs = in->access_needs ? in->access_needs : from_intake;
    const Parley__Common__V1__Principal *p = req->header->principal;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const char *start = arena_printf(a, "%lld", (long long)micros(in->start));
    const char *end = arena_printf(a, "%lld", (long long)micros(in->end));
    const char *params[] = {id,
                            in->authority_id,
                            in->case_id,
                            svc_enum_text(&parley__scheduling__v1__appointment_kind__descriptor, (int)in->kind),
                            start,
                            end,
                            svc_opt(in->zone) ? in->zone : SCHED_DEFAULT_ZONE,
                            svc_opt(in->title),
                            sched_json_one(a, &in->location->base),
                            sched_json_array(a, (ProtobufCMessage *const *)in->participants, in->n_participants),
                            sched_json_one(a, needs ? &needs->base : NULL),
                            (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL,
                            in->allow_outside_hours ? "true" : "false"};
    if (params[8] == NULL || params[9] == NULL || params[10] == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    int rc = db_tx_begin(db, p);
    if (rc == 0) rc = db_exec(db, "a_insert", 13, params, NULL);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    size_t *order;
    size_t n = calendar_order(a, in->participants, in->n_participants, &order);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        const char *owner = in->participants[i]->calendar_owner_id;
        const char *bp[] = {owner, id, start, end};
        db_result_t *r = NULL;
        int checked = availability_check(db, req, res, i, owner, id, sched_seconds(in->start), sched_seconds(in->end),
                                         in->allow_outside_hours);
        if (checked < 0) return -1;
        rc = checked == 0 ? db_exec(db, "a_book", 4, bp, &r) : 0;
        if (rc != 0) return booking_failed(res, req, db, rc, i, owner);
        int booked = checked == 0 ? db_rows(r) : 0;
        db_result_free(&r);
        if (booked != 1) {
            db_tx_rollback(db);
            bus_response_violation(res, arena_printf(a, "participants[%zu].calendarOwnerId", i),
                                   "no calendar %s in the caller's authorities", owner);
            return -1;
        }
    }
    appointment_t *x = NULL;
    const char *gp[] = {id, NULL};
    db_result_t *r = NULL;
    rc = db_exec(db, "a_get", 2, gp, &r);
    if (rc == 0) {
        x = db_rows(r) == 1 ? from_row(a, r) : NULL;
        if (x == NULL) rc = DB_ERR_QUERY;
    }
    db_result_free(&r);
    if (rc == 0) rc = reminders_schedule(db, id);
    if (rc == 0) rc = emit(db, a, "appointment.booked", x);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

int appointments_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    const Parley__Scheduling__V1__GetAppointmentRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "appointment");
    const char *own = sched_supporter(req);
    const char *params[] = {in->id, own ? (*own ? own : NO_OWNER) : NULL};
    db_step_t step = {"a_get", 2, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    bool found = db_rows(step.result) == 1;
    appointment_t *x = found ? from_row(res->arena, step.result) : NULL;
    db_steps_free(&step, 1);
    if (!found) return svc_not_found(res, "appointment");
    if (x == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &x->base;
    return 0;
}

int appointments_icalendar(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__GetAppointmentICalendarRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "appointment");
    const char *own = sched_supporter(req);
    const char *params[] = {in->id, own ? (*own ? own : NO_OWNER) : NULL};
    db_step_t step = {"a_get", 2, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    bool found = db_rows(step.result) == 1;
    appointment_t *x = found ? from_row(a, step.result) : NULL;
    db_steps_free(&step, 1);
    if (!found) return svc_not_found(res, "appointment");
    char *ics = x ? ical_appointment(a, x, config_str("PARLEY_SCHEDULING_ORGANIZER", "mailto:no-reply@parley.invalid"))
                  : NULL;
    Parley__Scheduling__V1__AppointmentICalendar *out = arena_alloc(a, sizeof *out);
    if (ics == NULL || out == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    parley__scheduling__v1__appointment_icalendar__init(out);
    out->id = x->id;
    out->uid = arena_printf(a, "%s@parley", x->id);
    out->method =
        x->status == PARLEY__SCHEDULING__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED ? "CANCEL" : "REQUEST";
    out->sequence = x->sequence;
    out->ics = ics;
    res->reply = &out->base;
    return 0;
}

/* Opens the transaction and locks the appointment: 0 with its stored
 * participants (JSON text, in a) in *participants; or -1 with res set (404,
 * 409 cancelled, 412 stale) and the transaction ended. */
static int lock(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, const char **participants) {
    arena_t *a = res->arena;
    if (!ids_is_uuid(id)) return svc_not_found(res, "appointment");
    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    const char *params[] = {id};
    if (rc == 0) rc = db_exec(db, "a_lock", 1, params, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    bool found = db_rows(r) == 1;
    int version = found ? (int)db_int(r, 0, 0) : 0;
    bool cancelled = found && strcmp(db_text(r, 0, 1), "APPOINTMENT_STATUS_CANCELLED") == 0;
    *participants = found ? db_str(a, r, 0, 2) : NULL;
    db_result_free(&r);
    if (found && !cancelled && svc_if_match_allows(a, req, version)) return 0;
    db_tx_rollback(db);
    if (!found) return svc_not_found(res, "appointment");
    if (cancelled) bus_response_problem(res, BUS_PROBLEM_APPOINTMENT_CANCELLED, "the appointment is cancelled");
    else bus_response_problem(res, BUS_PROBLEM_STALE_VERSION, "the appointment has changed (version %d); read it again",
                              version);
    return -1;
}

int appointments_reschedule(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__RescheduleAppointmentRequest *in = (const void *)req->input;
    check_times(res, in->start, in->end);
    if (!svc_ok(res)) return -1;
    const char *stored;
    if (lock(db, req, res, in->id, &stored) != 0) return -1;
    /* Read-only members sent back (a whole appointment as GET gave it)
     * must say what it says now. */
    const char *gp[] = {in->id, NULL};
    db_result_t *now = NULL;
    int rc = db_exec(db, "a_get", 2, gp, &now);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    appointment_t *current = db_rows(now) == 1 ? from_row(a, now) : NULL;
    db_result_free(&now);
    if (current == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    if (svc_check_read_only(req, res, &current->base, NULL) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    size_t np = 0, *order;
    participant_t **ps = (participant_t **)sched_json_items(a, stored, &parley__scheduling__v1__participant__descriptor,
                                                             MAX_PARTICIPANTS, &np);
    const char *start = arena_printf(a, "%lld", (long long)micros(in->start));
    const char *end = arena_printf(a, "%lld", (long long)micros(in->end));
    size_t n = ps ? calendar_order(a, ps, np, &order) : 0;
    for (size_t k = 0; k < n; k++) {
        const char *owner = ps[order[k]]->calendar_owner_id;
        const char *mp[] = {in->id, owner, start, end};
        /* A calendar moved out of the caller's authorities since is not checked (a_move still moves it). */
        if (availability_check(db, req, res, order[k], owner, in->id, sched_seconds(in->start), sched_seconds(in->end),
                               in->allow_outside_hours) < 0)
            return -1;
        rc = db_exec(db, "a_move", 4, mp, NULL);
        if (rc != 0) return booking_failed(res, req, db, rc, order[k], owner);
    }
    const char *rp[] = {in->id, start, end, in->allow_outside_hours ? "true" : "false"};
    rc = db_exec(db, "a_reschedule", 4, rp, NULL);
    appointment_t *x = NULL;
    if (rc == 0) rc = read_back(db, a, in->id, svc_opt(in->reason), &x);
    if (rc == 0) rc = reminders_schedule(db, in->id);
    if (rc == 0) rc = emit(db, a, "appointment.rescheduled", x);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

int appointments_cancel(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__CancelAppointmentRequest *in = (const void *)req->input;
    const char *stored;
    if (lock(db, req, res, in->id, &stored) != 0) return -1;
    const char *id[] = {in->id}, *cp[] = {in->id, in->reason};
    int rc = db_exec(db, "a_release", 1, id, NULL);
    if (rc == 0) rc = db_exec(db, "a_cancel", 2, cp, NULL);
    appointment_t *x = NULL;
    if (rc == 0) rc = read_back(db, a, in->id, in->reason, &x);
    if (rc == 0) rc = reminders_schedule(db, in->id);
    if (rc == 0) rc = emit(db, a, "appointment.cancelled", x);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}
