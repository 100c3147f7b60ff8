/* Calendars: a supporter's, caseworker's or room's weekly hours in a zone,
 * closed days, buffers and caps (PUT/GET availability), and the free slots
 * computed from them and the calendar's bookings when read (slots.h), so
 * they are never stale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ids.h"
#include "services/scheduling/scheduling.h"
#include "services/scheduling/slots.h"
#include "services/scheduling/tz.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Scheduling__V1__PutAvailabilityRequest put_t;
typedef Parley__Scheduling__V1__Availability availability_t;

#define MAX_SPAN_SECONDS (12 * 7 * 86400)
#define MAX_SLOTS 5000
#define DEFAULT_SPAN_SECONDS (14 * 86400)
#define DEFAULT_MINUTES 60
#define MAX_BUSY 20000
#define EW "england-and-wales"

#define COLUMNS                                                                                                  \
    "owner_id, authority_id, owner_kind, zone, weekly::text, exceptions::text, buffer_before_minutes::text,"    \
    " buffer_after_minutes::text, max_per_day::text, max_per_week::text, bank_holidays, version::text, "        \
    DB_MICROS("created_at") ", " DB_MICROS("updated_at")

static const db_stmt_t stmts[] = {
    /* Without If-Match: made, or replaced whatever its version. Another
     * authority's calendar of that owner fails the policy (42501): 404. */
    {"c_upsert",
     "INSERT INTO calendars (owner_id, authority_id, owner_kind, zone, weekly, exceptions, buffer_before_minutes,"
     " buffer_after_minutes, max_per_day, max_per_week, bank_holidays)"
     " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::int, $8::int, $9::int, $10::int, $11)"
     " ON CONFLICT (owner_id) DO UPDATE SET authority_id = EXCLUDED.authority_id, owner_kind = EXCLUDED.owner_kind,"
     " zone = EXCLUDED.zone, weekly = EXCLUDED.weekly, exceptions = EXCLUDED.exceptions,"
     " buffer_before_minutes = EXCLUDED.buffer_before_minutes, buffer_after_minutes = EXCLUDED.buffer_after_minutes,"
     " max_per_day = EXCLUDED.max_per_day, max_per_week = EXCLUDED.max_per_week,"
     " bank_holidays = EXCLUDED.bank_holidays, version = calendars.version + 1, updated_at = now()"
     " RETURNING " COLUMNS ", audit.touch(owner_id::text, authority_id)"},
    /* With If-Match: that version only. */
    {"c_update",
     "UPDATE calendars SET authority_id = coalesce($2::uuid, authority_id), owner_kind = $3, zone = $4, weekly = $5::jsonb, exceptions = $6::jsonb,"
     " buffer_before_minutes = $7::int, buffer_after_minutes = $8::int, max_per_day = $9::int, max_per_week = $10::int,"
     " bank_holidays = $11, version = version + 1, updated_at = now()"
     " WHERE owner_id = $1 AND version = ANY ($12::int[])"
     " RETURNING " COLUMNS ", audit.touch(owner_id::text, authority_id)"},
    {"c_lock", "SELECT " COLUMNS " FROM calendars WHERE owner_id = $1 FOR UPDATE"},
    {"c_version", "SELECT version FROM calendars WHERE owner_id = $1"},
    {"c_get", "SELECT " COLUMNS ", audit.touch(owner_id::text, authority_id) FROM calendars WHERE owner_id = $1"},
    /* Every active booking of the calendar overlapping the span (a day
     * wider each side, for the buffers and the caps), whoever made it. */
    {"c_busy",
     "SELECT extract(epoch FROM lower(during))::bigint, extract(epoch FROM upper(during))::bigint"
     " FROM calendar_bookings WHERE owner_id = $1 AND active"
     " AND during && tstzrange(to_timestamp($2::bigint) - interval '8 days', to_timestamp($3::bigint) + interval '8 days')"
     " LIMIT " "20000"},
    {"c_holidays",
     "SELECT (on_date - date '1970-01-01')::bigint FROM bank_holidays WHERE region = '" EW "'"
     " AND on_date BETWEEN (to_timestamp($1::bigint) AT TIME ZONE 'UTC')::date - 2"
     " AND (to_timestamp($2::bigint) AT TIME ZONE 'UTC')::date + 2"},
};

const db_stmt_t *calendars_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* "HH:MM" to minutes (the codec checked the pattern). */
static int minutes_of(const char *hhmm) { return atoi(hhmm) * 60 + atoi(hhmm + 3); }

