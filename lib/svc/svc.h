/* svc — what every service's handlers share: turning a database failure
 * into the right status, the tenant check on an authority id a caller
 * names, enum <-> stored text, timestamps and field checks that produce
 * field violations. Bridges lib/db and lib/bus so neither knows the other. */
#ifndef PARLEY_SVC_SVC_H
#define PARLEY_SVC_SVC_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "db/db.h"
#include "google/protobuf/timestamp.pb-c.h"

/* Sets res to the status a failed db call deserves: UNAVAILABLE (retry in
 * 1 s) when the database cannot be reached, ABORTED on a serialization
 * failure, INVALID_ARGUMENT naming the field for a statement's own check
 * (DB_SQLSTATE_VIOLATION), otherwise INTERNAL (logged with the request id;
 * the SQL error is never sent to the caller). Rolls back any open
 * transaction. Returns -1. */
int svc_db_fail(bus_response_t *res, const bus_request_t *req, db_t *db, int rc);

/* Whether the principal holds authority_id. */
bool svc_has_authority(const bus_request_t *req, const char *authority_id);

/* Checks a required authority id named in a body: present, a UUID, and one
 * of the caller's; adds a violation on field otherwise. Returns true if ok. */
bool svc_check_authority(const bus_request_t *req, bus_response_t *res, const char *field, const char *value);

/* Field checks: each adds a violation on field and returns false when the
 * value fails. "Required" means a non-empty string. */
bool svc_check_required(bus_response_t *res, const char *field, const char *value);
bool svc_check_max_len(bus_response_t *res, const char *field, const char *value, size_t max);
bool svc_check_uuid(bus_response_t *res, const char *field, const char *value, bool required);
bool svc_check_email(bus_response_t *res, const char *field, const char *value);
bool svc_check_phone(bus_response_t *res, const char *field, const char *value);
bool svc_check_language(bus_response_t *res, const char *field, const char *value);
/* A list of ids (authorityIds ...) names each one once: every item that
 * repeats an earlier one, compared case-insensitively as UUIDs compare,
 * gets a violation on "field[i]". Only the first max items are looked at
 * (the caller bounds the list's length). Returns true when none repeats. */
bool svc_check_distinct(bus_response_t *res, const char *field, char *const *items, size_t n, size_t max);
/* A YYYY-MM-DD calendar date; *days_out (may be NULL) gets its day number
 * since 1970-01-01. */
bool svc_check_date(bus_response_t *res, const char *field, const char *value, bool required, int64_t *days_out);

/* Pure predicates behind the checks (unit-tested). */
bool svc_is_email(const char *s);
bool svc_is_language_tag(const char *s);
bool svc_parse_date(const char *s, int64_t *days);
int64_t svc_today_days(void);

/* The stored text of an enum value (its proto name, "CASE_SOURCE_SCHOOL"),
 * and back (0 when the text is unknown). */
const char *svc_enum_text(const ProtobufCEnumDescriptor *d, int value);
int svc_enum_value(const ProtobufCEnumDescriptor *d, const char *text);

/* A Timestamp in arena from microseconds since the epoch. */
Google__Protobuf__Timestamp *svc_timestamp(arena_t *a, int64_t micros);

/* ---- handler.c: what every handler shares ---- */

/* s, or NULL when s is NULL or "" (an unset optional string field). */
const char *svc_opt(const char *s);

/* Whether no error has been set on res. */
bool svc_ok(const bus_response_t *res);

/* Sets NOT_FOUND on res: "no such <what>" (what is borrowed). Returns -1,
 * so a handler can `return svc_not_found(res, "case");`. */
int svc_not_found(bus_response_t *res, const char *what);

/* The API's word for an enum value ("CASE_SOURCE_SOCIAL_CARE" ->
 * "social_care"), in a (the caller's arena); NULL for an unknown value. */
const char *svc_enum_word(arena_t *a, const ProtobufCEnumDescriptor *d, int value);

/* Whether prepared statement name with its n params returns a row: 1, 0,
 * or a DB_ERR_* (the transaction, if any, is left as it was). */
int svc_exists(db_t *db, const char *name, int n, const char *const *params);

/* A get-one handler's reads: up to SVC_GET_MAX prepared statements, each
 * taking the object's id as its only parameter, run in one round trip with
 * the request's audit row (db_run, DB_READ). The first finds the object
 * (no row: NOT_FOUND) and names it for the audit row (audit.touch in its
 * select list); parse builds the reply from the results, in order. */
#define SVC_GET_MAX 4
typedef struct {
    const char *what; /* NOT_FOUND says "no such <what>" */
    const char *stmts[SVC_GET_MAX];
    size_t n;
    ProtobufCMessage *(*parse)(arena_t *a, db_result_t *const *results);
} svc_get_t;

/* The whole of a "get one object by id" handler: NOT_FOUND when id is not
 * a UUID or the first statement finds nothing; otherwise res->reply is the
 * parsed object (in res's arena). A database failure is answered by
 * svc_db_fail. Returns 0, or -1 with res set. */
int svc_get_one(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, const svc_get_t *get);

/* The same for an object under another (/v1/cases/{id}/stages/{stageId}):
 * get's first statement alone, with the parent's id as $1 and the
 * object's as $2 (NOT_FOUND unless both are UUIDs and it finds a row). */
int svc_get_sub(db_t *db, const bus_request_t *req, bus_response_t *res, const char *parent_id, const char *id,
                const svc_get_t *get);

/* Runs steps as one read (db_run, DB_READ: one round trip, the audit row
 * in it) with the request's principal. 0, or -1 with res set by
 * svc_db_fail. The caller frees the steps' results (db_steps_free). */
int svc_read(db_t *db, const bus_request_t *req, bus_response_t *res, db_step_t *steps, size_t n);

/* ---- serve.c: the request's audit row around every handler ---- */

/* Runs handler for req with the request's audit context open on db (the
 * handler's connection): the first transaction the handler commits on db
 * carries the request's row (lib/db, db_audit_begin). Afterwards: a row
 * that committed sets res->status.audited, so the gateway writes none; an
 * answer that needed no database gets its row alone (synchronous_commit
 * off); a success whose transactions carried no row (a read that named no
 * object, a success path that rolled back) is a bug, logged and answered
 * INTERNAL, never sent without its row. A failure without a row is left to
 * the gateway. Requests without RequestHeader.audit (a service's own
 * calls) just run. Returns the handler's value (-1 when refused). */
int svc_serve(db_t *db, bus_handler_fn handler, void *ctx, const bus_request_t *req, bus_response_t *res);

/* Defines fn__audited(ctx, req, res), fn served through svc_serve with the
 * connection ((ctx_type *)ctx)->db: what a service's method table names. */
#define SVC_AUDITED(ctx_type, fn)                                                                \
    static int fn##__audited(void *ctx, const bus_request_t *req, bus_response_t *res) {         \
        return svc_serve(((ctx_type *)ctx)->db, fn, ctx, req, res);                              \
    }

/* The HTTP status the gateway answers code with (gateway/http.c's
 * http_status_for_code, which tests/unit/test_audit.c compares). */
int svc_http_status(bus_code_t code);

/* For a handler that commits and then answers code: the row records what
 * the caller is told. Call before the commit. */
void svc_audit_answer(db_t *db, bus_code_t code);

#endif
