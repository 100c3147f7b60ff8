/* The sweeper: a thread of every matching process, with its own database
 * connection, that every PARLEY_MATCHING_SWEEP_MS
 *   - lets offers past their expiry lapse and offers each family to its
 *     next candidate (each offer in its own transaction, claimed with
 *     FOR UPDATE SKIP LOCKED, so instances share the work);
 *   - when capacity has appeared since a waiting request was last tried (an
 *     assignment ended, an offer was answered, a supporter joined or became
 *     eligible or took more families: capacity_signal, kept by triggers),
 *     its family changed or a caseworker retried it (due_at), a lapsed
 *     offer's cool-off ended, an hour has passed, or the request is new,
 *     matches the waiting requests again, least recently tried first (at
 *     most PARLEY_MATCHING_BATCH a pass, so each is tried in turn), and
 *     together: each request's top
 *     candidates go into one assignment problem (assign.h) with its waiting
 *     time weighted in. One instance at a time runs this batch (a
 *     transaction-level advisory lock), and requests are claimed with
 *     FOR UPDATE SKIP LOCKED.
 * It acts for every authority matching has seen (known_authorities), so
 * row-level security applies to it as to a request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/ticker.h"
#include "services/matching/assign.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

#define EXPIRE_BATCH 50
#define TOP_K 8
#define MAX_WEEKS 10

static const db_stmt_t stmts[] = {
    {"sw_authorities", "SELECT authority_id FROM known_authorities ORDER BY authority_id"},
    {"sw_due", "SELECT id FROM offers WHERE status = 'pending' AND expires_at <= clock_timestamp()"
               " ORDER BY expires_at LIMIT $1"},
    {"sw_claim_offer",
     "SELECT id FROM offers WHERE id = $1 AND status = 'pending' AND expires_at <= clock_timestamp()"
     " FOR UPDATE SKIP LOCKED"},
    {"sw_batch_lock", "SELECT pg_try_advisory_xact_lock(hashtext('parley.matching.batch'))"},
    /* Due: new, marked due (its family changed), capacity appeared since
     * its last try (a supporter added, changed or freed), a lapsed offer's
     * cool-off ended since, or an hour passed. The least recently tried
     * first, whatever made them due: however many wait, each is tried in
     * turn, within ceil(due / batch) passes (longest-waiting first, or
     * marked-due first, would leave some never tried behind a full batch
     * that is due again every pass). Within the batch, longest-waiting
     * first, as batch assignment breaks its ties (assign.h). */
    {"sw_waiting",
     "WITH picked AS (SELECT r.id, r.waiting_since FROM match_requests r WHERE r.status = 'waiting'"
     " AND (r.last_attempt_at IS NULL OR r.due_at <= now()"
     "      OR r.last_attempt_at < (SELECT changed_at FROM capacity_signal)"
     "      OR r.last_attempt_at < now() - interval '1 hour'"
     "      OR EXISTS (SELECT 1 FROM offers o WHERE o.match_request_id = r.id AND o.status = 'expired'"
     "                 AND o.answered_at + $2::bigint * interval '1 second' <= now()"
     "                 AND o.answered_at + $2::bigint * interval '1 second' > r.last_attempt_at))"
     " ORDER BY r.last_attempt_at NULLS FIRST, r.waiting_since, r.id"
     " LIMIT $1 FOR UPDATE OF r SKIP LOCKED)"
     " SELECT id FROM picked ORDER BY waiting_since, id"},
};

const db_stmt_t *sweeper_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* A principal holding every authority matching has seen, in a; NULL when
 * there are none (or on failure). */
static Parley__Common__V1__Principal *everyone(db_t *db, arena_t *a) {
    db_result_t *r = NULL;
    if (db_exec(db, "sw_authorities", 0, NULL, &r) != 0) return NULL;
    int n = db_rows(r);
    Parley__Common__V1__Principal *p = NULL;
    if (n > 0) {
        p = arena_alloc(a, sizeof *p);
        parley__common__v1__principal__init(p);
        p->authority_ids = arena_alloc(a, (size_t)n * sizeof *p->authority_ids);
        for (int i = 0; i < n; i++) p->authority_ids[i] = db_str(a, r, i, 0);
        p->n_authority_ids = (size_t)n;
    }
    db_result_free(&r);
    return p;
}

