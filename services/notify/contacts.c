/* contacts: PUT/GET /v1/contacts/{personId}/preferences (contract in
 * contacts.h). PUT replaces a person's preferences whole (with If-Match
 * that version of what exists, 412 when stale, 404 when none; without it
 * whatever is there, or makes them); GET answers what PUT takes back. The
 * person must be a parent, young person or supporter of one of the
 * caller's authorities: the PUT and the GET ask their owner over the bus
 * while the request is in flight (another authority's person, or one the
 * owner no longer knows, is 404, as a random id). Preferences belong to the person's authority (a supporter's: the
 * first of the caller's authorities they serve), under row-level
 * security. */
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "parley/notify/v1/notify.pb-c.h"
#include "services/notify/contacts.h"
#include "services/notify/notify.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Notify__V1__ContactPreferences prefs_t;
typedef Parley__Notify__V1__PutContactPreferencesRequest put_t;

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x
#define MAX_OPT_OUTS 20
#define DEFAULT_ZONE "Europe/London"
#define COLUMNS                                                                                              \
    "person_id, authority_id, person_kind, array_to_string(channels, ','), language, format,"              \
    " to_char(quiet_start, 'HH24:MI'), to_char(quiet_end, 'HH24:MI'), quiet_zone,"                         \
    " array_to_string(opt_outs, ','), version, " DB_MICROS("created_at") ", " DB_MICROS("updated_at")

static const db_stmt_t stmts[] = {
    {"cp_find",
     "SELECT " COLUMNS ", audit.touch(person_id::text, authority_id) FROM contact_preferences WHERE person_id = $1"
     " ORDER BY authority_id LIMIT 1"},
    {"cp_lock", "SELECT " COLUMNS " FROM contact_preferences WHERE authority_id = $1 AND person_id = $2 FOR UPDATE"},
    {"cp_zone", "SELECT 1 FROM pg_timezone_names WHERE name = $1"},
    {"cp_insert",
     "INSERT INTO contact_preferences (authority_id, person_id, person_kind, channels, language, format, quiet_start,"
     " quiet_end, quiet_zone, opt_outs) VALUES ($1, $2, $3, $4::text[], $5, $6, $7::time, $8::time, $9, $10::text[])"
     " ON CONFLICT (authority_id, person_id) DO NOTHING RETURNING " COLUMNS ", audit.touch(person_id::text, authority_id)"},
    {"cp_update",
     "UPDATE contact_preferences SET person_kind = $3, channels = $4::text[], language = $5, format = $6,"
     " quiet_start = $7::time, quiet_end = $8::time, quiet_zone = $9, opt_outs = $10::text[],"
     " version = version + 1, updated_at = now() WHERE authority_id = $1 AND person_id = $2"
     " RETURNING " COLUMNS ", audit.touch(person_id::text, authority_id)"},
    /* What a notification being made applies. */
    {"cp_read",
     "SELECT array_to_string(channels, ','), language, format FROM contact_preferences"
     " WHERE authority_id = $1 AND person_id = $2"},
};

const db_stmt_t *contacts_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* Splits "a,b,c" into at most max strings in a; *n their count. */
static char **split(arena_t *a, const char *text, size_t max, size_t *n) {
    *n = 0;
    char **out = arena_alloc(a, (max + 1) * sizeof *out);
    for (const char *p = text; out && p && *p && *n < max;) {
        size_t len = strcspn(p, ",");
        out[(*n)++] = arena_strndup(a, p, len);
        p += len + (p[len] == ',');
    }
    return out;
}

static prefs_t *from_row(arena_t *a, const db_result_t *r, int i) {
    prefs_t *x = arena_alloc(a, sizeof *x);
    if (x == NULL) return NULL;
    parley__notify__v1__contact_preferences__init(x);
    x->person_id = db_str(a, r, i, 0);
    x->authority_id = db_str(a, r, i, 1);
    x->person_kind = db_str(a, r, i, 2);
    size_t n = 0;
    char **names = split(a, db_text(r, i, 3), CONTACTS_MAX_CHANNELS, &n);
    x->channels = arena_alloc(a, (n + 1) * sizeof *x->channels);
    for (size_t k = 0; x->channels && names && k < n; k++)
        x->channels[x->n_channels++] = svc_enum_value(&parley__notify__v1__channel__descriptor, names[k]);
    x->language = db_str(a, r, i, 4);
    if (!db_is_null(r, i, 5)) x->format = svc_enum_value(&parley__notify__v1__message_format__descriptor, db_text(r, i, 5));
    if (!db_is_null(r, i, 6)) {
        Parley__Notify__V1__QuietHours *q = arena_alloc(a, sizeof *q);
        if (q == NULL) return NULL;
        parley__notify__v1__quiet_hours__init(q);
        q->start = db_str(a, r, i, 6);
        q->end = db_str(a, r, i, 7);
        q->zone = db_str(a, r, i, 8);
        x->quiet_hours = q;
    }
    x->opt_outs = split(a, db_text(r, i, 9), MAX_OPT_OUTS, &x->n_opt_outs);
    x->version = (int32_t)db_int(r, i, 10);
    x->created_at = svc_timestamp(a, db_int(r, i, 11));
    x->updated_at = svc_timestamp(a, db_int(r, i, 12));
    return x;
}

