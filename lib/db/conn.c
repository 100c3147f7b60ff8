/* Connection, statements and transactions. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_internal.h"

#define DB_MAX_STMT_SETS 16
#define DB_BACKOFF_MAX_MS 2000

struct db {
    char *conninfo;
    PGconn *conn;
    struct {
        const db_stmt_t *stmts;
        size_t n;
    } sets[DB_MAX_STMT_SETS];
    size_t n_sets;
    int64_t next_attempt_ms; /* monotonic; no reconnect before this */
    int backoff_ms;
    bool in_tx;
    char sqlstate[6];
    char error[256];
};

db_t *db_new(const char *conninfo) {
    db_t *db = calloc(1, sizeof *db);
    if (db == NULL) return NULL;
    db->conninfo = strdup(conninfo);
    if (db->conninfo == NULL) {
        free(db);
        return NULL;
    }
    return db;
}

void db_destroy(db_t **self) {
    if (self == NULL || *self == NULL) return;
    if ((*self)->conn != NULL) PQfinish((*self)->conn);
    free((*self)->conninfo);
    free(*self);
    *self = NULL;
}

int db_register(db_t *self, const db_stmt_t *stmts, size_t n) {
    if (self->n_sets == DB_MAX_STMT_SETS) return -1;
    self->sets[self->n_sets].stmts = stmts;
    self->sets[self->n_sets].n = n;
    self->n_sets++;
    if (self->conn != NULL) { /* already connected: prepare the new set now */
        for (size_t i = 0; i < n; i++) {
            PGresult *r = PQprepare(self->conn, stmts[i].name, stmts[i].sql, 0, NULL);
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok) log_error(NULL, "prepare %s: %s", stmts[i].name, PQresultErrorMessage(r));
            PQclear(r);
            if (!ok) return -1;
        }
    }
    return 0;
}

static void db_record_error(db_t *self, const PGresult *r) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(self->sqlstate, sizeof self->sqlstate, "%s", state ? state : "");
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(self->conn);
    snprintf(self->error, sizeof self->error, "%s", msg ? msg : "");
    size_t len = strlen(self->error);
    if (len > 0 && self->error[len - 1] == '\n') self->error[len - 1] = '\0';
}

static int db_prepare_all(db_t *self) {
    for (size_t s = 0; s < self->n_sets; s++) {
        for (size_t i = 0; i < self->sets[s].n; i++) {
            const db_stmt_t *st = &self->sets[s].stmts[i];
            PGresult *r = PQprepare(self->conn, st->name, st->sql, 0, NULL);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                db_record_error(self, r);
                log_error(NULL, "prepare %s: %s", st->name, self->error);
                PQclear(r);
                return -1;
            }
            PQclear(r);
        }
    }
    return 0;
}

/* An idle connection says nothing until it is used: after PostgreSQL
 * restarts, each one fails its next statement. But the server's end closing
 * (or a FATAL message) makes the socket readable while no query is out, which
 * one poll without waiting sees. Such a connection is dropped, so db_ensure
 * connects afresh at once instead of failing the request. */
static void db_drop_if_dead(db_t *self) {
    if (self->conn == NULL || self->in_tx || PQisBusy(self->conn)) return;
    /* A server that goes away may first send why (a FATAL message), then
     * close: read until the socket has nothing more, or is found closed. */
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = PQsocket(self->conn), .events = POLLIN};
        if (p.fd < 0 || poll(&p, 1, 0) <= 0) return; /* nothing waiting: alive */
        if (PQconsumeInput(self->conn) != 1 || PQstatus(self->conn) != CONNECTION_OK) break;
        PGnotify *n;
        while ((n = PQnotifies(self->conn)) != NULL) PQfreemem(n);
    }
    log_warn(NULL, "postgres connection found closed while idle; reconnecting");
    PQfinish(self->conn);
    self->conn = NULL;
    self->next_attempt_ms = 0; /* not a failed attempt: try at once */
}

int db_ensure(db_t *self) {
    db_drop_if_dead(self);
    if (self->conn != NULL && PQstatus(self->conn) == CONNECTION_OK) return 0;
    int64_t now = clock_mono_ms();
    if (now < self->next_attempt_ms) return DB_ERR_UNAVAILABLE;
    if (self->conn != NULL) {
        PQfinish(self->conn);
        self->conn = NULL;
    }
    self->in_tx = false;
    self->conn = PQconnectdb(self->conninfo);
    if (PQstatus(self->conn) != CONNECTION_OK || db_prepare_all(self) != 0) {
        snprintf(self->error, sizeof self->error, "%s", PQerrorMessage(self->conn));
        log_warn(NULL, "postgres unavailable: %s", self->error);
        PQfinish(self->conn);
        self->conn = NULL;
        self->backoff_ms = self->backoff_ms == 0 ? 100 : self->backoff_ms * 2;
        if (self->backoff_ms > DB_BACKOFF_MAX_MS) self->backoff_ms = DB_BACKOFF_MAX_MS;
        self->next_attempt_ms = now + self->backoff_ms;
        return DB_ERR_UNAVAILABLE;
    }
    self->backoff_ms = 0;
    self->next_attempt_ms = 0;
    return 0;
}

