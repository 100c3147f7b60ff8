/* Transactions and pipelines: BEGIN with the tenant settings, COMMIT with
 * the request's audit row, and whole transactions in one round trip
 * (libpq pipeline mode: every statement is sent before any result is
 * read). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_internal.h"

#define TENANT_SQL "SELECT set_config('parley.authority_ids', $1, true), set_config('parley.client_id', $2, true)"
/* A read's COMMIT does not wait for its WAL (the audit row is all it
 * writes): what a crash can lose is the last moments' read rows, never a
 * write's (README, "Audit"). */
#define RELAXED_SQL "SELECT set_config('synchronous_commit', 'off', true)"
#define TENANT_READ_SQL TENANT_SQL ", set_config('synchronous_commit', 'off', true)"

char *db__authority_literal(const Parley__Common__V1__Principal *p) {
    size_t n = p ? p->n_authority_ids : 0;
    char *s = malloc(3 + n * (IDS_UUID_LEN + 1));
    if (s == NULL) return NULL;
    size_t k = 0;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (!ids_is_uuid(p->authority_ids[i])) continue;
        if (k > 1) s[k++] = ',';
        memcpy(s + k, p->authority_ids[i], IDS_UUID_LEN);
        k += IDS_UUID_LEN;
    }
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

/* ---- pipelines ------------------------------------------------------------------ */

void db__pipe_begin(db_t *self, db_pipe_t *p) {
    memset(p, 0, sizeof *p);
    p->db = self;
    p->prepare_at = -1;
    p->broken = self->conn == NULL || PQenterPipelineMode(self->conn) != 1;
}

static void pipe_count(db_pipe_t *p, int sent) {
    if (sent != 1 || p->n >= DB_PIPE_MAX) p->broken = true;
    p->n++;
}

void db__pipe_sql(db_pipe_t *p, const char *sql, int n, const char *const *params) {
    if (p->broken) return;
    pipe_count(p, PQsendQueryParams(p->db->conn, sql, n, NULL, params, NULL, NULL, 0));
}

void db__pipe_prepared(db_pipe_t *p, const char *name, int n, const char *const *params) {
    if (p->broken) return;
    pipe_count(p, PQsendQueryPrepared(p->db->conn, name, n, params, NULL, NULL, 0));
}

static void drop(db_t *self, const char *why) {
    snprintf(self->error, sizeof self->error, "%s", PQerrorMessage(self->conn));
    log_warn(NULL, "postgres %s: %s", why, self->error);
    PQfinish(self->conn);
    self->conn = NULL;
    self->in_tx = false;
}

int db__pipe_run(db_pipe_t *p) {
    db_t *self = p->db;
    if (self->conn == NULL) return DB_ERR_UNAVAILABLE;
    PGconn *c = self->conn;
    if (p->broken || PQpipelineSync(c) != 1) {
        drop(self, "pipeline could not be sent");
        return DB_ERR_UNAVAILABLE;
    }
    db__count_round_trip(self);
    int rc = 0, idle = 0;
    bool synced = false;
    while (!synced) {
        PGresult *r = PQgetResult(c);
        if (r == NULL) {
            /* Between one statement's results and the next; a broken
             * connection gives nothing more. */
            if (PQstatus(c) != CONNECTION_OK || ++idle > 8) break;
            continue;
        }
        idle = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            synced = true;
            PQclear(r);
            break;
        }
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED && rc == 0)
            rc = db__classify(self, r);
        if (p->received < p->n && p->received < DB_PIPE_MAX) p->results[p->received] = r;
        else PQclear(r);
        p->received++;
        if (self->conn == NULL) return DB_ERR_UNAVAILABLE; /* db__classify dropped it */
    }
    if (!synced || PQexitPipelineMode(c) != 1) {
        drop(self, "pipeline did not finish");
        return DB_ERR_UNAVAILABLE;
    }
    return rc;
}

void db__pipe_clear(db_pipe_t *p) {
    for (int i = 0; i < p->n && i < DB_PIPE_MAX; i++) {
        PQclear(p->results[i]);
        p->results[i] = NULL;
    }
}

/* ---- interactive transactions ---------------------------------------------------- */

static int db_tx_begin_once(db_t *self, const Parley__Common__V1__Principal *principal);

/* Nothing of the request has run when BEGIN fails for a lost connection (it
 * may have died between the idle check and the send): connect again and
 * begin once more. */
int db_tx_begin(db_t *self, const Parley__Common__V1__Principal *principal) {
    bool had_conn = self->conn != NULL;
    int rc = db_tx_begin_once(self, principal);
    if (rc == DB_ERR_UNAVAILABLE && had_conn && self->conn == NULL) {
        self->next_attempt_ms = 0;
        rc = db_tx_begin_once(self, principal);
    }
    return rc;
}

static int db_tx_begin_once(db_t *self, const Parley__Common__V1__Principal *principal) {
    int rc = db_ensure(self);
    if (rc != 0) return rc;
    char *ids = db__authority_literal(principal);
    if (ids == NULL) return DB_ERR_QUERY;
    const char *client = (principal && principal->client_id) ? principal->client_id : "";
    const char *params[] = {ids, client};
    /* BEGIN and the tenant settings go out together, in one round trip: every
     * request of every service starts here. */
    db_pipe_t p;
    db__pipe_begin(self, &p);
    db__pipe_sql(&p, "BEGIN", 0, NULL);
    db__pipe_sql(&p, TENANT_SQL, 2, params);
    free(ids);
    self->in_tx = true; /* BEGIN was sent: roll back on any failure below */
    self->audit.transactions++;
    rc = db__pipe_run(&p);
    db__pipe_clear(&p);
    if (rc != 0) db_tx_rollback(self);
    return rc;
}

