/* intake — families, children and cases. One process serves every handler;
 * run as many processes as load needs (nothing here is process-local truth). */
#ifndef PARLEY_INTAKE_H
#define PARLEY_INTAKE_H

#include "bus/bus.h"
#include "db/db.h"

typedef struct {
    db_t *db;
} intake_t;

/* Statements each resource file prepares. */
const db_stmt_t *families_statements(size_t *n);
const db_stmt_t *cases_statements(size_t *n);

int families_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int families_get(void *ctx, const bus_request_t *req, bus_response_t *res);

/* Loads family id (visible to the transaction's authorities) into *out.
 * Returns 1 found, 0 not found, or a DB_ERR_*. Used by cases too. */
struct Parley__Intake__V1__Family;
int families_load(db_t *db, arena_t *a, const char *id, struct Parley__Intake__V1__Family **out);

int cases_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int cases_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int cases_list(void *ctx, const bus_request_t *req, bus_response_t *res);

#endif
