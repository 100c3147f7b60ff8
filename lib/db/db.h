/* db — PostgreSQL through libpq: one connection per thread or process, with
 * reconnect, prepared statements, tenant-scoped transactions, pipelines and
 * migrations. The only module that includes libpq-fe.h.
 *
 * Tenancy: db_tx_begin (and db_run) set the transaction-local setting
 * parley.authority_ids to the principal's authorities; every tenant table's
 * row-level security policy reads it (see db_tenant_policy in migrations),
 * so a query that forgets its WHERE still sees only the caller's rows.
 *
 * Round trips: a transaction costs what it waits for. db_run sends BEGIN,
 * the tenant settings, every statement, the request's audit row and COMMIT
 * in one libpq pipeline: one round trip. The interactive db_tx_begin /
 * db_exec / db_tx_commit costs one per call (the audit row travels with the
 * COMMIT). db_round_trips counts them.
 *
 * Audit (db_audit_begin below, deploy/bootstrap.sql): while a handle serves
 * a request the gateway sent with RequestHeader.audit, the first transaction
 * that commits carries the request's row in audit.events, in the pipeline of
 * its COMMIT: a write's row commits with the write or not at all, a read's
 * is written in the read's transaction committed with synchronous_commit
 * off (no wait for the WAL to reach disk).
 */
#ifndef PARLEY_DB_DB_H
#define PARLEY_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "parley/common/v1/envelope.pb-c.h"

/* Return codes (0 is success). */
#define DB_ERR_UNAVAILABLE (-1) /* no connection: answer UNAVAILABLE */
#define DB_ERR_QUERY (-2)       /* the statement failed: see db_sqlstate */

/* SQLSTATEs a service maps to API errors. */
#define DB_SQLSTATE_UNIQUE "23505"
#define DB_SQLSTATE_FOREIGN_KEY "23503"
#define DB_SQLSTATE_CHECK "23514"
#define DB_SQLSTATE_RLS "42501"
#define DB_SQLSTATE_SERIALIZATION "40001"
#define DB_SQLSTATE_DEADLOCK "40P01"
#define DB_SQLSTATE_LOCK_TIMEOUT "55P03"
/* Raised by a statement's own check (a service's svc_violation() SQL
 * function): the request names something that is not there. The column of
 * the diagnostic (db_error_field) is the API field, the primary message
 * (db_error_message) what to say about it. */
#define DB_SQLSTATE_VIOLATION "PV400"
/* Raised by audit.record_request: a transaction changed data during an
 * audited request but named no object for its row; it is rolled back. */
#define DB_SQLSTATE_UNAUDITED "PV500"

/* SQL for a timestamptz column as whole microseconds since the epoch (what
 * svc_timestamp and page cursors take), and for a bigint parameter of
 * microseconds back as a timestamptz. Exact, unlike to_timestamp(double). */
#define DB_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define DB_FROM_MICROS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 microsecond')"

typedef struct {
    const char *name; /* prepared statement name, unique per connection */
    const char *sql;  /* with $1..$n parameters */
} db_stmt_t;

typedef struct db db_t;
typedef struct db_result db_result_t;

/* A handle for conninfo (borrowed string copied). Connects lazily. Every
 * statement registered with db_prepare is (re)prepared on each connect. */
db_t *db_new(const char *conninfo);
void db_destroy(db_t **self);

/* Registers statements to prepare on every connection (borrowed array; must
 * outlive db). Call before first use. Returns 0 or -1 when full. */
int db_register(db_t *self, const db_stmt_t *stmts, size_t n);

/* A module's statements: its array and, in *n, their count. */
typedef const db_stmt_t *(*db_stmt_set_t)(size_t *n);

/* db_register for each of n modules' sets, in order. 0 or -1 when full. */
int db_register_sets(db_t *self, const db_stmt_set_t *sets, size_t n);

/* Connects if needed, reconnecting a broken connection (with a backoff of up
 * to 2 s between attempts so a down database is not hammered). Returns 0 or
 * DB_ERR_UNAVAILABLE. */
int db_ensure(db_t *self);

/* Whether the server answers a trivial query now. */
bool db_ping(db_t *self);

/* Applies dir/NNN_*.sql in name order, each once, in its own transaction,
 * recording it in <schema>.schema_migrations; serialised across processes by
 * an advisory lock on the schema's name. Returns 0 or a DB_ERR_*. */
int db_migrate(db_t *self, const char *dir, const char *schema);

/* Begins a transaction scoped to principal's authorities (NULL principal: no
 * authorities, so row-level security hides every tenant row). */
int db_tx_begin(db_t *self, const Parley__Common__V1__Principal *principal);
/* Commits a write: with the request's audit row when one is due (audit.h
 * rules below), in one round trip. */
int db_tx_commit(db_t *self);
/* Ends a read: synchronous_commit off, the request's audit row when due,
 * and COMMIT, in one round trip. A read that found its object (or a list)
 * gets its row; one that named nothing gets none and changes nothing. */
int db_tx_commit_read(db_t *self);
/* Commits a side transaction of an audited request (a cache of data read
 * from another service) without the request's row, which goes with the
 * request's own transaction. Anything else commits with db_tx_commit. */
