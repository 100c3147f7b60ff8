/* Webhooks: POST/GET/DELETE /v1/webhooks, GET /v1/webhooks/{id} and its
 * deliveries, and the fan-out of events to them (contract in webhook.h). */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ids.h"
#include "core/log.h"
#include "pb/pb.h"
#include "services/notify/notify.h"
#include "services/notify/webhook.h"
#include "svc/page_token.h"
#include "svc/svc.h"

typedef Parley__Notify__V1__Webhook webhook_t;
typedef Parley__Notify__V1__WebhookDelivery delivery_t;

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x
#define MAX_TYPES 5
/* The caller's client, as db_tx_begin set it. */
#define CALLER "nullif(current_setting('parley.client_id', true), '')::uuid"
#define COLUMNS                                                                                          \
    "id, authority_id, url, array_to_string(event_types, ','), description, scope, " DB_MICROS("created_at")
#define DELIVERY_COLUMNS                                                                                 \
    "d.id, d.webhook_id, d.event_id, d.event_type, d.status, d.attempts::text, d.failure_reason, "       \
    DB_MICROS("d.created_at") ", " DB_MICROS("d.delivered_at")

static const char *const event_types[] = {"case.opened", "case.stage_changed", "case.signposted", "case.closed",
                                          "case.deadline_due"};

static const db_stmt_t stmts[] = {
    {"wh_insert",
     "INSERT INTO webhooks (id, authority_id, client_id, url, event_types, description, scope, secret_sealed)"
     " VALUES ($1, $2, " CALLER ", $3, $4::text[], $5, $6, decode($7, 'hex'))"
     " RETURNING " COLUMNS ", audit.touch(id::text, authority_id)"},
    {"wh_get", "SELECT " COLUMNS ", audit.touch(id::text, authority_id) FROM webhooks WHERE id = $1 AND client_id = " CALLER},
    {"wh_list",
     "SELECT " COLUMNS " FROM webhooks WHERE client_id = " CALLER
     " AND ($1::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$1") ", $2::uuid))"
     " ORDER BY created_at, id LIMIT $3"},
    /* Its deliveries and their queue rows go with it (ON DELETE CASCADE). */
    {"wh_delete",
     "DELETE FROM webhooks WHERE id = $1 AND client_id = " CALLER " RETURNING " COLUMNS
     ", audit.touch(id::text, authority_id)"},
    {"wh_deliveries",
     "SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
     " WHERE d.webhook_id = $1 AND w.client_id = " CALLER
     " AND ($2::bigint IS NULL OR (d.created_at, d.id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY d.created_at, d.id LIMIT $4"},
    /* Every webhook of the event's authority that wants its type; a
     * partner's (referrals) only for a case its client opened. The unique
     * (webhook, event) makes a second fan-out of one event add nothing. */
    {"wh_fan_out",
     "WITH d AS (INSERT INTO webhook_deliveries (id, webhook_id, authority_id, event_id, event_type, payload)"
     " SELECT gen_random_uuid(), w.id, w.authority_id, $1::uuid, $2, $3 FROM webhooks w"
     " WHERE w.authority_id = $4::uuid AND $2 = ANY (w.event_types)"
     " AND (w.scope = 'authority' OR w.client_id = $5::uuid)"
     " ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id, authority_id)"
     " INSERT INTO webhook_queue (delivery_id, authority_id) SELECT id, authority_id FROM d"},
};

const db_stmt_t *webhooks_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static webhook_config_t config;

void webhook_configure(const webhook_config_t *cfg) { config = *cfg; }

const webhook_config_t *webhook_config(void) { return &config; }

bool webhooks_event_type(const char *type) {
    for (size_t i = 0; type != NULL && i < sizeof event_types / sizeof event_types[0]; i++)
        if (strcmp(type, event_types[i]) == 0) return true;
    return false;
}

static bool has_role(const Parley__Common__V1__Principal *p, const char *role) {
    for (size_t i = 0; p != NULL && i < p->n_roles; i++)
        if (p->roles[i] && strcmp(p->roles[i], role) == 0) return true;
    return false;
}