int contacts_prefs_read(db_t *db, arena_t *a, const char *authority, const char *person_id, contact_prefs_t *out) {
    *out = (contact_prefs_t){0};
    const char *params[] = {authority, person_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "cp_read", 2, params, &r);
    if (rc == 0 && db_rows(r) == 1) {
        out->found = true;
        size_t n = 0;
        char **names = split(a, db_text(r, 0, 0), CONTACTS_MAX_CHANNELS, &n);
        for (size_t k = 0; names && k < n; k++) {
            int ch = svc_enum_value(&parley__notify__v1__channel__descriptor, names[k]);
            if (contacts_channel_sendable(ch)) out->channels[out->n_channels++] = ch;
        }
        out->language = db_str(a, r, 0, 1);
        if (!db_is_null(r, 0, 2))
            out->format = svc_enum_value(&parley__notify__v1__message_format__descriptor, db_text(r, 0, 2));
    }
    db_result_free(&r);
    return rc;
}

/* What the codec cannot check: channels sendable and each once, quiet
 * hours that are hours, each category once. */
static void validate(bus_response_t *res, const put_t *in) {
    arena_t *a = res->arena;
    for (size_t i = 0; i < in->n_channels && i < CONTACTS_MAX_CHANNELS; i++) {
        const char *field = arena_printf(a, "channels[%zu]", i);
        if (!contacts_channel_sendable((int)in->channels[i])) {
            bus_response_violation(res, field, "is not a channel notify sends by");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (in->channels[j] == in->channels[i]) {
                bus_response_violation(res, field, "names a channel twice");
                break;
            }
    }
    if (in->n_channels > CONTACTS_MAX_CHANNELS)
        bus_response_violation(res, "channels", "at most %d", CONTACTS_MAX_CHANNELS);
    svc_check_language(res, "language", in->language);
    const Parley__Notify__V1__QuietHours *q = in->quiet_hours;
    if (q) {
        svc_check_required(res, "quietHours.start", q->start);
        svc_check_required(res, "quietHours.end", q->end);
        if (svc_opt(q->start) && svc_opt(q->end) && strcmp(q->start, q->end) == 0)
            bus_response_violation(res, "quietHours.end", "must differ from start (%s)", q->start);
        if (svc_opt(q->zone) && strlen(q->zone) > 64)
            bus_response_violation(res, "quietHours.zone", "must be an IANA time zone such as Europe/London");
    }
    for (size_t i = 0; i < in->n_opt_outs && i < MAX_OPT_OUTS; i++)
        for (size_t j = 0; j < i; j++)
            if (in->opt_outs[i] && in->opt_outs[j] && strcmp(in->opt_outs[i], in->opt_outs[j]) == 0) {
                bus_response_violation(res, arena_printf(a, "optOuts[%zu]", i), "repeats optOuts[%zu]", j);
                break;
            }
}

/* A text[] literal of items (each a bounded word of [a-z0-9_] or an enum name). */
static const char *array_literal(arena_t *a, const char *const *items, size_t n) {
    const char *out = "{";
    for (size_t i = 0; i < n; i++) out = arena_printf(a, "%s%s%s", out, i ? "," : "", items[i]);
    return arena_printf(a, "%s}", out);
}

static const char *channels_literal(arena_t *a, const put_t *in) {
    const char *names[CONTACTS_MAX_CHANNELS];
    size_t n = 0;
    for (size_t i = 0; i < in->n_channels && n < CONTACTS_MAX_CHANNELS; i++)
        names[n++] = svc_enum_text(&parley__notify__v1__channel__descriptor, (int)in->channels[i]);
    return array_literal(a, names, n);
}

static const char *person_authority(notify_t *t, const bus_request_t *req, bus_response_t *res,
                                    const char *person_id, contact_t *c);

int contacts_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    notify_t *t = ctx;
    db_t *db = t->db;
    const Parley__Notify__V1__GetContactPreferencesRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->person_id)) return svc_not_found(res, "person");
    /* A person their owner no longer knows (erased, or taken off their
     * family) has no preferences to show, whatever is still stored. */
    contact_t c;
    if (person_authority(t, req, res, in->person_id, &c) == NULL) return -1;
    db_step_t step = {"cp_find", 1, (const char *[]){in->person_id}, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    prefs_t *x = db_rows(step.result) == 1 ? from_row(res->arena, step.result, 0) : NULL;
    bool found = db_rows(step.result) == 1;
    db_steps_free(&step, 1);
    if (!found) return svc_not_found(res, "preferences for this person");
    if (x == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &x->base;
    return 0;
}

/* The person's authority, as their owner answers under the caller's
 * principal: NULL with res set when they are none of the caller's (404)
 * or the owner cannot say now. */
static const char *person_authority(notify_t *t, const bus_request_t *req, bus_response_t *res,
                                    const char *person_id, contact_t *c) {
    bus_code_t code = contacts_resolve(t->bus, res->arena, req->header->request_id, req->header->principal,
                                       person_id, NULL, NULL, c);
    if (code == CODE(OK) && c->authority) return c->authority;
    if (code == CODE(OK) || code == CODE(NOT_FOUND)) svc_not_found(res, "person");
    else bus_response_error(res, CODE(UNAVAILABLE), "the person's record cannot be read from its owner now");
    return NULL;
}

int contacts_put(void *ctx, const bus_request_t *req, bus_response_t *res) {
    notify_t *t = ctx;
    db_t *db = t->db;
    arena_t *a = res->arena;
    const put_t *in = (const void *)req->input;
    if (!ids_is_uuid(in->person_id)) return svc_not_found(res, "person");
    validate(res, in);
    if (!svc_ok(res)) return -1;
    /* Not in a transaction: the owner may take up to its timeout to answer. */
    contact_t c;
    const char *authority = person_authority(t, req, res, in->person_id, &c);
    if (authority == NULL) return -1;
    const Parley__Notify__V1__QuietHours *q = in->quiet_hours;
    const char *zone = q ? (svc_opt(q->zone) ? q->zone : DEFAULT_ZONE) : NULL;
    const char *opt_outs = array_literal(a, (const char *const *)in->opt_outs, in->n_opt_outs);
    const char *params[] = {authority,
                            in->person_id,
                            c.kind,
                            channels_literal(a, in),
                            svc_opt(in->language),
                            in->format ? svc_enum_text(&parley__notify__v1__message_format__descriptor, (int)in->format)
                                       : NULL,
                            q ? q->start : NULL,
                            q ? q->end : NULL,
                            zone,
                            opt_outs};
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (zone) {
        int known = svc_exists(db, "cp_zone", 1, (const char *[]){zone});
        if (known < 0) return svc_db_fail(res, req, db, known);
        if (!known) {
            db_tx_rollback(db);
            bus_response_violation(res, "quietHours.zone", "must be an IANA time zone such as Europe/London");
            return -1;
        }
    }
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "cp_lock", 2, params, &r)) != 0) return svc_db_fail(res, req, db, rc);
    bool exists = db_rows(r) == 1;
    prefs_t *was = exists ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    if (exists && was == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    if (!exists && svc_if_match(a, req) != NULL) {
        db_tx_rollback(db);
        return svc_not_found(res, "preferences for this person");
    }
    if (exists && !svc_if_match_allows(a, req, was->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION, "the preferences have changed (version %d); read them again",
                             (int)was->version);
        return -1;
    }
    /* What GET answered may come back whole: the read-only members as read. */
    prefs_t fresh = PARLEY__NOTIFY__V1__CONTACT_PREFERENCES__INIT;
    fresh.person_id = in->person_id;
    fresh.authority_id = (char *)authority;
    fresh.person_kind = (char *)c.kind;
    if (svc_check_read_only(req, res, was ? &was->base : &fresh.base, NULL) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    rc = db_exec(db, exists ? "cp_update" : "cp_insert", 10, params, &r);
    if (rc == 0 && db_rows(r) != 1) {
        /* Made by a concurrent PUT since the lock found none. */
        db_result_free(&r);
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_CONCURRENT_CHANGE, NULL);
        return -1;
    }
    prefs_t *x = rc == 0 ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (x == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &x->base;
    return 0;
}