static int expire_due(db_t *db, arena_t *a, const Parley__Common__V1__Principal *who) {
    int rc = db_tx_begin(db, who);
    db_result_t *r = NULL;
    const char *limit[] = {arena_printf(a, "%d", EXPIRE_BATCH)};
    if (rc == 0) rc = db_exec(db, "sw_due", 1, limit, &r);
    db_tx_rollback(db);
    if (rc != 0) return 0;
    int done = 0;
    for (int i = 0; i < db_rows(r); i++) {
        const char *id[] = {db_text(r, i, 0)};
        db_result_t *c = NULL;
        rc = db_tx_begin(db, who);
        if (rc == 0) rc = db_exec(db, "sw_claim_offer", 1, id, &c);
        bool mine = rc == 0 && db_rows(c) == 1;
        db_result_free(&c);
        if (mine) rc = offers_expire(db, a, id[0]);
        if (rc == 0 && mine) rc = db_tx_commit(db);
        else db_tx_rollback(db);
        if (rc != 0) log_warn(NULL, "sweeper: offer %s not expired yet: %s", id[0], db_error(db));
        done += mine && rc == 0;
    }
    db_result_free(&r);
    return done;
}

/* One waiting request in the batch. */
typedef struct {
    request_row_t *row;
    ranking_t rk;
    weights_t w;
} item_t;

/* The supporters' slots across the batch, by id. */
typedef struct {
    const char **ids;
    int *slots;
    size_t n, cap;
} roster_t;

static int roster_index(arena_t *a, roster_t *r, const supporter_facts_t *s) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->ids[i], s->id) == 0) return (int)i;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        const char **ids = arena_alloc(a, cap * sizeof *ids);
        int *slots = arena_alloc(a, cap * sizeof *slots);
        if (r->n) {
            memcpy(ids, r->ids, r->n * sizeof *ids);
            memcpy(slots, r->slots, r->n * sizeof *slots);
        }
        r->ids = ids;
        r->slots = slots;
        r->cap = cap;
    }
    int free = s->capacity - s->active - s->pending;
    r->ids[r->n] = s->id;
    r->slots[r->n] = free > 0 ? free : 0;
    return (int)r->n++;
}

/* A pool per authority, loaded once for the batch. */
typedef struct {
    const char *authority;
    pool_t pool;
} batch_pool_t;

static int batch(db_t *db, arena_t *a, char *const *ids, size_t n, int *offered) {
    item_t *items = arena_alloc(a, (n + 1) * sizeof *items);
    batch_pool_t *pools = arena_alloc(a, (n + 1) * sizeof *pools);
    size_t n_pools = 0;
    roster_t roster = {0};
    assign_edge_t *edges = arena_alloc(a, (n * TOP_K + 1) * sizeof *edges);
    int *bonus = arena_alloc(a, (n + 1) * sizeof *bonus), *choice = arena_alloc(a, (n + 1) * sizeof *choice);
    size_t n_edges = 0;
    int64_t now_us = clock_now_ms() * 1000;
    for (size_t i = 0; i < n; i++) {
        item_t *it = &items[i];
        profile_t *p = NULL;
        int rc = requests_lock(db, a, ids[i], &it->row);
        if (rc == 1) rc = profiles_load(db, a, it->row->case_id, &p);
        if (rc == 0) return DB_ERR_QUERY; /* locked above; its profile is a foreign key */
        if (rc < 0 || (rc = weights_load(db, it->row->consortium_id, &it->w)) != 0) return rc;
        pool_t *pool = NULL;
        for (size_t k = 0; k < n_pools && pool == NULL; k++)
            if (strcmp(pools[k].authority, p->authority_id) == 0) pool = &pools[k].pool;
        if (pool == NULL) {
            pools[n_pools].authority = p->authority_id;
            pool = &pools[n_pools++].pool;
            if ((rc = pool_load(db, a, p->authority_id, false, pool)) != 0) return rc;
        }
        case_facts_t facts;
        if ((rc = pool_facts(db, a, p, &it->row->prefs, &facts)) != 0) return rc;
        pool_rank_loaded(a, &facts, pool, &it->w, TOP_K, &it->rk);
        int64_t weeks = (now_us - it->row->waiting_since_us) / (7LL * 86400 * 1000000);
        bonus[i] = (int)(weeks > MAX_WEEKS ? MAX_WEEKS : weeks < 0 ? 0 : weeks) * it->w.waiting_per_week;
        for (size_t k = 0; k < it->rk.n; k++)
            edges[n_edges++] = (assign_edge_t){(int)i, roster_index(a, &roster, &pool->facts[it->rk.idx[k]]),
                                               it->rk.scores[k]};
    }
    assign_problem_t problem = {n, bonus, roster.n, roster.slots, edges, n_edges};
    if (assign_optimal(&problem, choice) != 0) assign_greedy(&problem, choice);
    for (size_t i = 0; i < n; i++) {
        item_t *it = &items[i];
        size_t pick = SIZE_MAX;
        for (size_t k = 0; choice[i] >= 0 && k < it->rk.n; k++)
            if (strcmp(it->rk.pool.facts[it->rk.idx[k]].id, roster.ids[choice[i]]) == 0) pick = it->rk.idx[k];
        int rc = pick == SIZE_MAX ? offering_wait(db, a, it->row)
                                  : offering_make(db, a, it->row, pool_candidate(a, &it->rk, pick, &it->w), NULL);
        if (rc != 0) return rc;
        *offered += pick != SIZE_MAX;
    }
    return 0;
}