static webhook_t *from_row(arena_t *a, const db_result_t *r, int i) {
    webhook_t *w = arena_alloc(a, sizeof *w);
    if (w == NULL) return NULL;
    parley__notify__v1__webhook__init(w);
    w->id = db_str(a, r, i, 0);
    w->authority_id = db_str(a, r, i, 1);
    w->url = db_str(a, r, i, 2);
    /* The types are the fixed words above: no comma in any. */
    char *types = db_str(a, r, i, 3);
    w->event_types = arena_alloc(a, MAX_TYPES * sizeof *w->event_types);
    for (char *save = NULL, *t = types ? strtok_r(types, ",", &save) : NULL; t && w->event_types && w->n_event_types < MAX_TYPES;
         t = strtok_r(NULL, ",", &save))
        w->event_types[w->n_event_types++] = t;
    w->description = db_str(a, r, i, 4);
    w->scope = db_str(a, r, i, 5);
    w->created_at = svc_timestamp(a, db_int(r, i, 6));
    return w;
}

static Parley__Notify__V1__WebhookAttempt **parse_attempts(arena_t *a, const char *text, size_t *n) {
    *n = 0;
    json_t *arr = pb_json_loadb(text ? text : "", text ? strlen(text) : 0, 0, NULL);
    size_t count = json_is_array(arr) ? json_array_size(arr) : 0;
    Parley__Notify__V1__WebhookAttempt **out = count ? arena_alloc(a, count * sizeof *out) : NULL;
    for (size_t i = 0; out && i < count; i++) {
        json_t *o = json_array_get(arr, i);
        Parley__Notify__V1__WebhookAttempt *t = arena_alloc(a, sizeof *t);
        if (t == NULL) break;
        parley__notify__v1__webhook_attempt__init(t);
        t->at = svc_timestamp(a, (int64_t)json_integer_value(json_object_get(o, "at")));
        t->response_code = (int32_t)json_integer_value(json_object_get(o, "responseCode"));
        t->duration_ms = (int32_t)json_integer_value(json_object_get(o, "durationMs"));
        const char *error = json_string_value(json_object_get(o, "error"));
        t->error = error ? arena_strdup(a, error) : NULL;
        out[(*n)++] = t;
    }
    json_decref(arr);
    return out;
}

static delivery_t *delivery_from_row(arena_t *a, const db_result_t *r, int i) {
    delivery_t *d = arena_alloc(a, sizeof *d);
    if (d == NULL) return NULL;
    parley__notify__v1__webhook_delivery__init(d);
    d->id = db_str(a, r, i, 0);
    d->webhook_id = db_str(a, r, i, 1);
    d->event_id = db_str(a, r, i, 2);
    d->event_type = db_str(a, r, i, 3);
    d->status = svc_enum_value(&parley__notify__v1__webhook_delivery_status__descriptor, db_text(r, i, 4));
    d->attempts = parse_attempts(a, db_text(r, i, 5), &d->n_attempts);
    d->failure_reason = db_str(a, r, i, 6);
    d->created_at = svc_timestamp(a, db_int(r, i, 7));
    if (!db_is_null(r, i, 8)) d->delivered_at = svc_timestamp(a, db_int(r, i, 8));
    return d;
}

/* The request's fields, checked; the URL's host resolved and every
 * address checked (only once the rest is good: no DNS for a bad request). */