static int by_day_then_start(const void *x, const void *y) {
    const Parley__Scheduling__V1__WeeklyHours *a = *(Parley__Scheduling__V1__WeeklyHours *const *)x;
    const Parley__Scheduling__V1__WeeklyHours *b = *(Parley__Scheduling__V1__WeeklyHours *const *)y;
    if (a->weekday != b->weekday) return a->weekday - b->weekday;
    return minutes_of(a->start) - minutes_of(b->start);
}

/* The calendar's authority: the one named, else the caller's only one;
 * with If-Match (changing a calendar that exists) NULL keeps the stored one. */
static const char *authority_of(const bus_request_t *req, bus_response_t *res, const put_t *in, bool if_match) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (svc_opt(in->authority_id))
        return svc_check_authority(req, res, "authorityId", in->authority_id) ? in->authority_id : NULL;
    if (p && p->n_authority_ids == 1) return p->authority_ids[0];
    if (if_match) return NULL;
    bus_response_violation(res, "authorityId", "is required: the caller serves several authorities");
    return NULL;
}

static void validate(bus_response_t *res, const put_t *in) {
    arena_t *a = res->arena;
    if (svc_opt(in->zone) && tz_get(in->zone) == NULL)
        bus_response_violation(res, "zone", "must be an IANA time zone such as Europe/London");
    for (size_t i = 0; i < in->n_weekly; i++) {
        const Parley__Scheduling__V1__WeeklyHours *w = in->weekly[i];
        if (minutes_of(w->end) <= minutes_of(w->start))
            bus_response_violation(res, arena_printf(a, "weekly[%zu].end", i), "must be after start");
    }
    if (!svc_ok(res)) return;
    /* Sorted, no two windows of a day may overlap. */
    if (in->n_weekly > 1) qsort(in->weekly, in->n_weekly, sizeof *in->weekly, by_day_then_start);
    for (size_t i = 1; i < in->n_weekly; i++) {
        const Parley__Scheduling__V1__WeeklyHours *p = in->weekly[i - 1], *w = in->weekly[i];
        if (p->weekday == w->weekday && minutes_of(w->start) < minutes_of(p->end))
            bus_response_violation(res, "weekly", "weekday %d has overlapping hours (%s-%s and %s-%s)", w->weekday,
                                   p->start, p->end, w->start, w->end);
    }
    for (size_t i = 0; i < in->n_exceptions; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(in->exceptions[i]->date, in->exceptions[k]->date) == 0) {
                bus_response_violation(res, arena_printf(a, "exceptions[%zu].date", i), "repeats %s",
                                       in->exceptions[i]->date);
                break;
            }
}

static availability_t *from_row(arena_t *a, const db_result_t *r) {
    availability_t *x = arena_alloc(a, sizeof *x);
    if (x == NULL) return NULL;
    parley__scheduling__v1__availability__init(x);
    x->owner_id = db_str(a, r, 0, 0);
    x->authority_id = db_str(a, r, 0, 1);
    x->owner_kind = svc_enum_value(&parley__scheduling__v1__owner_kind__descriptor, db_text(r, 0, 2));
    x->zone = db_str(a, r, 0, 3);
    x->weekly = (Parley__Scheduling__V1__WeeklyHours **)sched_json_items(
        a, db_text(r, 0, 4), &parley__scheduling__v1__weekly_hours__descriptor, SLOTS_MAX_WINDOWS, &x->n_weekly);
    x->exceptions = (Parley__Scheduling__V1__DateException **)sched_json_items(
        a, db_text(r, 0, 5), &parley__scheduling__v1__date_exception__descriptor, 400, &x->n_exceptions);
    x->buffer_before_minutes = (int32_t)db_int(r, 0, 6);
    x->buffer_after_minutes = (int32_t)db_int(r, 0, 7);
    x->max_per_day = (int32_t)db_int(r, 0, 8);
    x->max_per_week = (int32_t)db_int(r, 0, 9);
    x->bank_holidays = svc_enum_value(&parley__scheduling__v1__bank_holidays__descriptor, db_text(r, 0, 10));
    x->version = (int32_t)db_int(r, 0, 11);
    x->created_at = svc_timestamp(a, db_int(r, 0, 12));
    x->updated_at = svc_timestamp(a, db_int(r, 0, 13));
    return x;
}

