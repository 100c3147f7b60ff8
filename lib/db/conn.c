/* Connection and statements (transactions and pipelines: tx.c; the
 * request's audit row: audit.c). */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_internal.h"

#define DB_BACKOFF_MAX_MS 2000

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
    if (self->n_sets == DB_MAX_STMT_SETS) {
        /* Loud: a set not registered is a handler whose every call fails. */
        log_error(NULL, "db_register: more than %d statement sets; raise DB_MAX_STMT_SETS (%s not registered)",
                  DB_MAX_STMT_SETS, n > 0 ? stmts[0].name : "an empty set");
        return -1;
    }
    self->sets[self->n_sets].stmts = stmts;
    self->sets[self->n_sets].n = n;
    self->n_sets++;
    if (self->conn != NULL) { /* already connected: prepare the new set now */
        for (size_t i = 0; i < n; i++) {
            PGresult *r = PQprepare(self->conn, stmts[i].name, stmts[i].sql, 0, NULL);
            db__count_round_trip(self);
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok) log_error(NULL, "prepare %s: %s", stmts[i].name, PQresultErrorMessage(r));
            PQclear(r);
            if (!ok) return -1;
        }
    }
    return 0;
}

int db_register_sets(db_t *self, const db_stmt_set_t *sets, size_t n) {
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t count;
        const db_stmt_t *stmts = sets[i](&count);
        if (db_register(self, stmts, count) != 0) rc = -1;
    }
    return rc;
}

void db__count_round_trip(db_t *self) { self->round_trips++; }

uint64_t db_round_trips(const db_t *self) { return self->round_trips; }

static const char *diag(const PGresult *r, int field) {
    const char *v = r ? PQresultErrorField(r, field) : NULL;
    return v ? v : "";
}

static void db_record_error(db_t *self, const PGresult *r) {
    snprintf(self->sqlstate, sizeof self->sqlstate, "%s", diag(r, PG_DIAG_SQLSTATE));
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(self->conn);
    snprintf(self->error, sizeof self->error, "%s", msg ? msg : "");
    size_t len = strlen(self->error);
    if (len > 0 && self->error[len - 1] == '\n') self->error[len - 1] = '\0';
    snprintf(self->error_message, sizeof self->error_message, "%s", diag(r, PG_DIAG_MESSAGE_PRIMARY));
    snprintf(self->error_field, sizeof self->error_field, "%s", diag(r, PG_DIAG_COLUMN_NAME));
    snprintf(self->error_constraint, sizeof self->error_constraint, "%s", diag(r, PG_DIAG_CONSTRAINT_NAME));
}

static int db_prepare_all(db_t *self) {
    for (size_t s = 0; s < self->n_sets; s++) {
        for (size_t i = 0; i < self->sets[s].n; i++) {
            const db_stmt_t *st = &self->sets[s].stmts[i];
            PGresult *r = PQprepare(self->conn, st->name, st->sql, 0, NULL);
            db__count_round_trip(self);
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
    self->audit_prepared = false; /* a new connection has no prepared audit call */
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
int db__classify(db_t *self, PGresult *r) {
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
    db__count_round_trip(self);
    ExecStatusType st = PQresultStatus(r);
    rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : db__classify(self, r);
    PQclear(r);
    return rc;
}

int db_exec(db_t *self, const char *name, int n, const char *const *params, db_result_t **out) {
    if (out != NULL) *out = NULL;
    /* Inside a transaction a lost connection cannot be silently replaced. */
    if (self->conn == NULL && self->in_tx) return DB_ERR_UNAVAILABLE;
    /* Autocommitted, it would be a commit without the request's audit row. */
    if (self->audit.header != NULL && !self->in_tx) {
        log_error(self->audit.header->request_id, "db: %s run outside a transaction during an audited request; refused",
                  name);
        snprintf(self->sqlstate, sizeof self->sqlstate, "%s", DB_SQLSTATE_UNAUDITED);
        snprintf(self->error, sizeof self->error, "statement outside a transaction during an audited request");
        return DB_ERR_QUERY;
    }
    int rc = db_ensure(self);
    if (rc != 0) return rc;
    PGresult *r = PQexecPrepared(self->conn, name, n, params, NULL, NULL, 0);
    db__count_round_trip(self);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = db__classify(self, r);
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

const char *db_sqlstate(const db_t *self) { return self->sqlstate; }
const char *db_error(const db_t *self) { return self->error; }
const char *db_error_message(const db_t *self) { return self->error_message; }
const char *db_error_field(const db_t *self) { return self->error_field; }
const char *db_error_constraint(const db_t *self) { return self->error_constraint; }

void *db__conn(db_t *self) { return self->conn; }
