/* Numbered migrations, applied once each under an advisory lock. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_internal.h"

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
            if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
                free(buf);
                buf = NULL;
            } else {
                buf[size] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

/* Runs sql with text params, returning the result (caller clears) or NULL. */
static PGresult *run(PGconn *c, const char *sql, int n, const char *const *params, ExecStatusType want) {
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != want) {
        log_error(NULL, "migration step failed: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static int apply_one(PGconn *c, const char *schema, const char *dir, const char *name) {
    const char *params[] = {name};
    PGresult *r = run(c, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, params, PGRES_TUPLES_OK);
    if (r == NULL) return -1;
    int done = PQntuples(r) > 0;
    PQclear(r);
    if (done) return 0;

    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = read_file(path);
    if (sql == NULL) {
        log_error(NULL, "cannot read migration %s", path);
        return -1;
    }
    /* BEGIN; the file (may hold many statements, so simple protocol); record. */
    int rc = -1;
    PGresult *b = PQexec(c, "BEGIN");
    PQclear(b);
    PGresult *m = PQexec(c, sql);
    if (PQresultStatus(m) == PGRES_COMMAND_OK || PQresultStatus(m) == PGRES_TUPLES_OK) {
        PGresult *ins = run(c, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, params, PGRES_COMMAND_OK);
        if (ins != NULL) {
            PQclear(ins);
            PGresult *cm = PQexec(c, "COMMIT");
            rc = PQresultStatus(cm) == PGRES_COMMAND_OK ? 0 : -1;
            PQclear(cm);
        }
    } else {
        log_error(NULL, "migration %s.%s failed: %s", schema, name, PQresultErrorMessage(m));
    }
    PQclear(m);
    if (rc != 0) PQclear(PQexec(c, "ROLLBACK"));
    else log_info(NULL, "applied migration %s/%s", schema, name);
    free(sql);
    return rc;
}

int db_migrate(db_t *self, const char *dir, const char *schema) {
    int rc = db_ensure(self);
    if (rc != 0) return rc;
    PGconn *c = db__conn(self);
    DIR *d = opendir(dir);
    if (d == NULL) {
        log_error(NULL, "cannot open migrations dir %s", dir);
        return DB_ERR_QUERY;
    }
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 && e->d_name[0] >= '0' && e->d_name[0] <= '9')
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);

    const char *params[] = {schema};
    rc = DB_ERR_QUERY;
    PGresult *lock = run(c, "SELECT pg_advisory_lock(hashtext('parley.migrate.' || $1))", 1, params,
                         PGRES_TUPLES_OK);
    if (lock == NULL) goto cleanup;
    PQclear(lock);
    PGresult *t = run(c,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                      0, NULL, PGRES_COMMAND_OK);
    if (t != NULL) {
        PQclear(t);
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) rc = apply_one(c, schema, dir, names[i]) == 0 ? 0 : DB_ERR_QUERY;
    }
    PGresult *un = run(c, "SELECT pg_advisory_unlock(hashtext('parley.migrate.' || $1))", 1, params,
                       PGRES_TUPLES_OK);
    if (un != NULL) PQclear(un);
cleanup:
    for (size_t i = 0; i < n; i++) free(names[i]);
    return rc;
}
