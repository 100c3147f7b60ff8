/* roundtrips — runs intake's handlers for the hot paths as one of intake's
 * handler threads does (svc_serve on a connection of its own, as the
 * parley_intake role) against a stack's database, and prints what each cost
 * in round trips to PostgreSQL, counted two ways: lib/db's own counter
 * (db_round_trips) and the ReadyForQuery messages in libpq's protocol trace
 * (the server sends one each time the client must wait for it: a statement
 * run alone, or a pipeline's sync). For tests/e2e/test_96_audit_in_transaction.py
 * and the README's figures.
 *
 *   roundtrips DSN hot AUTHORITY_ID
 *       one JSON line per path, in order: POST /v1/families, POST /v1/cases,
 *       GET /v1/cases/{id}, GET /v1/families/{id}, GET /v1/cases
 *       -> {"path":"…","roundTrips":n,"syncs":n,"code":"OK","audited":true,
 *           "requestId":"…","clientRequestId":"…","id":"…"}
 *   roundtrips DSN unnamed-write AUTHORITY_ID FAMILY_ID
 *       an audited request whose transaction changes the family and names no
 *       object for its audit row -> {"rc":n,"sqlstate":"…","requestId":"…"}
 *   roundtrips DSN autocommit AUTHORITY_ID FAMILY_ID
 *       the same change run outside a transaction -> {"rc":n,"sqlstate":"…","requestId":"…"}
 *
 * DSN connects as parley_intake. Exit 0 when it ran (whatever it measured),
 * 1 when it could not, 2 on a usage error.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_internal.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

static const db_stmt_t harness_stmts[] = {
    /* A change that names no object for the audit row (no audit.touch). */
    {"harness_unnamed_change", "UPDATE families SET updated_at = updated_at WHERE id = $1"},
};

typedef struct {
    intake_t ctx;
    FILE *trace;
    char consortium[IDS_UUID_LEN + 1], client[IDS_UUID_LEN + 1];
    char *authorities[1];
    char *roles[1];
    Parley__Common__V1__Principal principal;
} harness_t;

/* ReadyForQuery messages traced since *pos (which moves on). */
static int syncs_since(harness_t *h, long *pos) {
    fflush(h->trace);
    long end = ftell(h->trace);
    fseek(h->trace, *pos, SEEK_SET);
    char line[4096];
    int n = 0;
    while (ftell(h->trace) < end && fgets(line, sizeof line, h->trace) != NULL)
        if (strstr(line, "\tReadyForQuery\t") != NULL || strstr(line, " ReadyForQuery ") != NULL) n++;
    fseek(h->trace, 0, SEEK_END);
    *pos = end;
    return n;
}

typedef struct {
    char request_id[IDS_UUID_LEN + 1];
    char client_request_id[64];
    Parley__Common__V1__Audit audit;
    bus_header_t header;
} call_header_t;

static void header_for(harness_t *h, call_header_t *c, const char *method, const char *action, const char *type,
                       const char *record_id, int outcome) {
    ids_uuid_new(c->request_id);
    snprintf(c->client_request_id, sizeof c->client_request_id, "roundtrips-%.36s", c->request_id);
    parley__common__v1__audit__init(&c->audit);
    c->audit.action = (char *)action;
    c->audit.record_type = (char *)type;
    c->audit.record_id = (char *)(record_id ? record_id : "");
    c->audit.outcome = outcome;
    c->audit.client_address = "127.0.0.1";
    c->audit.client_request_id = c->client_request_id;
    bus_header_t init = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    c->header = init;
    c->header.request_id = c->request_id;
    c->header.method = (char *)method;
    c->header.principal = &h->principal;
    c->header.audit = &c->audit;
}

/* Serves one request through handler and prints its line. Returns the
 * reply (in a) or NULL. */
