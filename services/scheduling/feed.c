/* ics: a calendar's iCalendar feed, for a calendar app to subscribe to
 * without an API key: GET /v1/calendars/{ownerId}.ics?token=. The token is
 * made (or replaced) by POST .../feed-token and shown once; Parley keeps
 * only HMAC-SHA256(PARLEY_SCHEDULING_FEED_KEY, token) in feed_tokens, which
 * has no row-level security (the feed's request names no authority: see
 * migration 004). A request's token is hashed and compared with the stored
 * hash in constant time, against a dummy when the calendar has none, so "no
 * such calendar", "no token" and "wrong token" are one answer (404) after
 * the same work. The feed is then read under row-level security as the
 * calendar's authority alone: its appointments on the calendar with only
 * what a URL may carry (ical.h), other authorities' bookings as "Busy". */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "services/scheduling/feed.h"
#include "services/scheduling/ical.h"
#include "services/scheduling/scheduling.h"
#include "svc/svc.h"

#define TOKEN_PREFIX "ft_"
#define TOKEN_BYTES 32 /* 256 random bits */
#define TOKEN_MAX 100
#define HASH_HEX 64
/* What the feed lists: booked appointments from 30 days back to a year on,
 * cancelled ones for 30 days after the cancel, at most FEED_MAX_EVENTS. */
#define FEED_MAX_EVENTS 500
#define FEED_WINDOW                                                                                      \
    " a.ends_at > now() - interval '30 days' AND a.starts_at < now() + interval '366 days'"

/* Set once by feed_configure before any thread; read-only after. */
static unsigned char feed_key[32];
static bool have_key;

int feed_configure(void) {
    const char *hex = config_str("PARLEY_SCHEDULING_FEED_KEY", "");
    if (*hex == '\0') {
        log_warn(NULL, "scheduling: PARLEY_SCHEDULING_FEED_KEY is not set; calendar feeds answer 503");
        return 0;
    }
    if (strlen(hex) != 64) goto bad;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) goto bad;
        feed_key[i] = (unsigned char)v;
    }
    have_key = true;
    return 0;
bad:
    log_error(NULL, "scheduling: PARLEY_SCHEDULING_FEED_KEY must be 64 hex digits (32 bytes)");
    return -1;
}

static const db_stmt_t stmts[] = {
    /* The calendar under the caller's row-level security, locked: the
     * token is changed only by a caller who may see the calendar. */
    {"f_calendar_lock",
     "SELECT authority_id, audit.touch(owner_id::text, authority_id) FROM calendars WHERE owner_id = $1 FOR UPDATE"},
    {"f_upsert",
     "INSERT INTO feed_tokens (owner_id, authority_id, token_hash, consortium_id)"
     " VALUES ($1, $2, decode($3, 'hex'), $4::uuid)"
     " ON CONFLICT (owner_id) DO UPDATE SET authority_id = EXCLUDED.authority_id, token_hash = EXCLUDED.token_hash,"
     " consortium_id = EXCLUDED.consortium_id, created_at = now() RETURNING " DB_MICROS("created_at")},
    {"f_delete", "DELETE FROM feed_tokens WHERE owner_id = $1 RETURNING 1"},
    /* No row-level security: the token decides (compared in C). */
    {"f_token", "SELECT authority_id, encode(token_hash, 'hex'), consortium_id FROM feed_tokens WHERE owner_id = $1"},
    /* As the calendar's authority alone (the principal the feed reads with). */
    {"f_calendar", "SELECT zone, audit.touch(owner_id::text, authority_id) FROM calendars WHERE owner_id = $1"},
    {"f_events",
     "SELECT a.id, a.kind, a.status, extract(epoch FROM a.starts_at)::bigint, extract(epoch FROM a.ends_at)::bigint,"
     " a.zone, a.title, a.location->>'kind', a.location->>'address', a.sequence,"
     " extract(epoch FROM a.updated_at)::bigint"
     " FROM calendar_bookings b JOIN appointments a ON a.id = b.appointment_id"
     " WHERE b.owner_id = $1 AND" FEED_WINDOW
     " AND (a.status = 'APPOINTMENT_STATUS_BOOKED' OR a.updated_at > now() - interval '30 days')"
     " ORDER BY a.starts_at, a.id LIMIT 500"},
    /* The calendar's bookings by other authorities (their appointments are
     * invisible here): times only. */
    {"f_busy",
     "SELECT b.appointment_id, extract(epoch FROM lower(b.during))::bigint, extract(epoch FROM upper(b.during))::bigint"
     " FROM calendar_bookings b WHERE b.owner_id = $1 AND b.active"
     " AND b.during && tstzrange(now() - interval '30 days', now() + interval '366 days')"
     " AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = b.appointment_id)"
     " ORDER BY lower(b.during) LIMIT 500"},
};

