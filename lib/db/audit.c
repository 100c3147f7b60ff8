/* The request's audit row: its context on the handle, the parameters of
 * audit.record_request (deploy/bootstrap.sql), and the row written alone.
 * Contract in db.h ("the request's audit row"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_internal.h"

#define RECORD_MAX 100 /* as audit.events' readers expect: the gateway's path values are shorter */

#define AUDIT_STMT "parley_audit_row"

static const char audit_sql[] =
    "SELECT audit.record_request($1::boolean, $2::uuid, $3::uuid, $4, $5, $6, $7, $8::uuid, $9, $10::integer,"
    " $11::uuid[], $12, $13, $14)";

void db_audit_begin(db_t *self, const Parley__Common__V1__RequestHeader *header) {
    memset(&self->audit, 0, sizeof self->audit);
    if (header == NULL || header->audit == NULL || header->principal == NULL) return;
    self->audit.header = header;
    self->audit.outcome = header->audit->outcome > 0 ? header->audit->outcome : 200;
}

void db_audit_object(db_t *self, const char *record_id, const char *authority_id) {
    if (self->audit.header == NULL) return;
    self->audit.named = true;
    snprintf(self->audit.record_id, sizeof self->audit.record_id, "%.*s", RECORD_MAX, record_id ? record_id : "");
    snprintf(self->audit.authority_id, sizeof self->audit.authority_id, "%s",
             ids_is_uuid(authority_id) ? authority_id : "");
}

void db_audit_outcome(db_t *self, int http_status) {
    if (self->audit.header != NULL) self->audit.outcome = http_status;
}

int db_audit_end(db_t *self, int *outcome, int *transactions) {
    if (transactions != NULL) *transactions = self->audit.transactions;
    if (self->audit.header == NULL) return -1;
    int written = self->audit.written ? 1 : 0;
    if (outcome != NULL) *outcome = self->audit.outcome;
    memset(&self->audit, 0, sizeof self->audit);
    return written;
}

bool db__audit_due(const db_t *self) { return self->audit.header != NULL && !self->audit.written; }

static const char *nonempty(const char *s) { return s != NULL && *s != '\0' ? s : NULL; }

/* The principal's roles joined by commas (malloc'd). */
static char *roles_text(const Parley__Common__V1__Principal *p) {
    size_t len = 1;
    for (size_t i = 0; i < p->n_roles; i++) len += strlen(p->roles[i]) + 1;
    char *s = malloc(len), *w = s;
    if (s == NULL) return NULL;
    *w = '\0';
    for (size_t i = 0; i < p->n_roles; i++) {
        if (i > 0) *w++ = ',';
        w = stpcpy(w, p->roles[i]);
    }
    return s;
}

int db__audit_params(const Parley__Common__V1__RequestHeader *h, bool named, const char *record_id,
                     const char *authority_id, int outcome, db_audit_params_t *out) {
    memset(out, 0, sizeof *out);
    if (h == NULL || h->audit == NULL || h->principal == NULL) return -1;
    const Parley__Common__V1__Principal *p = h->principal;
    const Parley__Common__V1__Audit *a = h->audit;
    bool consortium = ids_is_uuid(p->consortium_id);
    out->owned[0] = roles_text(p);
    /* Rows of a consortium say which authorities the client held: they
     * decide which admins may read a row about no authority. */
    if (consortium) out->owned[1] = db__authority_literal(p);
    if (out->owned[0] == NULL || (consortium && out->owned[1] == NULL)) {
        db__audit_free(out);
        return -1;
    }
    snprintf(out->outcome, sizeof out->outcome, "%d", outcome);
    const char *path_id = nonempty(a->record_id);
    const char **v = out->values;
    v[0] = named ? "true" : "false";
    v[1] = consortium ? p->consortium_id : NULL;
    v[2] = ids_is_uuid(p->client_id) ? p->client_id : NULL;
    v[3] = out->owned[0];
    v[4] = nonempty(a->action) ? a->action : "read";
    v[5] = nonempty(a->record_type) ? a->record_type : "";
    v[6] = path_id ? path_id : nonempty(record_id);
    v[7] = ids_is_uuid(authority_id) ? authority_id : NULL;
    v[8] = h->request_id ? h->request_id : "";
    v[9] = out->outcome;
    v[10] = out->owned[1];
    v[11] = nonempty(a->client_address);
    v[12] = nonempty(a->client_request_id);
    v[13] = nonempty(a->route);
    return 0;
}

int db__audit_request_params(const db_t *self, db_audit_params_t *out) {
    const db_audit_ctx_t *c = &self->audit;
    return db__audit_params(c->header, c->named, c->record_id, c->authority_id, c->outcome, out);
}

void db__audit_free(db_audit_params_t *p) {
    for (size_t i = 0; i < sizeof p->owned / sizeof p->owned[0]; i++) {
        free(p->owned[i]);
        p->owned[i] = NULL;
    }
}

/* Prepared once per connection, in the pipeline of its first use, rather
 * than at connect: a database whose bootstrap lacks audit.record_request
 * fails the requests it cannot audit, not every connection. */
int db__pipe_audit(db_pipe_t *p, const db_audit_params_t *ap) {
    if (!p->db->audit_prepared && !p->broken && p->prepare_at < 0) {
        p->prepare_at = p->n;
        if (PQsendPrepare(p->db->conn, AUDIT_STMT, audit_sql, 0, NULL) != 1) p->broken = true;
        p->n++;
    }
    int at = p->n;
    db__pipe_prepared(p, AUDIT_STMT, DB_AUDIT_PARAMS, ap->values);
    return at;
}

void db__pipe_audit_ran(db_pipe_t *p) {
    if (p->prepare_at < 0 || p->db->conn == NULL || p->prepare_at >= DB_PIPE_MAX) return;
    const PGresult *r = p->results[p->prepare_at];
    if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK) p->db->audit_prepared = true;
}

void db__audit_committed(db_t *self, const PGresult *r) {
    if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
        strcmp(PQgetvalue(r, 0, 0), "1") == 0)
        self->audit.written = true;
}

int db_audit_write_alone(db_t *self, const Parley__Common__V1__RequestHeader *header, const char *authority_id,
                         int outcome) {
    if (header == NULL || header->audit == NULL || header->principal == NULL) return 0;
    if (self->in_tx) return DB_ERR_QUERY;
    int rc = db_ensure(self);
    if (rc != 0) return rc;
    db_audit_params_t ap;
    if (db__audit_params(header, true, NULL, authority_id, outcome, &ap) != 0) return DB_ERR_QUERY;
    db_pipe_t p;
    db__pipe_begin(self, &p);
    db__pipe_sql(&p, "BEGIN", 0, NULL);
    db__pipe_sql(&p, "SELECT set_config('synchronous_commit', 'off', true)", 0, NULL);
    db__pipe_audit(&p, &ap);
    db__pipe_sql(&p, "COMMIT", 0, NULL);
    db__audit_free(&ap);
    self->in_tx = true;
    rc = db__pipe_run(&p);
    db__pipe_audit_ran(&p);
    db__pipe_clear(&p);
    if (rc != 0) db_tx_rollback(self);
    self->in_tx = false;
    return rc;
}