static void match_waiting(db_t *db, arena_t *a, const Parley__Common__V1__Principal *who) {
    db_result_t *r = NULL;
    const char *limit[] = {arena_printf(a, "%d", matching_config.batch),
                           arena_printf(a, "%lld", (long long)matching_config.offer_cooloff_s)};
    int rc = db_tx_begin(db, who);
    if (rc == 0) rc = db_exec(db, "sw_batch_lock", 0, NULL, &r);
    bool mine = rc == 0 && db_rows(r) == 1 && db_bool(r, 0, 0);
    db_result_free(&r);
    if (mine) rc = db_exec(db, "sw_waiting", 2, limit, &r);
    int n = mine && rc == 0 ? db_rows(r) : 0;
    int offered = 0;
    if (n > 0) {
        char **ids = arena_alloc(a, (size_t)n * sizeof *ids);
        for (int i = 0; i < n; i++) ids[i] = db_str(a, r, i, 0);
        rc = batch(db, a, ids, (size_t)n, &offered);
    }
    db_result_free(&r);
    if (n > 0 && rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    if (rc != 0) log_warn(NULL, "sweeper: waiting requests not matched this pass: %s", db_error(db));
    else if (n > 0) log_info(NULL, "sweeper: %d waiting request(s) tried, %d offered", n, offered);
}

void sweeper_pass(db_t *db, arena_t *a) {
    Parley__Common__V1__Principal *who = everyone(db, a);
    if (who == NULL) return;
    int expired = expire_due(db, a, who);
    if (expired > 0) log_info(NULL, "sweeper: %d offer(s) lapsed", expired);
    match_waiting(db, a, who);
}

struct sweeper {
    char *conninfo;
    ticker_t *ticker;
    db_t *db;       /* the thread's own, from sweeper_setup */
    arena_t *arena; /* likewise */
};

static int sweeper_setup(void *arg) {
    sweeper_t *self = arg;
    self->db = db_new(self->conninfo);
    self->arena = arena_new();
    if (self->db == NULL || self->arena == NULL) {
        log_error(NULL, "sweeper: cannot start (no memory)");
        return -1;
    }
    matching_register_statements(self->db);
    return 0;
}

static int sweeper_tick(void *arg) {
    sweeper_t *self = arg;
    sweeper_pass(self->db, self->arena);
    arena_reset(self->arena);
    return 0;
}

static void sweeper_teardown(void *arg) {
    sweeper_t *self = arg;
    arena_destroy(&self->arena);
    db_destroy(&self->db);
}

sweeper_t *sweeper_start(const char *conninfo) {
    sweeper_t *self = calloc(1, sizeof *self);
    if (self == NULL) return NULL;
    self->conninfo = strdup(conninfo);
    ticker_config_t tc = {.interval_ms = matching_config.sweep_ms,
                          .setup = sweeper_setup,
                          .tick = sweeper_tick,
                          .teardown = sweeper_teardown,
                          .ctx = self};
    if (self->conninfo == NULL || (self->ticker = ticker_new(&tc)) == NULL) {
        log_error(NULL, "sweeper: cannot start its thread");
        free(self->conninfo);
        free(self);
        return NULL;
    }
    return self;
}

void sweeper_stop(sweeper_t **self) {
    if (self == NULL || *self == NULL) return;
    sweeper_t *s = *self;
    ticker_destroy(&s->ticker);
    free(s->conninfo);
    free(s);
    *self = NULL;
}