static ProtobufCMessage *measure(harness_t *h, arena_t *a, const char *path, const char *method, const char *action,
                                 const char *type, const char *record_id, int outcome, bus_handler_fn handler,
                                 const ProtobufCMessage *in, const char *(*id_of)(const ProtobufCMessage *)) {
    call_header_t c;
    header_for(h, &c, method, action, type, record_id, outcome);
    bus_request_t req = {&c.header, in};
    bus_response_t res = {.arena = a};
    parley__common__v1__status__init(&res.status);
    long pos = 0;
    syncs_since(h, &pos);
    uint64_t before = db_round_trips(h->ctx.db);
    svc_serve(h->ctx.db, handler, &h->ctx, &req, &res);
    uint64_t trips = db_round_trips(h->ctx.db) - before;
    int syncs = syncs_since(h, &pos);
    bool ok = res.status.code == PARLEY__COMMON__V1__CODE__CODE_OK && res.reply != NULL;
    printf("{\"path\":\"%s\",\"roundTrips\":%llu,\"syncs\":%d,\"code\":\"%s\",\"audited\":%s,\"requestId\":\"%s\","
           "\"clientRequestId\":\"%s\",\"id\":\"%s\"}\n",
           path, (unsigned long long)trips, syncs, bus_code_name(res.status.code), res.status.audited ? "true" : "false",
           c.request_id, c.client_request_id, ok && id_of ? id_of(res.reply) : "");
    fflush(stdout);
    return ok ? res.reply : NULL;
}

static const char *family_id(const ProtobufCMessage *m) { return ((const Parley__Intake__V1__Family *)m)->id; }
static const char *case_id(const ProtobufCMessage *m) { return ((const Parley__Intake__V1__Case *)m)->id; }

static int hot(harness_t *h, const char *authority) {
    int rc = 1;
    arena_t *a = arena_new();
    if (a == NULL) return 1;
    Parley__Intake__V1__ParentInput parent = PARLEY__INTAKE__V1__PARENT_INPUT__INIT;
    parent.given_name = "Amina";
    parent.family_name = "Yusuf";
    parent.preferred_language = "so";
    parent.has_parental_responsibility = true;
    Parley__Intake__V1__ChildInput child = PARLEY__INTAKE__V1__CHILD_INPUT__INIT;
    child.given_name = "Sami";
    child.family_name = "Yusuf";
    child.date_of_birth = "2016-03-14";
    Parley__Intake__V1__ParentInput *parents[] = {&parent};
    Parley__Intake__V1__ChildInput *children[] = {&child};
    Parley__Intake__V1__CreateFamilyRequest cf = PARLEY__INTAKE__V1__CREATE_FAMILY_REQUEST__INIT;
    cf.authority_id = (char *)authority;
    cf.n_parents = 1;
    cf.parents = parents;
    cf.n_children = 1;
    cf.children = children;
    Parley__Intake__V1__Family *f = (void *)measure(h, a, "POST /v1/families", "CreateFamily", "create", "families",
                                                    NULL, 201, families_create, &cf.base, family_id);
    if (f == NULL || f->n_children != 1) goto done;

    Parley__Intake__V1__ConsentInput consent = PARLEY__INTAKE__V1__CONSENT_INPUT__INIT;
    consent.share_with_agencies = true;
    consent.lawful_basis = PARLEY__INTAKE__V1__LAWFUL_BASIS__LAWFUL_BASIS_PUBLIC_TASK;
    Parley__Intake__V1__CaseNeed needs[] = {PARLEY__INTAKE__V1__CASE_NEED__CASE_NEED_INFORMATION,
                                            PARLEY__INTAKE__V1__CASE_NEED__CASE_NEED_SUPPORTER};
    Parley__Intake__V1__CreateCaseRequest cc = PARLEY__INTAKE__V1__CREATE_CASE_REQUEST__INIT;
    cc.authority_id = (char *)authority;
    cc.family_id = f->id;
    cc.child_id = f->children[0]->id;
    cc.source = PARLEY__INTAKE__V1__CASE_SOURCE__CASE_SOURCE_SCHOOL;
    cc.n_needs = 2;
    cc.needs = needs;
    cc.wants_supporter = true;
    cc.consent = &consent;
    Parley__Intake__V1__Case *k = (void *)measure(h, a, "POST /v1/cases", "CreateCase", "create", "cases", NULL, 201,
                                                  cases_create, &cc.base, case_id);
    if (k == NULL) goto done;

    Parley__Intake__V1__GetCaseRequest gc = PARLEY__INTAKE__V1__GET_CASE_REQUEST__INIT;
    gc.id = k->id;
    measure(h, a, "GET /v1/cases/{id}", "GetCase", "read", "cases", k->id, 200, cases_get, &gc.base, case_id);
    Parley__Intake__V1__GetFamilyRequest gf = PARLEY__INTAKE__V1__GET_FAMILY_REQUEST__INIT;
    gf.id = f->id;
    measure(h, a, "GET /v1/families/{id}", "GetFamily", "read", "families", f->id, 200, families_get, &gf.base,
            family_id);
    Parley__Intake__V1__ListCasesRequest lc = PARLEY__INTAKE__V1__LIST_CASES_REQUEST__INIT;
    lc.page_size = 50;
    measure(h, a, "GET /v1/cases", "ListCases", "list", "cases", NULL, 200, cases_list, &lc.base, NULL);
    rc = 0;
done:
    arena_destroy(&a);
    return rc;
}

