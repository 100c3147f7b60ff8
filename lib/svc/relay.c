/* The outbox relay: a thread that delivers due events (contract in relay.h). */
#include "svc/relay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/ticker.h"
#include "parley/events/v1/events.pb-c.h"
#include "svc/svc.h"

#define RELAY_MAX_FAILED 32

static const db_stmt_t relay_stmts[] = {
    {"relay_claim",
     "SELECT d.event_id, d.subscriber, o.type, o.authority_id, o.subject_id, o.data::text,"
     " " DB_MICROS("o.occurred_at") ", d.attempts"
     " FROM outbox_deliveries d JOIN outbox o ON o.id = d.event_id"
     " WHERE d.delivered_at IS NULL AND d.next_attempt_at <= now()"
     " AND NOT EXISTS (SELECT 1 FROM outbox_deliveries p WHERE p.subscriber = d.subscriber"
     "   AND p.subject_id = d.subject_id AND p.seq < d.seq AND p.delivered_at IS NULL)"
     " ORDER BY o.seq LIMIT $1 FOR UPDATE OF d SKIP LOCKED"},
    {"relay_delivered",
     "UPDATE outbox_deliveries SET delivered_at = now(), attempts = attempts + 1, last_error = NULL"
     " WHERE event_id = $1 AND subscriber = $2"},
    {"relay_failed",
     "UPDATE outbox_deliveries SET attempts = attempts + 1, last_error = left($3, 500),"
     " next_attempt_at = now() + least(300, power(2, least(attempts, 16))) * (0.75 + random() / 2)"
     "   * interval '1 second'"
     " WHERE event_id = $1 AND subscriber = $2"},
};

struct relay {
    relay_config_t cfg;
    char *conninfo, *endpoint;
    ticker_t *ticker;
    /* The thread's own (made in relay_setup, freed in relay_teardown). */
    db_t *db;
    bus_client_t *bus;
    arena_t *arena;
    int64_t next_task;
};

/* Sends one event to subscriber. Returns NULL when it answered OK, else why
 * not (in arena). */
static const char *deliver(bus_client_t *bus, arena_t *a, const char *subscriber, Parley__Events__V1__Event *ev,
                           int timeout_ms) {
    size_t len = protobuf_c_message_get_packed_size(&ev->base);
    uint8_t *payload = arena_alloc(a, len + 1);
    if (payload == NULL) return "out of memory";
    protobuf_c_message_pack(&ev->base, payload);
    Parley__Common__V1__Principal principal = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    char *authority = ev->authority_id;
    if (authority && *authority) {
        principal.n_authority_ids = 1;
        principal.authority_ids = &authority;
    }
    bus_header_t header = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    header.request_id = ev->id;
    header.method = "Deliver";
    header.principal = &principal;
    bus_reply_t reply;
    int rc = bus_client_call(bus, a, subscriber, &header, payload, len, timeout_ms, false, &reply);
    if (rc == -ETIMEDOUT) return arena_printf(a, "%s did not answer in %d ms", subscriber, timeout_ms);
    if (rc != 0) return "the message bus failed";
    if (reply.status->code == PARLEY__COMMON__V1__CODE__CODE_OK) return NULL;
    return arena_printf(a, "%s: %s", bus_code_name(reply.status->code),
                        reply.status->message ? reply.status->message : "");
}

