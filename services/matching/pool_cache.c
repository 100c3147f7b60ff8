/* Each matching process's copy of the supporters' static facts, per
 * authority, for the candidates route (contract in matching.h).
 *
 * Ranking one case reads every supporter serving its authority; with
 * thousands, most of a request went in PostgreSQL returning their
 * languages, specialisms and areas. Those change only when a supporter is
 * added or changed, which bumps the authority's row in pool_generations (a
 * trigger, in the same transaction): so each request reads that number, and
 * only when it moved reloads the facts. The places (capacity, active,
 * pending), which every offer changes, are read fresh each time from
 * supporter_places, narrow rows carrying their supporter's authorities. The
 * cache is never the truth: PostgreSQL's generation decides whether it may
 * be used, and it is only a copy of rows any caller holding the authority
 * may read. One cache per thread (the worker's); not thread-safe. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/matching/matching.h"
#include "svc/svc.h"

static const db_stmt_t stmts[] = {
    {"pc_generation", "SELECT generation FROM pool_generations WHERE authority_id = $1"},
    {"pc_static",
     "SELECT s.id, s.languages, s.specialisms, s.areas, s.home_postcode, s.status,"
     " s.vetting_expires_on - date '1970-01-01', s.training_reason"
     " FROM supporters s WHERE s.authority_ids @> ARRAY[$1::uuid]"
     " AND $1::uuid = ANY ((SELECT current_authorities())::uuid[])"},
    {"pc_places",
     "SELECT supporter_id, capacity, active, pending FROM supporter_places"
     " WHERE authority_ids @> ARRAY[$1::uuid] AND ($2::boolean OR capacity > active + pending)"},
};

const db_stmt_t *pool_cache_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

typedef struct {
    char authority[37];
    int64_t generation;
    bool valid;
    uint64_t used; /* for eviction: the least recently used goes */
    arena_t *arena;
    size_t n;
    supporter_facts_t *facts;
    eligibility_input_t *elig;
    uint32_t *slots; /* open addressing on the id: index + 1, 0 empty */
    size_t cap;
} entry_t;

struct pool_cache {
    entry_t *entries;
    size_t max;
    uint64_t tick;
};

pool_cache_t *pool_cache_new(size_t max) {
    pool_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->entries = calloc(max, sizeof *c->entries);
    c->max = max;
    for (size_t i = 0; c->entries && i < max; i++) c->entries[i].arena = arena_new();
    for (size_t i = 0; c->entries && i < max; i++)
        if (c->entries[i].arena == NULL) max = 0;
    if (c->entries == NULL || max == 0) pool_cache_destroy(&c);
    return c;
}

void pool_cache_destroy(pool_cache_t **self) {
    if (self == NULL || *self == NULL) return;
    pool_cache_t *c = *self;
    for (size_t i = 0; c->entries && i < c->max; i++) arena_destroy(&c->entries[i].arena);
    free(c->entries);
    free(c);
    *self = NULL;
}

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The index of supporter id in e, or -1. */
static long lookup(const entry_t *e, const char *id) {
    if (e->cap == 0) return -1;
    for (size_t k = hash(id) & (e->cap - 1);; k = (k + 1) & (e->cap - 1)) {
        uint32_t v = e->slots[k];
        if (v == 0) return -1;
        if (strcmp(e->facts[v - 1].id, id) == 0) return (long)v - 1;
    }
}

/* The entry for authority: its own, else the least recently used one. */
static entry_t *entry_for(pool_cache_t *c, const char *authority) {
    entry_t *oldest = &c->entries[0];
    for (size_t i = 0; i < c->max; i++) {
        entry_t *e = &c->entries[i];
        if (e->valid && strcmp(e->authority, authority) == 0) return e;
        if (!e->valid || (oldest->valid && e->used < oldest->used)) oldest = e;
    }
    oldest->valid = false;
    return oldest;
}

/* Reloads e's static facts for authority. 0 or a DB_ERR_*. */
static int reload(db_t *db, entry_t *e, const char *authority, int64_t generation) {
    e->valid = false;
    arena_reset(e->arena);
    const char *params[] = {authority};
    db_result_t *r = NULL;
    int rc = db_exec(db, "pc_static", 1, params, &r);
    if (rc != 0) return rc;
    size_t n = (size_t)db_rows(r), cap = 16;
    while (cap < 2 * n) cap *= 2;
    arena_t *a = e->arena;
    snprintf(e->authority, sizeof e->authority, "%s", authority);
    const char *auth = arena_strdup(a, authority);
    e->facts = arena_alloc(a, (n + 1) * sizeof *e->facts);
    e->elig = arena_alloc(a, (n + 1) * sizeof *e->elig);
    e->slots = arena_alloc(a, cap * sizeof *e->slots);
    if (e->facts == NULL || e->elig == NULL || e->slots == NULL) {
        db_result_free(&r);
        return DB_ERR_QUERY;
    }
    e->cap = cap;
    e->n = n;
    for (size_t i = 0; i < n; i++) {
        pool_parse_static(a, r, (int)i, auth, &e->facts[i], &e->elig[i]);
        size_t k = hash(e->facts[i].id) & (cap - 1);
        while (e->slots[k] != 0) k = (k + 1) & (cap - 1);
        e->slots[k] = (uint32_t)i + 1;
    }
    db_result_free(&r);
    e->generation = generation;
    e->valid = true;
    return 0;
}

int pool_cache_load(pool_cache_t *c, db_t *db, arena_t *a, const char *authority_id, bool all, pool_t *out) {
    const char *params[] = {authority_id, all ? "true" : "false"};
    db_result_t *r = NULL;
    int rc = db_exec(db, "pc_generation", 1, params, &r);
    if (rc != 0) return rc;
    int64_t generation = db_rows(r) == 1 ? db_int(r, 0, 0) : 0;
    db_result_free(&r);
    entry_t *e = entry_for(c, authority_id);
    /* The generation is read first, so the facts are at least that new. */
    if ((!e->valid || e->generation != generation) && (rc = reload(db, e, authority_id, generation)) != 0) return rc;
    e->used = ++c->tick;

    if ((rc = db_exec(db, "pc_places", 2, params, &r)) != 0) return rc;
    size_t rows = (size_t)db_rows(r), n = 0;
    out->facts = arena_alloc(a, (rows + 1) * sizeof *out->facts);
    out->elig = arena_alloc(a, (rows + 1) * sizeof *out->elig);
    out->given_names = arena_alloc(a, (rows + 1) * sizeof *out->given_names);
    out->family_names = arena_alloc(a, (rows + 1) * sizeof *out->family_names);
    int64_t today = svc_today_days();
    for (size_t i = 0; i < rows; i++) {
        /* A supporter added since the generation was read is not cached
         * yet: as if it had come a moment later. */
        long k = lookup(e, db_text(r, (int)i, 0));
        if (k < 0) continue;
        const eligibility_input_t *el = &e->elig[k];
        if (!all && !(el->active && el->has_vetting && el->vetting_expires >= today - 1 &&
                      el->training != ELIGIBILITY_TRAINING_LAPSED))
            continue;
        out->facts[n] = e->facts[k];
        out->elig[n] = *el;
        out->facts[n].capacity = (int)db_int(r, (int)i, 1);
        out->facts[n].active = (int)db_int(r, (int)i, 2);
        out->facts[n].pending = (int)db_int(r, (int)i, 3);
        out->facts[n].ineligible = eligibility_check(el, today);
        out->given_names[n] = out->family_names[n] = "";
        n++;
    }
    db_result_free(&r);
    out->n = n;
    return 0;
}
