/* GET /v1/deadlines: the statutory deadlines of the open cases of the
 * caller's authorities (the week's work), by due date, then kind, start
 * date, starting stage and case id. Each row names its case and quotes its
 * rule, as the case's timeline does (deadlines.h: computed when read, from
 * the stages as stored, for today in the UK, so never stale).
 *
 * Filters: authorityId; dueBefore (a date: due strictly before it); party
 * (who must act: `authority` to decide, assess, issue or review, `family`
 * to respond to a draft or to appeal — DeadlineParty, as deadlines.c
 * assigns it); status (upcoming, met or overdue today).
 *
 * The deadlines are not stored, so the page is found by reading the open
 * cases in chunks of CHUNK (by id) and keeping only the best page_size + 1
 * rows after the cursor: memory is bounded by the page, not by the number
 * of cases. The page token carries the last row's sort key (deadline_key)
 * and case id in the place of the usual (created_at, id). At most
 * MAX_CASES open cases are read for one page: a caller holding more is
 * asked to narrow the list by authorityId. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

#define CHUNK 200
#define MAX_CASES 200000
#define STAGES_PER_CASE 200
#define DEADLINES_PER_CASE 400

typedef Parley__Intake__V1__CaseDeadline row_t;

static const db_stmt_t stmts[] = {
    {"deadline_today", "SELECT ((now() AT TIME ZONE 'Europe/London')::date - date '1970-01-01')"},
    /* A chunk of open cases after case $2, each with its stages. */
    {"deadline_cases",
     "WITH c AS (SELECT id, authority_id FROM cases WHERE status = 'CASE_STATUS_OPEN'"
     "   AND authority_id = ANY (current_authorities()) AND ($1::uuid IS NULL OR authority_id = $1::uuid)"
     "   AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3)"
     " SELECT c.id, c.authority_id, s.stage, (s.\"on\" - date '1970-01-01') FROM c"
     " LEFT JOIN LATERAL (SELECT stage, \"on\" FROM case_stages cs WHERE cs.case_id = c.id"
     "   ORDER BY \"on\", created_at LIMIT 200) s ON true ORDER BY c.id, s.\"on\""},
};

const db_stmt_t *deadline_list_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* A candidate row: its sort key, case and deadline. */
typedef struct {
    int64_t key;
    char case_id[IDS_UUID_LEN + 1];
    char authority_id[IDS_UUID_LEN + 1];
    deadline_t d;
} hit_t;

/* The filters and the page being gathered (best rows, in order). */
typedef struct {
    bool has_before;
    int64_t before;
    int party, status;
    const page_cursor_t *cur;
    hit_t *best;
    size_t n, cap;
} page_t;

/* Whether (key, id) sorts before (key2, id2). */
static bool earlier(int64_t key, const char *id, int64_t key2, const char *id2) {
    return key < key2 || (key == key2 && strcmp(id, id2) < 0);
}

static bool wanted(const page_t *p, const deadline_t *d) {
    return (!p->has_before || d->due_on < p->before) && (p->party == 0 || d->party == p->party) &&
           (p->status == 0 || d->status == p->status);
}

/* Keeps d of case (id, authority) if it is after the cursor and among the
 * best p->cap so far. */
static void consider(page_t *p, const char *id, const char *authority, const deadline_t *d) {
    if (!wanted(p, d)) return;
    int64_t key = deadline_key(d);
    if (p->cur->valid && !earlier(p->cur->micros, p->cur->id, key, id)) return;
    if (p->n == p->cap && !earlier(key, id, p->best[p->n - 1].key, p->best[p->n - 1].case_id)) return;
    size_t at = p->n < p->cap ? p->n++ : p->n - 1; /* full: the last gives way */
    while (at > 0 && earlier(key, id, p->best[at - 1].key, p->best[at - 1].case_id)) {
        p->best[at] = p->best[at - 1];
        at--;
    }
    hit_t *h = &p->best[at];
    h->key = key;
    snprintf(h->case_id, sizeof h->case_id, "%s", id);
    snprintf(h->authority_id, sizeof h->authority_id, "%s", authority);
    h->d = *d;
}

/* One case's stages (rows first..last-1 of r) into its deadlines. */
static void one_case(page_t *p, const db_result_t *r, int first, int last, int64_t today, deadline_stage_t *st,
                     deadline_t *out) {
    size_t n = 0;
    for (int i = first; i < last && n < STAGES_PER_CASE; i++) {
        if (db_is_null(r, i, 2)) continue; /* a case with no stage yet */
        st[n].stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, i, 2));
        st[n].on = db_int(r, i, 3);
        n++;
    }
    size_t nd = deadlines_compute(st, n, today, out, DEADLINES_PER_CASE);
    if (nd > DEADLINES_PER_CASE) nd = DEADLINES_PER_CASE;
    for (size_t k = 0; k < nd; k++) consider(p, db_text(r, first, 0), db_text(r, first, 1), &out[k]);
}