/* An audited request that changes the family without naming an object:
 * in a transaction (autocommit false) or alone (true). */
static int unnamed_change(harness_t *h, const char *family, bool autocommit) {
    call_header_t c;
    header_for(h, &c, "UpdateFamily", "update", "families", family, 200);
    db_audit_begin(h->ctx.db, &c.header);
    const char *params[] = {family};
    int rc;
    if (autocommit) {
        rc = db_exec(h->ctx.db, "harness_unnamed_change", 1, params, NULL);
    } else {
        rc = db_tx_begin(h->ctx.db, &h->principal);
        if (rc == 0) rc = db_exec(h->ctx.db, "harness_unnamed_change", 1, params, NULL);
        if (rc == 0) rc = db_tx_commit(h->ctx.db);
        else db_tx_rollback(h->ctx.db);
    }
    int written = db_audit_end(h->ctx.db, NULL, NULL);
    printf("{\"rc\":%d,\"sqlstate\":\"%s\",\"written\":%d,\"requestId\":\"%s\"}\n", rc, db_sqlstate(h->ctx.db), written,
           c.request_id);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: roundtrips DSN hot AUTHORITY | unnamed-write|autocommit AUTHORITY FAMILY\n");
        return 2;
    }
    log_init("roundtrips");
    harness_t h = {0};
    h.ctx.db = db_new(argv[1]);
    if (h.ctx.db == NULL) return 1;
    intake_register_statements(h.ctx.db);
    db_register(h.ctx.db, harness_stmts, sizeof harness_stmts / sizeof harness_stmts[0]);
    if (db_ensure(h.ctx.db) != 0) {
        fprintf(stderr, "roundtrips: cannot connect: %s\n", db_error(h.ctx.db));
        return 1;
    }
    h.trace = tmpfile();
    if (h.trace == NULL) return 1;
    PQsetTraceFlags(db__conn(h.ctx.db), PQTRACE_SUPPRESS_TIMESTAMPS);
    PQtrace(db__conn(h.ctx.db), h.trace);
    ids_uuid_new(h.consortium);
    ids_uuid_new(h.client);
    h.authorities[0] = argv[3];
    h.roles[0] = "caseworker";
    parley__common__v1__principal__init(&h.principal);
    h.principal.client_id = h.client;
    h.principal.consortium_id = h.consortium;
    h.principal.n_authority_ids = 1;
    h.principal.authority_ids = h.authorities;
    h.principal.n_roles = 1;
    h.principal.roles = h.roles;

    int rc = 2;
    if (strcmp(argv[2], "hot") == 0) rc = hot(&h, argv[3]);
    else if (strcmp(argv[2], "unnamed-write") == 0 && argc == 5) rc = unnamed_change(&h, argv[4], false);
    else if (strcmp(argv[2], "autocommit") == 0 && argc == 5) rc = unnamed_change(&h, argv[4], true);
    PQuntrace(db__conn(h.ctx.db));
    fclose(h.trace);
    db_destroy(&h.ctx.db);
    return rc;
}