static bool listed(char *const *names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

int relay_pass(db_t *db, bus_client_t *bus, arena_t *a, const char *source, int batch, int timeout_ms) {
    int rc = db_tx_begin(db, NULL);
    if (rc != 0) return rc;
    db_result_t *r = NULL;
    const char *limit[] = {arena_printf(a, "%d", batch)};
    if ((rc = db_exec(db, "relay_claim", 1, limit, &r)) != 0) {
        db_tx_rollback(db);
        return rc;
    }
    /* A subscriber that failed once in this pass is not called again in it:
     * its other deliveries back off too, so a service that is down costs
     * one timeout a pass, not one per event. */
    char *failed[RELAY_MAX_FAILED];
    const char *failed_why[RELAY_MAX_FAILED];
    size_t n_failed = 0;
    int rows = db_rows(r);
    for (int i = 0; i < rows && rc == 0; i++) {
        Parley__Events__V1__Event ev = PARLEY__EVENTS__V1__EVENT__INIT;
        ev.id = db_str(a, r, i, 0);
        char *subscriber = db_str(a, r, i, 1);
        ev.type = db_str(a, r, i, 2);
        ev.authority_id = db_str(a, r, i, 3);
        ev.subject_id = db_str(a, r, i, 4);
        ev.data_json = db_str(a, r, i, 5);
        ev.occurred_at = svc_timestamp(a, db_int(r, i, 6));
        ev.source = (char *)source;
        const char *why = NULL;
        bool skipped = false;
        for (size_t f = 0; f < n_failed; f++)
            if (strcmp(failed[f], subscriber) == 0) {
                why = failed_why[f];
                skipped = true;
            }
        if (!skipped) why = deliver(bus, a, subscriber, &ev, timeout_ms);
        const char *params[] = {ev.id, subscriber, why};
        rc = db_exec(db, why ? "relay_failed" : "relay_delivered", why ? 3 : 2, params, NULL);
        if (why && !skipped) {
            /* Loud on the first failure, then ever more rarely (attempts 8, 16, 32 ...): a
             * subscriber that does not take events yet must not drown the log. */
            long long attempt = (long long)db_int(r, i, 7) + 1;
            bool loud = attempt == 1 || (attempt >= 8 && (attempt & (attempt - 1)) == 0);
            log_write(loud ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, ev.id, "event %s to %s not delivered (attempt %lld): %s",
                      ev.type, subscriber, attempt, why);
            if (n_failed < RELAY_MAX_FAILED && !listed(failed, n_failed, subscriber)) {
                failed[n_failed] = subscriber;
                failed_why[n_failed++] = why;
            }
        }
    }
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc == 0 ? rows : rc;
}

static int relay_setup(void *arg) {
    relay_t *self = arg;
    relay_config_t *cfg = &self->cfg;
    self->db = db_new(self->conninfo);
    self->bus = bus_client_new(self->endpoint);
    self->arena = arena_new();
    if (self->db == NULL || self->bus == NULL || self->arena == NULL) {
        log_error(NULL, "relay: cannot start (no memory, or no bus socket)");
        return -1;
    }
    db_register(self->db, relay_stmts, sizeof relay_stmts / sizeof relay_stmts[0]);
    if (cfg->task_init) cfg->task_init(cfg->task_ctx, self->db);
    self->next_task = clock_mono_ms() + 1000; /* first task run soon after start */
    return 0;
}

/* One pass, and the task when it is due. Asks for no pause when the batch
 * was full: more may be due. */
static int relay_tick(void *arg) {
    relay_t *self = arg;
    relay_config_t *cfg = &self->cfg;
    int n = relay_pass(self->db, self->bus, self->arena, cfg->source, cfg->batch, cfg->timeout_ms);
    arena_reset(self->arena);
    if (cfg->task && clock_mono_ms() >= self->next_task) {
        cfg->task(cfg->task_ctx, self->db);
        self->next_task = clock_mono_ms() + cfg->task_every_ms;
    }
    return n >= cfg->batch;
}

static void relay_teardown(void *arg) {
    relay_t *self = arg;
    arena_destroy(&self->arena);
    bus_client_destroy(&self->bus);
    db_destroy(&self->db);
}

static void relay_free(relay_t *self) {
    free(self->conninfo);
    free(self->endpoint);
    free(self);
}

relay_t *relay_start(const relay_config_t *cfg) {
    relay_t *self = calloc(1, sizeof *self);
    if (self == NULL) return NULL;
    self->cfg = *cfg;
    if (self->cfg.interval_ms <= 0) self->cfg.interval_ms = 250;
    if (self->cfg.batch <= 0) self->cfg.batch = 50;
    if (self->cfg.timeout_ms <= 0) self->cfg.timeout_ms = 2000;
    if (self->cfg.task_every_ms <= 0) self->cfg.task_every_ms = 3600000;
    self->conninfo = strdup(cfg->conninfo);
    self->endpoint = strdup(cfg->endpoint);
    ticker_config_t tc = {.interval_ms = self->cfg.interval_ms,
                          .setup = relay_setup,
                          .tick = relay_tick,
                          .teardown = relay_teardown,
                          .ctx = self};
    if (self->conninfo == NULL || self->endpoint == NULL || (self->ticker = ticker_new(&tc)) == NULL) {
        log_error(NULL, "relay: cannot start its thread");
        relay_free(self);
        return NULL;
    }
    return self;
}

void relay_stop(relay_t **self) {
    if (self == NULL || *self == NULL) return;
    ticker_destroy(&(*self)->ticker);
    relay_free(*self);
    *self = NULL;
}
