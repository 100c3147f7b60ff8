/* audit — every read or change of personal data, and every use of the
 * administration routes, leaves a row in audit.events: which client, with
 * which roles, for which authority, did what to which record, in which
 * request, with which outcome, when. Rows hold ids and words, never field
 * values. The table is append-only for every role that writes it
 * (deploy/bootstrap.sql).
 *
 * Who writes the row: a request a service answers is audited by that
 * service in the transaction that serves it, from what the gateway puts in
 * RequestHeader.audit (audit_describe), and the reply says so
 * (Status.audited); the Admin routes served here are audited the same way
 * (svc_serve on the thread's connection). The gateway writes the row of
 * every other request itself, after answering (audit_record): one refused
 * before any service was asked (401, 403, 404, 429, 400 ...), a failure a
 * service answered without a row, a replayed answer.
 *
 * A failed authentication leaves a row too (outcome 401 or 429): the client
 * id the key names, when it parses; the consortium and authorities when
 * that client exists; never a role. Every row records the client's address
 * and the X-Request-Id it sent, if valid (request_id is the gateway's own).
 *
 * Who reads what (GET /v1/audit): an admin sees its consortium's rows about
 * an authority it holds; a row about no authority (lists, administration,
 * failed authentications) only when it holds every authority the acting
 * client held (for rows from before that was recorded: every authority of
 * the consortium). Rows naming no consortium (a key of no known client) are
 * for operators only, in the database. */
#ifndef PARLEY_GATEWAY_AUDIT_H
#define PARLEY_GATEWAY_AUDIT_H

#include "bus/bus.h"
#include "db/db.h"
#include "gateway/routes.h"

const db_stmt_t *audit_statements(size_t *n);

/* What one request did, for its audit row. */
typedef struct {
    const route_match_t *match;
    const Parley__Common__V1__Principal *principal;
    const char *request_id;
    const char *record_id;    /* the object's id: the path's, or the created one's; may be NULL */
    const char *authority_id; /* the object's authority when known; may be NULL */
    int outcome;              /* the HTTP status answered */
    const char *client_address;    /* may be NULL */
    const char *client_request_id; /* the client's X-Request-Id when valid; may be NULL */
} audit_entry_t;

/* The action a route performs: read, list, create, update, delete. */
const char *audit_action(const route_match_t *m);

/* What a service needs of e for the row (action, record type, the path's
 * record id, e->outcome as the success status, address, client request
 * id), in a; NULL when out of memory. */
Parley__Common__V1__Audit *audit_describe(arena_t *a, const audit_entry_t *e);

/* Writes e's row in a transaction of its own, synchronous_commit off, one
 * round trip (db_audit_write_alone): these are the rare rows, of requests
 * no service transaction carried. A failure is logged, not answered: the
 * caller already has its answer, and refusing service because the audit
 * store hiccuped would only move the harm. */
void audit_record(db_t *db, arena_t *a, const audit_entry_t *e);

/* The ListAudit handler (consortium admins): ctx is the thread's gw_thread_t. */
int audit_list(void *ctx, const bus_request_t *req, bus_response_t *res);

#endif
