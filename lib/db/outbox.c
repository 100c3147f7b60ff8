/* The transactional outbox and the consumer's inbox (contract in outbox.h). */
#include "db/outbox.h"

#include <libpq-fe.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "db/db_internal.h"

/* Runs sql on the open transaction's connection. Returns the result (the
 * caller clears it), or NULL after logging the error. */
static PGresult *run(db_t *db, PGconn *c, const char *sql, int n, const char *const *params) {
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    db__count_round_trip(db);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    log_error(NULL, "outbox: %s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

static int failure(PGconn *c) { return PQstatus(c) == CONNECTION_OK ? DB_ERR_QUERY : DB_ERR_UNAVAILABLE; }

/* The open transaction's connection, or NULL when there is none. */
static PGconn *in_transaction(db_t *db) {
    PGconn *c = db__conn(db);
    if (c == NULL || PQtransactionStatus(c) != PQTRANS_INTRANS) return NULL;
    return c;
}

int outbox_add(db_t *db, const char *type, const char *authority_id, const char *subject_id, const char *data_json) {
    PGconn *c = in_transaction(db);
    if (c == NULL || type == NULL || data_json == NULL) return DB_ERR_QUERY;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return DB_ERR_QUERY;
    const char *ev[] = {id, type, authority_id, subject_id, data_json};
    PGresult *r = run(db, c, OUTBOX_ADD_FROM("SELECT $1::uuid, $2::text, $3::uuid, $4::uuid, $5::jsonb"), 5, ev);
    if (r == NULL) return failure(c);
    PQclear(r);
    return 0;
}

int inbox_claim(db_t *db, const char *event_id, const char *type) {
    PGconn *c = in_transaction(db);
    if (c == NULL || event_id == NULL) return DB_ERR_QUERY;
    const char *params[] = {event_id, type ? type : ""};
    PGresult *r = run(db, c, "INSERT INTO inbox (event_id, type) VALUES ($1::uuid, $2) ON CONFLICT DO NOTHING", 2, params);
    if (r == NULL) return failure(c);
    int inserted = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return inserted;
}