int db_tx_commit_unaudited(db_t *self);
/* Rolls back if a transaction is open; safe to call in any state. */
void db_tx_rollback(db_t *self);

/* One statement of a pipeline: a prepared statement and its parameters;
 * result is set by db_run (free with db_steps_free). */
typedef struct {
    const char *name;
    int n;
    const char *const *params;
    db_result_t *result;
} db_step_t;

typedef enum {
    DB_READ,  /* synchronous_commit off; nothing but the audit row is written */
    DB_WRITE, /* a durable commit */
} db_kind_t;

/* Runs steps, in order, in one transaction scoped to principal, in one
 * round trip: BEGIN, the tenant settings (and synchronous_commit off for a
 * read), the steps, the request's audit row when due, COMMIT. No statement
 * depends on another's result in the client; one that must stop the
 * transaction raises (a constraint, svc_violation()). Returns 0 with every
 * step's result set; or a DB_ERR_* with none set and nothing committed. A
 * read that finds its connection lost is tried once more on a new one. */
int db_run(db_t *self, const Parley__Common__V1__Principal *principal, db_kind_t kind, db_step_t *steps, size_t n);
void db_steps_free(db_step_t *steps, size_t n);

/* How many times this handle has waited for the server (each statement run
 * alone, each pipeline, each prepare; connecting not counted). */
uint64_t db_round_trips(const db_t *self);

/* ---- the request's audit row (audit.c) ----
 *
 * A service's handler thread calls db_audit_begin before a handler runs and
 * db_audit_end after it (svc_serve does both). Between them, the first
 * commit on the handle writes the row. Its record id is the path's id the
 * gateway sent, else the object named; its authority the object's. The
 * object is named by a statement of the transaction (audit.touch, see
 * deploy/bootstrap.sql) or by db_audit_object. A write that names none
 * is refused at COMMIT (DB_SQLSTATE_UNAUDITED: rolled back). A statement
 * outside a transaction during an audited request is refused too: it would
 * commit without the row. */
void db_audit_begin(db_t *self, const Parley__Common__V1__RequestHeader *header);
/* Names the request's object in C when the handler knows it (a new id it
 * made, or an object it reads from its own copy): record_id and
 * authority_id may be NULL. */
void db_audit_object(db_t *self, const char *record_id, const char *authority_id);
/* The HTTP status the row records when the handler commits and then
 * answers an error (a refused accept that offered the family on). */
void db_audit_outcome(db_t *self, int http_status);
/* Ends the request: -1 when it was not audited here (no RequestHeader.audit),
 * 1 when its row committed (*outcome, may be NULL, the status recorded), 0
 * when none did. *transactions (may be NULL) gets how many it began. */
int db_audit_end(db_t *self, int *outcome, int *transactions);
/* Writes header's row (header->audit and principal; authority_id may be
 * NULL) with outcome in a transaction of its own, synchronous_commit off,
 * one round trip: for a request no transaction of which carried it
 * (answered by the gateway, or without the database). Returns 0 or a
 * DB_ERR_*. */
int db_audit_write_alone(db_t *self, const Parley__Common__V1__RequestHeader *header, const char *authority_id,
                         int outcome);

/* Runs the prepared statement name with n text parameters (NULL = SQL NULL).
 * On success returns 0 and, when out is not NULL, the result (caller frees
 * with db_result_free). */
int db_exec(db_t *self, const char *name, int n, const char *const *params, db_result_t **out);

/* Runs ad-hoc SQL with no parameters (for migrations and health checks). */
int db_exec_sql(db_t *self, const char *sql);

/* The SQLSTATE of the last failed statement ("" if none), and its message.
 * Borrowed, valid until the next call on self. */
const char *db_sqlstate(const db_t *self);
const char *db_error(const db_t *self);
/* Of the last failure: its primary message, the column its diagnostic names
 * (the field of a DB_SQLSTATE_VIOLATION), the constraint broken ("" none). */
const char *db_error_message(const db_t *self);
const char *db_error_field(const db_t *self);
const char *db_error_constraint(const db_t *self);

int db_rows(const db_result_t *r);
bool db_is_null(const db_result_t *r, int row, int col);
/* Borrowed text of a value ("" for NULL), valid until db_result_free. */
const char *db_text(const db_result_t *r, int row, int col);
/* The value copied into arena (NULL for SQL NULL). */
char *db_str(arena_t *a, const db_result_t *r, int row, int col);
int64_t db_int(const db_result_t *r, int row, int col);
bool db_bool(const db_result_t *r, int row, int col);
/* Rows an INSERT, UPDATE or DELETE changed (or a SELECT returned). */
int db_affected(const db_result_t *r);
void db_result_free(db_result_t **r);

/* A PostgreSQL array literal ({"a","b"}) of n strings, in arena. */
char *db_array_literal(arena_t *a, char *const *items, size_t n);
/* Parses a one-dimensional text[] literal into *items (in arena). Returns
 * the count, or -1 on a malformed literal. */
int db_array_parse(arena_t *a, const char *literal, char ***items);

#endif