static Parley__Intake__V1__Deadline *deadline_message(arena_t *a, const deadline_t *d) {
    Parley__Intake__V1__Deadline *m = arena_alloc(a, sizeof *m);
    parley__intake__v1__deadline__init(m);
    m->kind = d->kind;
    m->starts_from = d->starts_from;
    m->starts_on = deadline_format(d->starts_on, arena_alloc(a, 11));
    m->due_on = deadline_format(d->due_on, arena_alloc(a, 11));
    m->status = d->status;
    if (d->met_on != DEADLINES_NO_DATE) m->met_on = deadline_format(d->met_on, arena_alloc(a, 11));
    m->met_by = d->met_by;
    m->party = d->party;
    m->rule = (char *)deadline_rule(d->kind);
    return m;
}

/* Reads the open cases chunk by chunk into p. 0, 1 when there were more
 * than MAX_CASES, or a DB_ERR_*. */
static int gather(db_t *db, arena_t *a, const char *authority, int64_t today, page_t *p) {
    deadline_stage_t *st = arena_alloc(a, STAGES_PER_CASE * sizeof *st);
    deadline_t *out = arena_alloc(a, DEADLINES_PER_CASE * sizeof *out);
    char after[IDS_UUID_LEN + 1] = "";
    const char *chunk = arena_printf(a, "%d", CHUNK);
    for (int read = 0; read < MAX_CASES; read += CHUNK) {
        const char *params[] = {authority, after[0] ? after : NULL, chunk};
        db_result_t *r = NULL;
        int rc = db_exec(db, "deadline_cases", 3, params, &r);
        if (rc != 0) return rc;
        int rows = db_rows(r), cases = 0;
        for (int i = 0; i < rows;) {
            int j = i + 1;
            while (j < rows && strcmp(db_text(r, j, 0), db_text(r, i, 0)) == 0) j++;
            one_case(p, r, i, j, today, st, out);
            snprintf(after, sizeof after, "%s", db_text(r, i, 0));
            cases++;
            i = j;
        }
        db_result_free(&r);
        if (cases < CHUNK) return 0;
    }
    return 1;
}

int deadlines_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListDeadlinesRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    svc_check_uuid(res, "authorityId", in->authority_id, false);
    page_t p = {.party = in->party, .status = in->status, .cur = &cur};
    p.has_before = svc_check_date(res, "dueBefore", in->due_before, false, &p.before) && svc_opt(in->due_before);
    if (!svc_ok(res)) return -1;
    p.cap = (size_t)size + 1;
    p.best = arena_alloc(a, p.cap * sizeof *p.best);

    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "deadline_today", 0, NULL, &r)) != 0) return svc_db_fail(res, req, db, rc);
    int64_t today = db_int(r, 0, 0);
    db_result_free(&r);
    rc = gather(db, a, svc_opt(in->authority_id), today, &p);
    if (rc < 0) return svc_db_fail(res, req, db, rc);
    int done = db_tx_commit_read(db);
    if (done != 0) return svc_db_fail(res, req, db, done);
    if (rc == 1) {
        bus_response_violation(res, "authorityId", "more than %d open cases: list one authority's at a time",
                               MAX_CASES);
        return -1;
    }

    Parley__Intake__V1__ListDeadlinesResponse *o = arena_alloc(a, sizeof *o);
    parley__intake__v1__list_deadlines_response__init(o);
    o->today = deadline_format(today, arena_alloc(a, 11));
    size_t n = p.n > (size_t)size ? (size_t)size : p.n;
    o->items = arena_alloc(a, (n + 1) * sizeof *o->items);
    for (size_t i = 0; i < n; i++) {
        row_t *x = arena_alloc(a, sizeof *x);
        parley__intake__v1__case_deadline__init(x);
        x->case_id = arena_strdup(a, p.best[i].case_id);
        x->authority_id = arena_strdup(a, p.best[i].authority_id);
        x->deadline = deadline_message(a, &p.best[i].d);
        o->items[i] = x;
    }
    o->n_items = n;
    if (p.n > (size_t)size) {
        page_cursor_t next = {.valid = true, .micros = p.best[n - 1].key};
        snprintf(next.id, sizeof next.id, "%s", p.best[n - 1].case_id);
        o->next_page_token = page_token_encode(a, &next);
    }
    res->reply = &o->base;
    return 0;
}