/* After a failed call: was it the connection? Then drop it so the next call
 * reconnects (and re-prepares). */
static int db_classify(db_t *self, PGresult *r) {
    db_record_error(self, r);
    if (PQstatus(self->conn) != CONNECTION_OK) {
        log_warn(NULL, "postgres connection lost: %s", self->error);
        PQfinish(self->conn);
        self->conn = NULL;
        self->in_tx = false;
        return DB_ERR_UNAVAILABLE;
    }
    return DB_ERR_QUERY;
}

int db_exec_sql(db_t *self, const char *sql) {
    int rc = db_ensure(self);
    if (rc != 0) return rc;
    PGresult *r = PQexec(self->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : db_classify(self, r);
    PQclear(r);
    return rc;
}

int db_exec(db_t *self, const char *name, int n, const char *const *params, db_result_t **out) {
    if (out != NULL) *out = NULL;
    /* Inside a transaction a lost connection cannot be silently replaced. */
    if (self->conn == NULL && self->in_tx) return DB_ERR_UNAVAILABLE;
    int rc = db_ensure(self);
    if (rc != 0) return rc;
    PGresult *r = PQexecPrepared(self->conn, name, n, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = db_classify(self, r);
        PQclear(r);
        return rc;
    }
    if (out == NULL) {
        PQclear(r);
        return 0;
    }
    *out = db_result__wrap(r);
    if (*out == NULL) {
        PQclear(r);
        return DB_ERR_QUERY;
    }
    return 0;
}

bool db_ping(db_t *self) { return db_exec_sql(self, "SELECT 1") == 0; }

/* Renders the principal's authority ids as a uuid[] literal; ids that are not
 * UUIDs are dropped (the gateway never sends any). */
static char *db_authority_literal(const Parley__Common__V1__Principal *p) {
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

/* Reads a pipeline's results up to its sync point. Returns 0 when every
 * statement succeeded; otherwise the first failure's code (the failed result
 * is recorded). The connection is back out of pipeline mode either way,
 * unless it broke (then it is dropped and DB_ERR_UNAVAILABLE returned). */
static int db_pipeline_finish(db_t *self) {
    PGconn *c = self->conn;
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
        if (st == PGRES_PIPELINE_SYNC) synced = true;
        else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED && rc == 0)
            rc = db_classify(self, r);
        PQclear(r);
        if (self->conn == NULL) return DB_ERR_UNAVAILABLE; /* db_classify dropped it */
    }
    if (!synced || PQexitPipelineMode(c) != 1) {
        log_warn(NULL, "postgres pipeline did not finish: %s", PQerrorMessage(c));
        PQfinish(c);
        self->conn = NULL;
        self->in_tx = false;
        return DB_ERR_UNAVAILABLE;
    }
    return rc;
}

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
    char *ids = db_authority_literal(principal);
    if (ids == NULL) return DB_ERR_QUERY;
    const char *client = (principal && principal->client_id) ? principal->client_id : "";
    const char *params[] = {ids, client};
    /* BEGIN and the tenant settings go out together, in one round trip: every
     * request of every service starts here. */
    PGconn *c = self->conn;
    bool sent = PQenterPipelineMode(c) == 1 && PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
                PQsendQueryParams(c,
                                  "SELECT set_config('parley.authority_ids', $1, true),"
                                  " set_config('parley.client_id', $2, true)",
                                  2, NULL, params, NULL, NULL, 0) == 1 &&
                PQpipelineSync(c) == 1;
    free(ids);
    if (!sent) {
        snprintf(self->error, sizeof self->error, "%s", PQerrorMessage(c));
        log_warn(NULL, "postgres pipeline could not be sent: %s", self->error);
        PQfinish(c);
        self->conn = NULL;
        self->in_tx = false;
        return DB_ERR_UNAVAILABLE;
    }
    self->in_tx = true; /* BEGIN was sent: roll back on any failure below */
    rc = db_pipeline_finish(self);
    if (rc != 0) db_tx_rollback(self);
    return rc;
}

int db_tx_commit(db_t *self) {
    if (self->conn == NULL) {
        self->in_tx = false;
        return DB_ERR_UNAVAILABLE;
    }
    PGresult *r = PQexec(self->conn, "COMMIT");
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : db_classify(self, r);
    PQclear(r);
    self->in_tx = false;
    return rc;
}

void db_tx_rollback(db_t *self) {
    if (self->conn != NULL && PQtransactionStatus(self->conn) != PQTRANS_IDLE) {
        PQclear(PQexec(self->conn, "ROLLBACK"));
    }
    self->in_tx = false;
}

const char *db_sqlstate(const db_t *self) { return self->sqlstate; }
const char *db_error(const db_t *self) { return self->error; }

void *db__conn(db_t *self) { return self->conn; }
