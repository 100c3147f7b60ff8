/* The expiry sweep: on the relay's thread (lib/svc/relay.h), every
 * PARLEY_TRAINING_SWEEP_MS (a day by default; the tests run it every
 * second), each authority's people are recomputed on London's date; a
 * standing that changed (a certificate that expired overnight) is stored
 * and announced (training.status_changed), and each course expiry entering
 * the window is announced once (training.expiring). Once across processes:
 * an authority is swept by one process at a time (a transaction-scoped
 * advisory lock, skipped by the others), its people are locked while it
 * runs, and a change is stored only when the stored standing differs, so
 * a second sweep, or a request recording a completion meanwhile, finds it
 * done and announces nothing twice. */
#include "core/log.h"
#include "services/training/training.h"
#include "svc/svc.h"

static const db_stmt_t stmts[] = {
    {"sw_authorities", "SELECT authority_id FROM sweep_authorities ORDER BY authority_id"},
    {"sw_claim", "SELECT pg_try_advisory_xact_lock(hashtext('parley.training.sweep'), hashtext($1))"},
    {"sw_people", "SELECT id FROM people WHERE authority_id = $1 ORDER BY id FOR UPDATE"},
};

void sweep_init(void *ctx, db_t *db) {
    (void)ctx;
    db_register(db, stmts, sizeof stmts / sizeof stmts[0]);
    training_register_statements(db);
}

/* Sweeps one authority in a transaction of its own with its tenant set. */
static void sweep_authority(db_t *db, arena_t *a, char *authority) {
    Parley__Common__V1__Principal p = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    p.n_authority_ids = 1;
    p.authority_ids = &authority;
    const char *params[] = {authority};
    db_result_t *r = NULL;
    int changed = 0;
    int rc = db_tx_begin(db, &p);
    if (rc == 0) rc = db_exec(db, "sw_claim", 1, params, &r);
    bool mine = rc == 0 && db_rows(r) == 1 && db_bool(r, 0, 0);
    db_result_free(&r);
    if (rc == 0 && mine) rc = db_exec(db, "sw_people", 1, params, NULL);
    if (rc == 0 && mine) rc = standing_refresh(db, a, authority, NULL, NULL, true, &changed);
    if (rc == 0 && mine) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    if (rc != 0) log_warn(NULL, "training sweep: authority %s not swept: %s", authority, db_error(db));
    else if (changed) log_info(NULL, "training sweep: %d standings changed in authority %s", changed, authority);
}

void sweep_run(void *ctx, db_t *db) {
    (void)ctx;
    arena_t *a = arena_new();
    if (a == NULL) return;
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, NULL);
    if (rc == 0) rc = db_exec(db, "sw_authorities", 0, NULL, &r);
    db_tx_rollback(db);
    for (int i = 0; rc == 0 && i < db_rows(r); i++) {
        sweep_authority(db, a, db_str(a, r, i, 0));
        arena_reset(a);
    }
    db_result_free(&r);
    arena_destroy(&a);
}
