/* The request's audit row, without a database: what the gateway tells a
 * service (audit_describe), the parameters lib/db sends with the COMMIT
 * (db__audit_params), the audit context's life on a handle, and the HTTP
 * status a service records being the one the gateway answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db/db.h"
#include "db/db_internal.h"
#include "gateway/audit.h"
#include "gateway/http.h"
#include "gateway/routes.h"
#include "svc/svc.h"

#define A1 "11111111-1111-4111-8111-111111111111"
#define A2 "22222222-2222-4222-8222-222222222222"
#define CONSORTIUM "33333333-3333-4333-8333-333333333333"
#define CLIENT "44444444-4444-4444-8444-444444444444"
#define CASE "55555555-5555-4555-8555-555555555555"

static const route_t stages = {"POST", "/v1/cases/{id}/stages", "intake", NULL, "RecordStage", 1, 201};
static const route_t create = {"POST", "/v1/families", "intake", NULL, "CreateFamily", 1, 201};

static char *authorities[] = {A1, A2};
static char *roles[] = {"caseworker", "consortium_admin"};

static Parley__Common__V1__Principal principal(void) {
    Parley__Common__V1__Principal p = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    p.client_id = CLIENT;
    p.consortium_id = CONSORTIUM;
    p.n_authority_ids = 2;
    p.authority_ids = authorities;
    p.n_roles = 2;
    p.roles = roles;
    return p;
}

static void test_the_gateway_describes_the_row_a_service_writes(void **state) {
    (void)state;
    arena_t *a = arena_new();
    route_match_t m = {.route = &stages, .n_params = 1};
    char long_id[300];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    audit_entry_t e = {&m, NULL, "rid", long_id, NULL, 201, "10.0.0.1", "client-rid"};
    Parley__Common__V1__Audit *d = audit_describe(a, &e);
    assert_non_null(d);
    assert_string_equal(d->action, "update");
    assert_string_equal(d->record_type, "cases");
    assert_int_equal(strlen(d->record_id), 100); /* as audit.events' readers bound it */
    assert_int_equal(d->outcome, 201);
    assert_string_equal(d->client_address, "10.0.0.1");
    assert_string_equal(d->client_request_id, "client-rid");
    assert_string_equal(d->route, "POST /v1/cases/{id}/stages"); /* what was tried: the route, not the path */
    route_match_t c = {.route = &create};
    audit_entry_t f = {&c, NULL, "rid", NULL, NULL, 201, NULL, NULL};
    d = audit_describe(a, &f);
    assert_string_equal(d->action, "create");
    assert_string_equal(d->record_type, "families");
    assert_string_equal(d->record_id, ""); /* the service names the new object */
    arena_destroy(&a);
}

static void test_the_row_names_the_paths_id_then_the_named_object(void **state) {
    (void)state;
    Parley__Common__V1__Principal p = principal();
    Parley__Common__V1__Audit au = PARLEY__COMMON__V1__AUDIT__INIT;
    au.action = "update";
    au.record_type = "cases";
    au.record_id = CASE;
    au.outcome = 201;
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = "rid";
    h.principal = &p;
    h.audit = &au;
    db_audit_params_t ap;
    assert_int_equal(db__audit_params(&h, true, "66666666-6666-4666-8666-666666666666", A2, 409, &ap), 0);
    const char **v = ap.values;
    assert_string_equal(v[0], "true");
    assert_string_equal(v[1], CONSORTIUM);
    assert_string_equal(v[2], CLIENT);
    assert_string_equal(v[3], "caseworker,consortium_admin");
    assert_string_equal(v[4], "update");
    assert_string_equal(v[5], "cases");
    assert_string_equal(v[6], CASE); /* the path's id wins over the one named */
    assert_string_equal(v[7], A2);
    assert_string_equal(v[8], "rid");
    assert_string_equal(v[9], "409");
    assert_string_equal(v[10], "{" A1 "," A2 "}");
    assert_null(v[11]);
    assert_null(v[12]);
    assert_null(v[13]); /* no route given (a row described before routes were recorded) */
    db__audit_free(&ap);
    au.route = "POST /v1/cases/{id}/stages";
    assert_int_equal(db__audit_params(&h, true, NULL, A2, 403, &ap), 0);
    assert_string_equal(ap.values[13], "POST /v1/cases/{id}/stages");
    assert_string_equal(ap.values[9], "403");
    db__audit_free(&ap);
    au.route = NULL;

    au.record_id = ""; /* a create: the named (or touched) object */
    p.consortium_id = "not a consortium";
    assert_int_equal(db__audit_params(&h, false, "", "not-a-uuid", 201, &ap), 0);
    assert_string_equal(ap.values[0], "false");
    assert_null(ap.values[1]);
    assert_null(ap.values[6]);
    assert_null(ap.values[7]);
    assert_null(ap.values[10]); /* no consortium: no authorities recorded either */
    db__audit_free(&ap);
    h.audit = NULL;
    assert_int_equal(db__audit_params(&h, false, NULL, NULL, 200, &ap), -1);
}

static void test_a_handle_carries_one_requests_row_until_it_ends(void **state) {
    (void)state;
    db_t *db = db_new("host=/nonexistent"); /* never connected */
    Parley__Common__V1__Principal p = principal();
    Parley__Common__V1__Audit au = PARLEY__COMMON__V1__AUDIT__INIT;
    au.outcome = 201;
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.principal = &p;
    db_audit_begin(db, &h); /* no Audit: a service's own call, nothing to write */
    assert_false(db__audit_due(db));
    assert_int_equal(db_audit_end(db, NULL, NULL), -1);
    h.audit = &au;
    db_audit_begin(db, &h);
    assert_true(db__audit_due(db));
    db_audit_object(db, CASE, A1);
    db_audit_outcome(db, 409);
    db_audit_params_t ap;
    assert_int_equal(db__audit_request_params(db, &ap), 0);
    assert_string_equal(ap.values[0], "true");
    assert_string_equal(ap.values[6], CASE);
    assert_string_equal(ap.values[7], A1);
    assert_string_equal(ap.values[9], "409");
    db__audit_free(&ap);
    int outcome = 0;
    assert_int_equal(db_audit_end(db, &outcome, NULL), 0); /* nothing committed */
    assert_int_equal(outcome, 409);
    assert_false(db__audit_due(db));
    /* A statement outside a transaction during an audited request would
     * commit without the row: refused before anything is sent. */
    db_audit_begin(db, &h);
    assert_int_equal(db_exec(db, "any", 0, NULL, NULL), DB_ERR_QUERY);
    assert_string_equal(db_sqlstate(db), DB_SQLSTATE_UNAUDITED);
    db_audit_end(db, NULL, NULL);
    db_destroy(&db);
}

static void test_a_service_records_the_status_the_gateway_answers(void **state) {
    (void)state;
    for (int code = -1; code <= 20; code++) assert_int_equal(svc_http_status(code), http_status_for_code(code));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_gateway_describes_the_row_a_service_writes),
        cmocka_unit_test(test_the_row_names_the_paths_id_then_the_named_object),
        cmocka_unit_test(test_a_handle_carries_one_requests_row_until_it_ends),
        cmocka_unit_test(test_a_service_records_the_status_the_gateway_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