const db_stmt_t *feed_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* HMAC-SHA256(feed key, token) as 64 lowercase hex digits into out. */
static int token_hash(const char *token, char out[HASH_HEX + 1]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (HMAC(EVP_sha256(), feed_key, sizeof feed_key, (const unsigned char *)token, strlen(token), mac, &len) == NULL ||
        len != 32)
        return -1;
    for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

/* "ft_" and 32 random bytes in unpadded base64url. */
static int token_new(char out[TOKEN_MAX]) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[TOKEN_BYTES + 2] = {0};
    if (RAND_bytes(raw, TOKEN_BYTES) != 1) return -1;
    char *w = stpcpy(out, TOKEN_PREFIX);
    for (size_t i = 0; i < TOKEN_BYTES; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        size_t left = TOKEN_BYTES - i, chars = left >= 3 ? 4 : left + 1;
        for (size_t k = 0; k < chars; k++) *w++ = b64[(v >> (18 - 6 * k)) & 63];
    }
    *w = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

static int no_key(bus_response_t *res) {
    bus_response_problem(res, BUS_PROBLEM_UNAVAILABLE, "calendar feeds are not configured here (PARLEY_SCHEDULING_FEED_KEY)");
    return -1;
}

/* Staff of the calendar's authority, or the supporter's own key for its
 * own calendar; anything else is answered as a calendar that is not there. */
static bool may_manage(const bus_request_t *req, const char *owner_id) {
    const char *own = sched_supporter(req);
    return own == NULL || (*own && strcasecmp(own, owner_id) == 0);
}

/* Opens the transaction and locks the calendar: 0 with its authority (in
 * the arena) or -1 with res set (404) and the transaction ended. */
static int lock_calendar(db_t *db, const bus_request_t *req, bus_response_t *res, const char *owner_id,
                         const char **authority) {
    if (!ids_is_uuid(owner_id) || !may_manage(req, owner_id)) return svc_not_found(res, "calendar");
    int rc = db_tx_begin(db, req->header->principal);
    db_result_t *r = NULL;
    const char *params[] = {owner_id};
    if (rc == 0) rc = db_exec(db, "f_calendar_lock", 1, params, &r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    bool found = db_rows(r) == 1;
    *authority = found ? db_str(res->arena, r, 0, 0) : NULL;
    db_result_free(&r);
    if (found) return 0;
    db_tx_rollback(db);
    return svc_not_found(res, "calendar");
}

int feed_token_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__CreateFeedTokenRequest *in = (const void *)req->input;
    if (!have_key) return no_key(res);
    const char *authority = NULL;
    if (lock_calendar(db, req, res, in->owner_id, &authority) != 0) return -1;
    char token[TOKEN_MAX], hash[HASH_HEX + 1];
    if (token_new(token) != 0 || token_hash(token, hash) != 0) {
        db_tx_rollback(db);
        return svc_db_fail(res, req, db, DB_ERR_QUERY);
    }
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *params[] = {in->owner_id, authority, hash, p && ids_is_uuid(p->consortium_id) ? p->consortium_id : NULL};
    db_result_t *r = NULL;
    int rc = db_exec(db, "f_upsert", 4, params, &r);
    int64_t created = rc == 0 && db_rows(r) == 1 ? db_int(r, 0, 0) : 0;
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    Parley__Scheduling__V1__FeedToken *out = arena_alloc(a, sizeof *out);
    if (out == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    parley__scheduling__v1__feed_token__init(out);
    out->owner_id = arena_strdup(a, in->owner_id);
    out->token = arena_strdup(a, token);
    out->created_at = svc_timestamp(a, created);
    OPENSSL_cleanse(token, sizeof token);
    res->reply = &out->base;
    return 0;
}

int feed_token_revoke(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__RevokeFeedTokenRequest *in = (const void *)req->input;
    const char *authority = NULL;
    if (lock_calendar(db, req, res, in->owner_id, &authority) != 0) return -1;
    const char *params[] = {in->owner_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "f_delete", 1, params, &r);
    bool revoked = rc == 0 && db_rows(r) == 1;
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    Parley__Scheduling__V1__FeedTokenRevoked *out = arena_alloc(a, sizeof *out);
    if (out == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    parley__scheduling__v1__feed_token_revoked__init(out);
    out->owner_id = arena_strdup(a, in->owner_id);
    out->revoked = revoked;
    res->reply = &out->base;
    return 0;
}

static const char *kind_words(int kind) {
    switch (kind) {
    case PARLEY__SCHEDULING__V1__APPOINTMENT_KIND__APPOINTMENT_KIND_ONE_TO_ONE: return "One-to-one meeting";
    case PARLEY__SCHEDULING__V1__APPOINTMENT_KIND__APPOINTMENT_KIND_SCHOOL_MEETING: return "School meeting";
    case PARLEY__SCHEDULING__V1__APPOINTMENT_KIND__APPOINTMENT_KIND_AUTHORITY_MEETING: return "Authority meeting";
    case PARLEY__SCHEDULING__V1__APPOINTMENT_KIND__APPOINTMENT_KIND_ANNUAL_REVIEW: return "Annual review";
    case PARLEY__SCHEDULING__V1__APPOINTMENT_KIND__APPOINTMENT_KIND_TRIBUNAL_HEARING: return "Tribunal hearing";
    default: return "Meeting";
    }
}

/* Where, as a feed may say it: an address; a phone or video meeting only
 * as such (the number or link is for the invitation, not a URL). */
static const char *feed_location(arena_t *a, const char *kind, const char *address) {
    if (kind == NULL) return NULL;
    if (strcmp(kind, "phone") == 0) return "Telephone";
    if (strcmp(kind, "video") == 0) return "Video call";
    return address ? arena_strdup(a, address) : NULL;
}

/* The token checked: 0 with the calendar's authority, or -1 with res set
 * (404 for every kind of miss, after the same hashing and comparison). */
static int check_token(db_t *db, const bus_request_t *req, bus_response_t *res, const char *owner_id,
                       const char *token, const char **authority, const char **consortium) {
    static const char dummy[HASH_HEX + 1] = "0000000000000000000000000000000000000000000000000000000000000000";
    char hash[HASH_HEX + 1];
    bool well_formed = ids_is_uuid(owner_id) && token && strlen(token) < TOKEN_MAX;
    if (token_hash(token ? token : "", hash) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const char *params[] = {well_formed ? owner_id : "00000000-0000-0000-0000-000000000000"};
    db_step_t step = {"f_token", 1, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    bool found = db_rows(step.result) == 1;
    const char *stored = found ? db_text(step.result, 0, 1) : dummy;
    if (stored == NULL || strlen(stored) != HASH_HEX) stored = dummy, found = false;
    bool same = CRYPTO_memcmp(hash, stored, HASH_HEX) == 0;
    *authority = found ? db_str(res->arena, step.result, 0, 0) : NULL;
    *consortium = found ? db_str(res->arena, step.result, 0, 2) : NULL;
    db_steps_free(&step, 1);
    OPENSSL_cleanse(hash, sizeof hash);
    if (well_formed && found && same && *authority) return 0;
    return svc_not_found(res, "calendar");
}

int feed_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((scheduling_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Scheduling__V1__CalendarFeedRequest *in = (const void *)req->input;
    if (!have_key) return no_key(res);
    const char *authority = NULL, *consortium = NULL;
    if (check_token(db, req, res, in->owner_id, in->token, &authority, &consortium) != 0) return -1;
    /* The calendar's authority alone: row-level security keeps the read to
     * that authority's appointments whoever asks. The read's audit row is
     * about it too, in the consortium the token was made in, so that the
     * calendar's admins see who read the feed (the gateway's principal for
     * a keyless request names no consortium). */
    Parley__Common__V1__Principal *as = arena_alloc(a, sizeof *as);
    Parley__Common__V1__RequestHeader *h = arena_alloc(a, sizeof *h);
    char **ids = arena_alloc(a, sizeof *ids);
    if (as == NULL || h == NULL || ids == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    *as = *req->header->principal;
    ids[0] = (char *)authority;
    as->authority_ids = ids;
    as->n_authority_ids = 1;
    as->consortium_id = consortium && *consortium ? (char *)consortium : "";
    as->client_id = "";
    *h = *req->header;
    h->principal = as;
    db_audit_begin(db, h);
    const char *params[] = {in->owner_id};
    db_step_t steps[] = {{"f_calendar", 1, params, NULL}, {"f_events", 1, params, NULL}, {"f_busy", 1, params, NULL}};
    int rc = db_run(db, as, DB_READ, steps, 3);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    int out_rc = -1;
    if (db_rows(steps[0].result) != 1) {
        svc_not_found(res, "calendar");
        goto done;
    }
    size_t ne = (size_t)db_rows(steps[1].result), nb = (size_t)db_rows(steps[2].result), n = 0;
    ical_feed_event_t *ev = arena_alloc(a, (ne + nb + 1) * sizeof *ev);
    if (ev == NULL) {
        svc_db_fail(res, req, db, DB_ERR_QUERY);
        goto done;
    }
    const db_result_t *r = steps[1].result;
    for (size_t i = 0; i < ne && n < FEED_MAX_EVENTS; i++) {
        int row = (int)i;
        const char *title = db_text(r, row, 6);
        int kind = svc_enum_value(&parley__scheduling__v1__appointment_kind__descriptor, db_text(r, row, 1));
        ev[n++] = (ical_feed_event_t){
            .id = db_str(a, r, row, 0),
            .summary = title && *title ? arena_strdup(a, title) : kind_words(kind),
            .location = feed_location(a, db_text(r, row, 7), db_text(r, row, 8)),
            .zone = db_str(a, r, row, 5),
            .start = db_int(r, row, 3),
            .end = db_int(r, row, 4),
            .stamp = db_int(r, row, 10),
            .sequence = (int)db_int(r, row, 9),
            .cancelled = strcmp(db_text(r, row, 2), "APPOINTMENT_STATUS_CANCELLED") == 0,
        };
    }
    const char *zone = db_str(a, steps[0].result, 0, 0);
    r = steps[2].result;
    for (size_t i = 0; i < nb && n < FEED_MAX_EVENTS; i++) {
        int row = (int)i;
        ev[n++] = (ical_feed_event_t){.id = db_str(a, r, row, 0), .summary = "Busy", .zone = zone,
                                      .start = db_int(r, row, 1), .end = db_int(r, row, 2), .stamp = db_int(r, row, 1)};
    }
    Parley__Scheduling__V1__CalendarFeed *out = arena_alloc(a, sizeof *out);
    char *ics = ical_feed(a, ev, n);
    if (out == NULL || ics == NULL) {
        svc_db_fail(res, req, db, DB_ERR_QUERY);
        goto done;
    }
    parley__scheduling__v1__calendar_feed__init(out);
    out->owner_id = arena_strdup(a, in->owner_id);
    out->ics = ics;
    res->reply = &out->base;
    out_rc = 0;
done:
    db_steps_free(steps, 3);
    return out_rc;
}