int calendars_put(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const put_t *in = (const void *)req->input;
    const char *if_match = svc_if_match(a, req);
    const char *authority = authority_of(req, res, in, if_match != NULL);
    validate(res, in);
    if (!svc_ok(res)) return -1;
    const int ew = PARLEY__SCHEDULING__V1__BANK_HOLIDAYS__BANK_HOLIDAYS_ENGLAND_AND_WALES;
    const char *params[] = {
        in->owner_id,
        authority,
        svc_enum_text(&parley__scheduling__v1__owner_kind__descriptor, (int)in->owner_kind),
        svc_opt(in->zone) ? in->zone : SCHED_DEFAULT_ZONE,
        sched_json_array(a, (ProtobufCMessage *const *)in->weekly, in->n_weekly),
        sched_json_array(a, (ProtobufCMessage *const *)in->exceptions, in->n_exceptions),
        arena_printf(a, "%d", in->buffer_before_minutes),
        arena_printf(a, "%d", in->buffer_after_minutes),
        arena_printf(a, "%d", in->max_per_day),
        arena_printf(a, "%d", in->max_per_week),
        svc_enum_text(&parley__scheduling__v1__bank_holidays__descriptor, in->bank_holidays ? (int)in->bank_holidays : ew),
        if_match,
    };
    if (params[4] == NULL || params[5] == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    /* What the caller would read now, locked: read-only members sent back
     * (version, createdAt ...) must say what it says. */
    const char *id[] = {in->owner_id};
    if (rc == 0) rc = db_exec(db, "c_lock", 1, id, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    availability_t *stored = db_rows(r) == 1 ? from_row(a, r) : NULL;
    db_result_free(&r);
    if (stored && svc_check_read_only(req, res, &stored->base, NULL) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    rc = db_exec(db, if_match ? "c_update" : "c_upsert", if_match ? 12 : 11, params, &r);
    if (rc == DB_ERR_QUERY && strcmp(db_sqlstate(db), DB_SQLSTATE_RLS) == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "calendar");
    }
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(r) != 1) {
        db_result_free(&r);
        const char *id[] = {in->owner_id};
        rc = db_exec(db, "c_version", 1, id, &r);
        if (rc != 0) return svc_db_fail(res, req, db, rc);
        int found = db_rows(r);
        int version = found ? (int)db_int(r, 0, 0) : 0;
        db_result_free(&r);
        db_tx_rollback(db);
        if (!found) return svc_not_found(res, "calendar");
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION, "the calendar has changed (version %d); read it again",
                             version);
        return -1;
    }
    availability_t *x = from_row(a, r);
    db_result_free(&r);
    rc = x ? db_tx_commit(db) : DB_ERR_QUERY;
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

static int64_t now_seconds(void) { return (int64_t)time(NULL); }

/* A supporter's key reads only its own supporter's calendar. */
static bool may_read(const bus_request_t *req, const char *owner_id) {
    const char *own = sched_supporter(req);
    return own == NULL || (*own && strcasecmp(own, owner_id) == 0);
}

int calendars_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    const Parley__Scheduling__V1__GetAvailabilityRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->owner_id) || !may_read(req, in->owner_id)) return svc_not_found(res, "calendar");
    const char *params[] = {in->owner_id};
    db_step_t step = {"c_get", 1, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    availability_t *x = db_rows(step.result) == 1 ? from_row(res->arena, step.result) : NULL;
    bool found = db_rows(step.result) == 1;
    db_steps_free(&step, 1);
    if (!found) return svc_not_found(res, "calendar");
    if (x == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &x->base;
    return 0;
}

/* The calendar's closed local days in the span: its exceptions and, unless
 * it works them, the bank holidays (holidays: the c_holidays result). */
static int64_t *closed_days(arena_t *a, const availability_t *x, const db_result_t *holidays, size_t *n) {
    bool ew = x->bank_holidays != PARLEY__SCHEDULING__V1__BANK_HOLIDAYS__BANK_HOLIDAYS_NONE;
    size_t h = ew ? (size_t)db_rows(holidays) : 0;
    int64_t *out = arena_alloc(a, (x->n_exceptions + h + 1) * sizeof *out);
    *n = 0;
    if (out == NULL) return NULL;
    for (size_t i = 0; i < x->n_exceptions; i++) {
        int64_t d;
        if (svc_parse_date(x->exceptions[i]->date, &d)) out[(*n)++] = d;
    }
    for (size_t i = 0; i < h; i++) out[(*n)++] = db_int(holidays, (int)i, 0);
    return out;
}

int calendars_free_slots(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__FreeSlotsRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->owner_id) || !may_read(req, in->owner_id)) return svc_not_found(res, "calendar");
    /* Defaults: from now, for two weeks, hour-long slots. */
    int64_t from = in->from ? sched_seconds(in->from) : now_seconds();
    int64_t to = in->to ? sched_seconds(in->to) : from + DEFAULT_SPAN_SECONDS;
    int minutes = in->minutes ? in->minutes : DEFAULT_MINUTES;
    if (to <= from) bus_response_violation(res, "to", "must be after from");
    else if (to - from > MAX_SPAN_SECONDS) bus_response_violation(res, "to", "must be at most 12 weeks after from");
    if (minutes < 15 || minutes > 480) bus_response_violation(res, "minutes", "must be 15 to 480");
    if (!svc_ok(res)) return -1;
    const char *id[] = {in->owner_id};
    const char *span[] = {in->owner_id, arena_printf(a, "%lld", (long long)from), arena_printf(a, "%lld", (long long)to)};
    db_step_t steps[] = {{"c_get", 1, id, NULL}, {"c_busy", 3, span, NULL}, {"c_holidays", 2, span + 1, NULL}};
    if (svc_read(db, req, res, steps, 3) != 0) return -1;
    int rc = -1;
    availability_t *x = db_rows(steps[0].result) == 1 ? from_row(a, steps[0].result) : NULL;
    const tz_t *zone = x ? tz_get(x->zone) : NULL;
    if (db_rows(steps[0].result) != 1) {
        svc_not_found(res, "calendar");
        goto done;
    }
    if (zone == NULL) {
        svc_db_fail(res, req, db, DB_ERR_QUERY);
        goto done;
    }
    slots_window_t windows[SLOTS_MAX_WINDOWS];
    size_t nw = 0;
    for (size_t i = 0; i < x->n_weekly && nw < SLOTS_MAX_WINDOWS; i++)
        windows[nw++] = (slots_window_t){x->weekly[i]->weekday, minutes_of(x->weekly[i]->start),
                                         minutes_of(x->weekly[i]->end)};
    size_t n_busy = (size_t)db_rows(steps[1].result), n_closed = 0;
    slots_span_t *busy = arena_alloc(a, (n_busy + 1) * sizeof *busy);
    slots_span_t *out = arena_alloc(a, MAX_SLOTS * sizeof *out);
    int64_t *closed = closed_days(a, x, steps[2].result, &n_closed);
    if (busy == NULL || out == NULL || closed == NULL) {
        svc_db_fail(res, req, db, DB_ERR_QUERY);
        goto done;
    }
    for (size_t i = 0; i < n_busy; i++)
        busy[i] = (slots_span_t){db_int(steps[1].result, (int)i, 0), db_int(steps[1].result, (int)i, 1)};
    slots_calendar_t cal = {.zone = zone,
                            .windows = windows,
                            .n_windows = nw,
                            .closed_days = closed,
                            .n_closed = n_closed,
                            .busy = busy,
                            .n_busy = n_busy,
                            .buffer_before = x->buffer_before_minutes * 60,
                            .buffer_after = x->buffer_after_minutes * 60,
                            .max_per_day = x->max_per_day,
                            .max_per_week = x->max_per_week};
    size_t n = 0;
    int more = slots_free(&cal, from, to, minutes, out, MAX_SLOTS, &n);
    Parley__Scheduling__V1__FreeSlotsResponse *reply = arena_alloc(a, sizeof *reply);
    Parley__Scheduling__V1__Slot *slots = arena_alloc(a, (n + 1) * sizeof *slots);
    Parley__Scheduling__V1__Slot **ptrs = arena_alloc(a, (n + 1) * sizeof *ptrs);
    if (reply == NULL || slots == NULL || ptrs == NULL) {
        svc_db_fail(res, req, db, DB_ERR_QUERY);
        goto done;
    }
    parley__scheduling__v1__free_slots_response__init(reply);
    reply->owner_id = x->owner_id;
    reply->zone = x->zone;
    reply->truncated = more == 1;
    for (size_t i = 0; i < n; i++) {
        parley__scheduling__v1__slot__init(&slots[i]);
        slots[i].start = svc_timestamp(a, out[i].start * 1000000);
        slots[i].end = svc_timestamp(a, out[i].end * 1000000);
        ptrs[i] = &slots[i];
    }
    reply->slots = ptrs;
    reply->n_slots = n;
    res->reply = &reply->base;
    rc = 0;
done:
    db_steps_free(steps, 3);
    return rc;
}
