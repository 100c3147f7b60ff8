/* db — PostgreSQL through libpq: one connection per thread or process, with
 * reconnect, prepared statements, tenant-scoped transactions and migrations.
 * The only module that includes libpq-fe.h.
 *
 * Tenancy: db_tx_begin sets the transaction-local setting
 * parley.authority_ids to the principal's authorities; every tenant table's
 * row-level security policy reads it (see db_tenant_policy in migrations),
 * so a query that forgets its WHERE still sees only the caller's rows.
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
int db_tx_commit(db_t *self);
/* Rolls back if a transaction is open; safe to call in any state. */
void db_tx_rollback(db_t *self);

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

int db_rows(const db_result_t *r);
bool db_is_null(const db_result_t *r, int row, int col);
/* Borrowed text of a value ("" for NULL), valid until db_result_free. */
const char *db_text(const db_result_t *r, int row, int col);
/* The value copied into arena (NULL for SQL NULL). */
char *db_str(arena_t *a, const db_result_t *r, int row, int col);
int64_t db_int(const db_result_t *r, int row, int col);
bool db_bool(const db_result_t *r, int row, int col);
void db_result_free(db_result_t **r);

/* A PostgreSQL array literal ({"a","b"}) of n strings, in arena. */
char *db_array_literal(arena_t *a, char *const *items, size_t n);
/* Parses a one-dimensional text[] literal into *items (in arena). Returns
 * the count, or -1 on a malformed literal. */
int db_array_parse(arena_t *a, const char *literal, char ***items);

#endif