/* COMMIT, after RELAXED_SQL when relaxed, and after the request's audit row
 * when audited and one is due: one round trip. */
static int commit(db_t *self, bool relaxed, bool audited) {
    if (self->conn == NULL) {
        self->in_tx = false;
        return DB_ERR_UNAVAILABLE;
    }
    bool due = audited && db__audit_due(self);
    db_audit_params_t ap;
    if (due && db__audit_request_params(self, &ap) != 0) {
        db_tx_rollback(self);
        return DB_ERR_QUERY;
    }
    db_pipe_t p;
    db__pipe_begin(self, &p);
    if (relaxed) db__pipe_sql(&p, RELAXED_SQL, 0, NULL);
    int audit_at = due ? db__pipe_audit(&p, &ap) : -1;
    db__pipe_sql(&p, "COMMIT", 0, NULL);
    if (due) db__audit_free(&ap);
    int rc = db__pipe_run(&p);
    db__pipe_audit_ran(&p);
    if (rc == 0 && due) db__audit_committed(self, p.results[audit_at]);
    db__pipe_clear(&p);
    /* The audit row failed (the COMMIT was then not run), or the COMMIT
     * did (a deferred check): nothing of the transaction stays. */
    if (rc != 0) db_tx_rollback(self);
    self->in_tx = false;
    return rc;
}

int db_tx_commit(db_t *self) { return commit(self, false, true); }
int db_tx_commit_read(db_t *self) { return commit(self, true, true); }
int db_tx_commit_unaudited(db_t *self) { return commit(self, false, false); }

void db_tx_rollback(db_t *self) {
    if (self->conn != NULL && PQtransactionStatus(self->conn) != PQTRANS_IDLE) {
        PQclear(PQexec(self->conn, "ROLLBACK"));
        db__count_round_trip(self);
    }
    self->in_tx = false;
}

/* ---- whole transactions in one round trip ---------------------------------------- */

static int run_once(db_t *self, const Parley__Common__V1__Principal *principal, db_kind_t kind, db_step_t *steps,
                    size_t n, bool *answered) {
    *answered = false;
    if (n + 5 > DB_PIPE_MAX || self->in_tx) {
        log_error(NULL, "db_run: %zu steps, or a transaction already open", n);
        return DB_ERR_QUERY;
    }
    int rc = db_ensure(self);
    if (rc != 0) return rc;
    char *ids = db__authority_literal(principal);
    if (ids == NULL) return DB_ERR_QUERY;
    const char *client = (principal && principal->client_id) ? principal->client_id : "";
    const char *tenant[] = {ids, client};
    bool due = db__audit_due(self);
    db_audit_params_t ap;
    if (due && db__audit_request_params(self, &ap) != 0) {
        free(ids);
        return DB_ERR_QUERY;
    }

    db_pipe_t p;
    db__pipe_begin(self, &p);
    db__pipe_sql(&p, "BEGIN", 0, NULL);
    db__pipe_sql(&p, kind == DB_READ ? TENANT_READ_SQL : TENANT_SQL, 2, tenant);
    int first = p.n;
    for (size_t i = 0; i < n; i++) db__pipe_prepared(&p, steps[i].name, steps[i].n, steps[i].params);
    int audit_at = due ? db__pipe_audit(&p, &ap) : -1;
    db__pipe_sql(&p, "COMMIT", 0, NULL);
    free(ids);
    if (due) db__audit_free(&ap);
    self->in_tx = true;
    self->audit.transactions++;
    rc = db__pipe_run(&p);
    db__pipe_audit_ran(&p);
    *answered = p.received > 0;
    if (rc == 0) {
        if (due) db__audit_committed(self, p.results[audit_at]);
        for (size_t i = 0; i < n && rc == 0; i++) {
            steps[i].result = db_result__wrap(p.results[first + (int)i]);
            if (steps[i].result == NULL) rc = DB_ERR_QUERY;
            else p.results[first + (int)i] = NULL;
        }
        if (rc != 0) db_steps_free(steps, n);
    }
    db__pipe_clear(&p);
    if (rc != 0) db_tx_rollback(self);
    self->in_tx = false;
    return rc;
}

int db_run(db_t *self, const Parley__Common__V1__Principal *principal, db_kind_t kind, db_step_t *steps, size_t n) {
    for (size_t i = 0; i < n; i++) steps[i].result = NULL;
    bool had_conn = self->conn != NULL, answered;
    int rc = run_once(self, principal, kind, steps, n, &answered);
    /* A read that heard nothing back from a connection found lost changed
     * nothing: run it again on a new one. A write is not repeated (it might
     * have committed). */
    if (rc == DB_ERR_UNAVAILABLE && kind == DB_READ && had_conn && self->conn == NULL && !answered) {
        self->next_attempt_ms = 0;
        rc = run_once(self, principal, kind, steps, n, &answered);
    }
    return rc;
}

void db_steps_free(db_step_t *steps, size_t n) {
    for (size_t i = 0; i < n; i++) db_result_free(&steps[i].result);
}