static void validate(const bus_request_t *req, bus_response_t *res, const Parley__Notify__V1__CreateWebhookRequest *in) {
    svc_check_authority(req, res, "authorityId", in->authority_id);
    if (in->n_event_types == 0) bus_response_violation(res, "eventTypes", "at least one event type is required");
    if (in->n_event_types > MAX_TYPES) bus_response_violation(res, "eventTypes", "at most %d event types", MAX_TYPES);
    for (size_t i = 0; i < in->n_event_types && i < MAX_TYPES; i++) {
        const char *field = arena_printf(res->arena, "eventTypes[%zu]", i);
        if (!webhooks_event_type(in->event_types[i]))
            bus_response_violation(res, field, "must be case.opened, case.stage_changed, case.signposted, "
                                               "case.closed or case.deadline_due");
        for (size_t k = 0; k < i; k++)
            if (in->event_types[k] && in->event_types[i] && strcmp(in->event_types[k], in->event_types[i]) == 0)
                bus_response_violation(res, field, "repeats %s", in->event_types[i]);
    }
    svc_check_max_len(res, "description", in->description, 200);
    if (!svc_check_required(res, "url", in->url) || !svc_check_max_len(res, "url", in->url, 2000)) return;
    webhook_target_t t;
    const char *why = NULL;
    if (webhook_url_parse(in->url, &config.allow, &t, &why) != 0) {
        bus_response_violation(res, "url", "%s", why);
        return;
    }
    if (!svc_ok(res)) return;
    int rc = webhook_target_resolve(&t, &why);
    if (rc == -2)
        bus_response_violation(res, "url", "resolves to %s: webhooks are sent only to public addresses (or a host "
                                           "allow-listed by the operator)", why);
    else if (rc != 0)
        bus_response_violation(res, "url", "%s", why);
}

int webhooks_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Notify__V1__CreateWebhookRequest *in = (const void *)req->input;
    const Parley__Common__V1__Principal *p = req->header->principal;
    if (!config.have_key) {
        bus_response_error(res, CODE(UNAVAILABLE), "webhooks are not configured on this service");
        return -1;
    }
    if (p == NULL || !ids_is_uuid(p->client_id)) {
        bus_response_error(res, CODE(PERMISSION_DENIED), "a webhook belongs to an API client");
        return -1;
    }
    validate(req, res, in);
    if (!svc_ok(res)) return -1;
    char id[IDS_UUID_LEN + 1], secret[WEBHOOK_SECRET_MAX];
    char *sealed = NULL;
    if (ids_uuid_new(id) != 0 || webhook_secret_new(secret) != 0 ||
        webhook_secret_seal(config.key, id, secret, &sealed) != 0) {
        bus_response_error(res, CODE(INTERNAL), "a secret cannot be made now");
        return -1;
    }
    size_t cap = 3;
    for (size_t i = 0; i < in->n_event_types; i++) cap += strlen(in->event_types[i]) + 1;
    char *types = arena_alloc(a, cap), *w = types;
    if (types == NULL) {
        free(sealed);
        return svc_db_fail(res, req, db, DB_ERR_QUERY);
    }
    *w++ = '{';
    for (size_t i = 0; i < in->n_event_types; i++) w = stpcpy(stpcpy(w, i ? "," : ""), in->event_types[i]);
    strcpy(w, "}");
    const char *scope = has_role(p, "consortium_admin") ? "authority" : "referrals";
    const char *params[] = {id, in->authority_id, in->url, types, svc_opt(in->description), scope, sealed};
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, p);
    if (rc == 0) rc = db_exec(db, "wh_insert", 7, params, &r);
    free(sealed);
    webhook_t *x = rc == 0 && db_rows(r) == 1 ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    if (rc == 0 && x == NULL) rc = DB_ERR_QUERY;
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) {
        OPENSSL_cleanse(secret, sizeof secret);
        return svc_db_fail(res, req, db, rc);
    }
    /* Shown here once; only the sealed copy is kept. */
    x->secret = arena_strdup(a, secret);
    OPENSSL_cleanse(secret, sizeof secret);
    res->reply = &x->base;
    return 0;
}

static ProtobufCMessage *parse_one(arena_t *a, db_result_t *const *results) {
    webhook_t *w = from_row(a, results[0], 0);
    return w ? &w->base : NULL;
}

static const svc_get_t get_webhook = {"webhook", {"wh_get"}, 1, parse_one};

int webhooks_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Notify__V1__GetWebhookRequest *in = (const void *)req->input;
    return svc_get_one(((notify_t *)ctx)->db, req, res, in->id, &get_webhook);
}

