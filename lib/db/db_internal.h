/* Internal to lib/db. */
#ifndef PARLEY_DB_INTERNAL_H
#define PARLEY_DB_INTERNAL_H

#include <libpq-fe.h>

#include "db/db.h"

/* Takes ownership of r. NULL when out of memory (r is then not freed). */
db_result_t *db_result__wrap(PGresult *r);

/* The live PGconn (after db_ensure), or NULL. */
void *db__conn(db_t *self);

#endif
