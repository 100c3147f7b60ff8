/* Internal to lib/db: the connection handle's state, shared by conn.c
 * (connection, statements), tx.c (transactions and pipelines) and audit.c
 * (the request's audit row). */
#ifndef PARLEY_DB_INTERNAL_H
#define PARLEY_DB_INTERNAL_H

#include <libpq-fe.h>

#include "core/ids.h"
#include "db/db.h"

#define DB_MAX_STMT_SETS 64
#define DB_AUDIT_PARAMS 14

/* The request being served on this handle, for its audit row (audit.c). */
typedef struct {
    const Parley__Common__V1__RequestHeader *header; /* NULL: no audited request */
    bool named;                                      /* db_audit_object was called */
    char record_id[101];                             /* named by the handler ("" none) */
    char authority_id[IDS_UUID_LEN + 1];             /* named by the handler ("" none) */
    int outcome;                                     /* the HTTP status the row records */
    bool written;                                    /* the row committed */
    int transactions;                                /* begun while serving the request */
} db_audit_ctx_t;

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
    bool audit_prepared; /* the audit call is prepared on this connection */
    uint64_t round_trips; /* waits for the server, since db_new */
    char sqlstate[6];
    char error[256];
    char error_message[256]; /* the primary message alone */
    char error_field[101];   /* the diagnostic's column name: the field a violation names */
    char error_constraint[64];
    db_audit_ctx_t audit;
};

/* Takes ownership of r. NULL when out of memory (r is then not freed). */
db_result_t *db_result__wrap(PGresult *r);

/* The live PGconn (after db_ensure), or NULL. */
void *db__conn(db_t *self);

/* Counts one wait for the server (a statement run alone, or a pipeline). */
void db__count_round_trip(db_t *self);

/* Records a failed result's SQLSTATE and messages (r may be NULL: the
 * connection's error). After a failed call: drops a broken connection and
 * returns DB_ERR_UNAVAILABLE, else DB_ERR_QUERY. */
int db__classify(db_t *self, PGresult *r);

/* The principal's authority ids as a uuid[] literal (malloc'd), ids that
 * are not UUIDs dropped. NULL when out of memory. */
char *db__authority_literal(const Parley__Common__V1__Principal *p);

/* The request's audit row is still to be written in the transaction that
 * commits next. */
bool db__audit_due(const db_t *self);

/* The parameters of audit.record_request for header's row: named says the
 * caller names the object (record_id, authority_id: may be NULL or ""),
 * with outcome. 0, or -1 when out of memory or header has no audit or
 * principal. Free with db__audit_free. */
typedef struct {
    const char *values[DB_AUDIT_PARAMS];
    char *owned[2];
    char outcome[12];
} db_audit_params_t;
int db__audit_params(const Parley__Common__V1__RequestHeader *header, bool named, const char *record_id,
                     const char *authority_id, int outcome, db_audit_params_t *out);
/* The same for the request self serves now. */
int db__audit_request_params(const db_t *self, db_audit_params_t *out);
void db__audit_free(db_audit_params_t *p);

/* A pipeline being sent (tx.c): statements go out one after another and
 * their results are read together after one sync, in one round trip. */
#define DB_PIPE_MAX 64
typedef struct {
    db_t *db;
    int n;        /* statements sent */
    int received; /* results read */
    bool broken;  /* a send failed: the connection is unusable */
    int prepare_at; /* the audit call's prepare, when sent (else -1) */
    PGresult *results[DB_PIPE_MAX];
} db_pipe_t;

/* Enters pipeline mode on the live connection (db_ensure first). */
void db__pipe_begin(db_t *self, db_pipe_t *p);
/* Sends sql with text parameters / a prepared statement. */
void db__pipe_sql(db_pipe_t *p, const char *sql, int n, const char *const *params);
void db__pipe_prepared(db_pipe_t *p, const char *name, int n, const char *const *params);
/* Syncs and reads every result into p->results, in order. 0 when every
 * statement succeeded, else the first failure's code (recorded). Back out
 * of pipeline mode, unless the connection broke (then dropped, and
 * DB_ERR_UNAVAILABLE). */
int db__pipe_run(db_pipe_t *p);
void db__pipe_clear(db_pipe_t *p);

/* Sends the audit call with ap's values, preparing it first (in the same
 * pipeline) when this connection has not yet. Returns the index of its
 * result in p->results. After db__pipe_run, db__pipe_audit_ran records the
 * prepare as done when it succeeded. */
int db__pipe_audit(db_pipe_t *p, const db_audit_params_t *ap);
void db__pipe_audit_ran(db_pipe_t *p);

/* Marks the request's row as committed when r (the call's result) says
 * one was written. */
void db__audit_committed(db_t *self, const PGresult *r);

#endif