int webhooks_delete(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    const Parley__Notify__V1__GetWebhookRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "webhook");
    const char *params[] = {in->id};
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = db_exec(db, "wh_delete", 1, params, &r);
    webhook_t *x = rc == 0 && db_rows(r) == 1 ? from_row(res->arena, r, 0) : NULL;
    bool none = rc == 0 && db_rows(r) == 0;
    db_result_free(&r);
    if (none) {
        db_tx_rollback(db);
        return svc_not_found(res, "webhook");
    }
    if (rc == 0 && x == NULL) rc = DB_ERR_QUERY;
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

int webhooks_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Notify__V1__ListWebhooksRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    if (!page_args(res, in->page_size, in->page_token, &size, &cur)) return -1;
    const char *params[] = {page_cursor_micros(a, &cur), page_cursor_id(&cur), arena_printf(a, "%d", size + 1)};
    db_step_t step = {"wh_list", 3, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    Parley__Notify__V1__ListWebhooksResponse *out = arena_alloc(a, sizeof *out);
    parley__notify__v1__list_webhooks_response__init(out);
    int rows = db_rows(step.result);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[out->n_items++] = from_row(a, step.result, (int)i);
    if (rows > size && n > 0)
        out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_steps_free(&step, 1);
    res->reply = &out->base;
    return 0;
}

int webhooks_deliveries(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Notify__V1__ListWebhookDeliveriesRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "webhook");
    int size;
    page_cursor_t cur;
    if (!page_args(res, in->page_size, in->page_token, &size, &cur)) return -1;
    const char *one[] = {in->id};
    const char *params[] = {in->id, page_cursor_micros(a, &cur), page_cursor_id(&cur), arena_printf(a, "%d", size + 1)};
    /* The webhook first: it names the record for the audit row, and its
     * absence (another client's, or none) is 404. */
    db_step_t steps[] = {{"wh_get", 1, one, NULL}, {"wh_deliveries", 4, params, NULL}};
    if (svc_read(db, req, res, steps, 2) != 0) return -1;
    if (db_rows(steps[0].result) == 0) {
        db_steps_free(steps, 2);
        return svc_not_found(res, "webhook");
    }
    Parley__Notify__V1__ListWebhookDeliveriesResponse *out = arena_alloc(a, sizeof *out);
    parley__notify__v1__list_webhook_deliveries_response__init(out);
    int rows = db_rows(steps[1].result);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[out->n_items++] = delivery_from_row(a, steps[1].result, (int)i);
    if (rows > size && n > 0)
        out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_steps_free(steps, 2);
    res->reply = &out->base;
    return 0;
}

/* RFC 3339 in UTC with milliseconds, in a. */
static const char *rfc3339(arena_t *a, const Google__Protobuf__Timestamp *t) {
    struct timespec now;
    time_t secs;
    long millis;
    if (t != NULL) {
        secs = (time_t)t->seconds;
        millis = t->nanos / 1000000;
    } else {
        clock_gettime(CLOCK_REALTIME, &now);
        secs = now.tv_sec;
        millis = now.tv_nsec / 1000000;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    return arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

int webhooks_fan_out(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev) {
    if (!webhooks_event_type(ev->type) || !ids_is_uuid(ev->id) || !ids_is_uuid(ev->authority_id)) return 0;
    const char *text = ev->data_json ? ev->data_json : "";
    json_t *d = pb_json_loadb(text, strlen(text), 0, NULL);
    const char *v = json_string_value(json_object_get(d, "openedByClientId"));
    const char *opened_by = v && ids_is_uuid(v) ? arena_strdup(a, v) : NULL;
    json_decref(d);
    /* Thin: what happened to which case, never anything of the family. */
    json_t *body = json_pack("{s:s, s:s, s:s, s:s?, s:s}", "id", ev->id, "type", ev->type, "authorityId",
                             ev->authority_id, "subjectId", ids_is_uuid(ev->subject_id) ? ev->subject_id : NULL,
                             "occurredAt", rfc3339(a, ev->occurred_at));
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (payload == NULL) return DB_ERR_QUERY;
    const char *params[] = {ev->id, ev->type, payload, ev->authority_id, opened_by};
    int rc = db_exec(db, "wh_fan_out", 5, params, NULL);
    free(payload);
    return rc;
}
