/* The transactional outbox and the consumer's inbox (contract in outbox.h). */
#include "db/outbox.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
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

/* {"a","b"} for n subscriber names, malloc'd. Names are service names
 * (letters, digits, '-', '_', '.'), checked here so quoting stays trivial. */
static char *names_literal(const char *const *names, size_t n) {
    size_t len = 3;
    for (size_t i = 0; i < n; i++) {
        if (names[i] == NULL || *names[i] == '\0' || strspn(names[i], "abcdefghijklmnopqrstuvwxyz"
                                                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                                                         strlen(names[i]))
            return NULL;
        len += strlen(names[i]) + 3;
    }
    char *s = malloc(len);
    if (s == NULL) return NULL;
    size_t k = 0;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) s[k++] = ',';
        s[k++] = '"';
        memcpy(s + k, names[i], strlen(names[i]));
        k += strlen(names[i]);
        s[k++] = '"';
    }
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

int outbox_add(db_t *db, const char *type, const char *authority_id, const char *subject_id, const char *data_json,
               const char *const *subscribers, size_t n_subscribers) {
    PGconn *c = in_transaction(db);
    if (c == NULL || type == NULL || data_json == NULL) return DB_ERR_QUERY;
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return DB_ERR_QUERY;
    const char *ev[] = {id, type, authority_id, subject_id, data_json};
    PGresult *r = run(db, c,
                      "INSERT INTO outbox (id, type, authority_id, subject_id, data)"
                      " VALUES ($1, $2, $3::uuid, $4::uuid, $5::jsonb) RETURNING seq",
                      5, ev);
    if (r == NULL) return failure(c);
    char seq[24];
    snprintf(seq, sizeof seq, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (n_subscribers == 0) return 0;
    char *names = names_literal(subscribers, n_subscribers);
    if (names == NULL) return DB_ERR_QUERY;
    const char *del[] = {id, names, subject_id, seq};
    r = run(db, c,
            "INSERT INTO outbox_deliveries (event_id, subscriber, subject_id, seq)"
            " SELECT $1::uuid, s, $3::uuid, $4::bigint FROM unnest($2::text[]) AS s GROUP BY s",
            4, del);
    free(names);
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
