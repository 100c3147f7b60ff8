/* Who may do what on the bus: the broker's policy (services/broker/policy.c)
 * over the registry's record of busy workers, its allow-list (allow.c) and
 * key directory tool (keygen.c), and lib/bus's keys, ZAP parsing and User-Id
 * on frames. Time is driven by hand. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/frames.h"
#include "bus/keys.h"
#include "bus/zap.h"
#include "parley/events/v1/events.pb-c.h"
#include "services/broker/allow.h"
#include "services/broker/keygen.h"
#include "services/broker/policy.h"
#include "services/broker/registry.h"

#define LIVENESS 3000

static registry_t *reg;

static int setup(void **state) {
    (void)state;
    reg = registry_new(LIVENESS, free);
    return reg == NULL ? -1 : 0;
}

static int teardown(void **state) {
    (void)state;
    registry_destroy(&reg);
    return 0;
}

/* ---- building requests ---- */

typedef struct {
    uint8_t bytes[1024];
    size_t len;
} packed_t;

static char *caseworker_roles[] = {"caseworker"};
static char *authority_a[] = {"aaaaaaaa-0000-0000-0000-000000000001"};
static char *authority_b[] = {"bbbbbbbb-0000-0000-0000-000000000002"};

/* A caseworker of authority A, as the gateway builds it. */
static Parley__Common__V1__Principal caller_a(void) {
    Parley__Common__V1__Principal p = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    p.client_id = "11111111-2222-3333-4444-555555555555";
    p.consortium_id = "99999999-0000-0000-0000-000000000000";
    p.authority_ids = authority_a;
    p.n_authority_ids = 1;
    p.roles = caseworker_roles;
    p.n_roles = 1;
    return p;
}

static packed_t header(const char *method, Parley__Common__V1__Principal *principal) {
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = "r1";
    h.method = (char *)method;
    h.principal = principal;
    h.deadline_unix_ms = 1700000000000;
    packed_t out;
    out.len = parley__common__v1__request_header__pack(&h, out.bytes);
    return out;
}

static policy_request_t parsed(const packed_t *h) {
    policy_request_t r;
    assert_int_equal(policy_request_parse(h->bytes, h->len, &r), 0);
    return r;
}

static bool may_send_to(const char *kind, const char *service, const packed_t *h, const packed_t *payload,
                        int64_t now) {
    policy_request_t r = parsed(h);
    bool ok = policy_may_send(reg, kind, service, &r, payload ? payload->bytes : NULL, payload ? payload->len : 0,
                              now);
    policy_request_free(&r);
    return ok;
}

/* The service does not change the rules these tests are about. */
static bool may_send(const char *kind, const packed_t *h, const packed_t *payload, int64_t now) {
    return may_send_to(kind, "intake", h, payload, now);
}

/* A matching worker busy, until deadline, with a request from caller_a (as
 * the broker records it on dispatch). */
static registry_worker_t *matching_serves_caller_a(int64_t now, int64_t deadline) {
    registry_worker_t *w = NULL;
    assert_int_equal(registry_worker_add(reg, "W1", 2, "matching", now, &w), 0);
    assert_int_equal(registry_request_add(reg, "matching", strdup("req"), deadline), 0);
    registry_job_t job;
    assert_true(registry_dispatch(reg, "matching", now, &job));
    assert_ptr_equal(job.worker, w);
    free(job.request);
    Parley__Common__V1__Principal p = caller_a();
    packed_t h = header("ListSupporters", &p);
    policy_request_t r = parsed(&h);
    assert_int_equal(registry_worker_assign(w, "client-1|corr-1", 15, r.principal, r.principal_len), 0);
    policy_request_free(&r);
    return w;
}

/* ---- registering ---- */

static void test_a_key_registers_only_the_service_of_its_own_kind(void **state) {
    (void)state;
    assert_true(policy_may_register("intake", "intake"));
    assert_true(policy_may_register("notify", "notify"));
    assert_false(policy_may_register("matching", "intake"));
    assert_false(policy_may_register("intake", "intake2"));
    assert_false(policy_may_register("", "intake"));
    assert_false(policy_may_register(NULL, "intake"));
}

static void test_the_gateway_key_can_never_register_a_worker(void **state) {
    (void)state;
    assert_false(policy_may_register("gateway", "gateway"));
    assert_false(policy_may_register("gateway", "intake"));
}

/* ---- principals ---- */

static void test_only_the_gateway_may_send_a_principal(void **state) {
    (void)state;
    Parley__Common__V1__Principal p = caller_a();
    packed_t h = header("GetFamily", &p);
    assert_true(may_send("gateway", &h, NULL, 0));
    assert_false(may_send("matching", &h, NULL, 0));
    assert_false(may_send("intake", &h, NULL, 0));
    assert_false(may_send("", &h, NULL, 0));
}

static void test_requests_without_a_principal_are_anyones_on_the_list(void **state) {
    (void)state;
    packed_t none = header("mmi.service", NULL);
    assert_true(may_send("notify", &none, NULL, 0));
    assert_true(may_send("matching", &none, NULL, 0));
    /* Present but empty: it scopes a query to no authority at all. */
    Parley__Common__V1__Principal empty = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    packed_t h = header("Deliver", &empty);
    assert_true(may_send("intake", &h, NULL, 0));
    /* A single authority is not "empty": it is a tenant scope. */
    Parley__Common__V1__Principal scoped = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    scoped.authority_ids = authority_a;
    scoped.n_authority_ids = 1;
    packed_t s = header("GetFamily", &scoped);
    assert_false(may_send("notify", &s, NULL, 0));
}

static void test_a_header_that_does_not_parse_is_refused(void **state) {
    (void)state;
    static const uint8_t garbage[] = {0x1a, 0x7f, 0x01};
    policy_request_t r;
    assert_int_equal(policy_request_parse(garbage, sizeof garbage, &r), -EINVAL);
    assert_false(policy_may_send(reg, "gateway", "intake", &r, NULL, 0, 0));
    policy_request_free(&r);
}

/* ---- delegation ---- */

static void test_a_service_may_act_for_the_caller_it_serves_until_the_deadline(void **state) {
    (void)state;
    matching_serves_caller_a(100, 5000);
    Parley__Common__V1__Principal p = caller_a();
    packed_t h = header("GetCase", &p);
    assert_true(may_send("matching", &h, NULL, 101));
    assert_true(may_send("matching", &h, NULL, 4999));
    assert_false(may_send("matching", &h, NULL, 5000)); /* the deadline has passed */
    assert_false(may_send("matching", &h, NULL, 9000));
}

static void test_delegation_ends_when_the_worker_has_replied(void **state) {
    (void)state;
    registry_worker_t *w = matching_serves_caller_a(100, 5000);
    Parley__Common__V1__Principal p = caller_a();
    packed_t h = header("GetCase", &p);
    assert_true(may_send("matching", &h, NULL, 200));
    registry_worker_idle(reg, w, 300);
    assert_false(may_send("matching", &h, NULL, 301));
}

static void test_delegation_ends_when_the_worker_is_gone(void **state) {
    (void)state;
    registry_worker_t *w = matching_serves_caller_a(100, 5000);
    Parley__Common__V1__Principal p = caller_a();
    packed_t h = header("GetCase", &p);
    registry_worker_remove(reg, &w);
    assert_false(may_send("matching", &h, NULL, 200));
}

static void test_delegation_is_only_for_that_exact_principal_and_that_kind(void **state) {
    (void)state;
    matching_serves_caller_a(100, 5000);
    /* Another authority, one more authority, another role, another client. */
    Parley__Common__V1__Principal other = caller_a();
    other.authority_ids = authority_b;
    packed_t h = header("GetFamily", &other);
    assert_false(may_send("matching", &h, NULL, 200));
    char *both[] = {authority_a[0], authority_b[0]};
    Parley__Common__V1__Principal wider = caller_a();
    wider.authority_ids = both;
    wider.n_authority_ids = 2;
    h = header("GetFamily", &wider);
    assert_false(may_send("matching", &h, NULL, 200));
    char *admin[] = {"consortium_admin"};
    Parley__Common__V1__Principal promoted = caller_a();
    promoted.roles = admin;
    h = header("GetFamily", &promoted);
    assert_false(may_send("matching", &h, NULL, 200));
    Parley__Common__V1__Principal someone = caller_a();
    someone.client_id = "66666666-2222-3333-4444-555555555555";
    h = header("GetFamily", &someone);
    assert_false(may_send("matching", &h, NULL, 200));
    /* The exact caller, but from a kind that serves nobody now. */
    Parley__Common__V1__Principal same = caller_a();
    h = header("GetFamily", &same);
    assert_false(may_send("notify", &h, NULL, 200));
    assert_false(may_send("intake", &h, NULL, 200));
    assert_true(may_send("matching", &h, NULL, 200));
}

static void test_a_principal_smuggled_in_two_pieces_is_judged_as_the_worker_merges_it(void **state) {
    (void)state;
    matching_serves_caller_a(100, 5000);
    /* Field 3 twice: the delegated caller, then one more authority, which a
     * worker unpacking the header merges into one principal. */
    Parley__Common__V1__Principal p = caller_a();
    packed_t h = header("GetFamily", &p);
    Parley__Common__V1__Principal extra = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    extra.authority_ids = authority_b;
    extra.n_authority_ids = 1;
    uint8_t piece[128];
    size_t n = parley__common__v1__principal__pack(&extra, piece);
    assert_true(n < 128 && h.len + 2 + n <= sizeof h.bytes);
    h.bytes[h.len++] = (3 << 3) | 2;
    h.bytes[h.len++] = (uint8_t)n;
    memcpy(h.bytes + h.len, piece, n);
    h.len += n;
    policy_request_t r = parsed(&h);
    assert_int_equal(r.header->principal->n_authority_ids, 2);
    assert_false(policy_may_send(reg, "matching", "intake", &r, NULL, 0, 200));
    policy_request_free(&r);
}

/* ---- an outbox relay's deliveries ---- */

static packed_t event(const char *source, const char *authority) {
    Parley__Events__V1__Event e = PARLEY__EVENTS__V1__EVENT__INIT;
    e.id = "e1";
    e.type = "case.closed";
    e.authority_id = (char *)authority;
    e.subject_id = "c1";
    e.source = (char *)source;
    packed_t out;
    out.len = parley__events__v1__event__pack(&e, out.bytes);
    return out;
}

static void test_a_relay_delivers_its_own_events_with_their_authority_only(void **state) {
    (void)state;
    Parley__Common__V1__Principal p = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    p.authority_ids = authority_a;
    p.n_authority_ids = 1;
    packed_t h = header("Deliver", &p);
    packed_t own = event("intake", authority_a[0]);
    assert_true(may_send("intake", &h, &own, 0));
    /* Someone else's event, or another authority than the event's. */
    assert_false(may_send("notify", &h, &own, 0));
    packed_t elsewhere = event("intake", authority_b[0]);
    assert_false(may_send("intake", &h, &elsewhere, 0));
    /* More than the event's authority: a caller's roles or identity. */
    Parley__Common__V1__Principal more = caller_a();
    packed_t hm = header("Deliver", &more);
    assert_false(may_send("intake", &hm, &own, 0));
    /* Not a delivery at all, or not an event. */
    packed_t get = header("GetFamily", &p);
    assert_false(may_send("intake", &get, &own, 0));
    packed_t junk = {{0x0a, 0x7f}, 2};
    assert_false(may_send("intake", &h, &junk, 0));
}

/* ---- contacts: notify's sender resolving a recipient ---- */

/* The principal notify's sender puts on ResolveContact: one authority alone. */
static Parley__Common__V1__Principal authority_only(char **authorities, size_t n) {
    Parley__Common__V1__Principal p = PARLEY__COMMON__V1__PRINCIPAL__INIT;
    p.authority_ids = authorities;
    p.n_authority_ids = n;
    return p;
}

static void test_notify_may_resolve_a_contact_on_intake_and_matching_with_one_authority(void **state) {
    (void)state;
    Parley__Common__V1__Principal p = authority_only(authority_a, 1);
    packed_t h = header("ResolveContact", &p);
    /* No request in flight: nothing to delegate, yet the grant holds. */
    assert_true(may_send_to("notify", "intake", &h, NULL, 0));
    assert_true(may_send_to("notify", "matching", &h, NULL, 0));
}

static void test_only_notify_has_the_contact_grant(void **state) {
    (void)state;
    Parley__Common__V1__Principal p = authority_only(authority_a, 1);
    packed_t h = header("ResolveContact", &p);
    assert_true(may_send_to("notify", "intake", &h, NULL, 0)); /* the control */
    const char *others[] = {"matching", "scheduling", "training", "feedback", "intake"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        assert_false(may_send_to(others[i], "intake", &h, NULL, 0));
        assert_false(may_send_to(others[i], "matching", &h, NULL, 0));
    }
}

static void test_the_contact_grant_is_for_resolve_contact_on_intake_and_matching_only(void **state) {
    (void)state;
    Parley__Common__V1__Principal p = authority_only(authority_a, 1);
    packed_t control = header("ResolveContact", &p);
    assert_true(may_send_to("notify", "matching", &control, NULL, 0));
    const char *methods[] = {"GetFamily", "GetYoungPerson", "GetSupporter", "ListCases", "resolvecontact",
                             "ResolveContacts", ""};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        packed_t h = header(methods[i], &p);
        assert_false(may_send_to("notify", "intake", &h, NULL, 0));
        assert_false(may_send_to("notify", "matching", &h, NULL, 0));
    }
    packed_t h = header("ResolveContact", &p);
    assert_false(may_send_to("notify", "scheduling", &h, NULL, 0));
    assert_false(may_send_to("notify", "training", &h, NULL, 0));
    assert_false(may_send_to("notify", "notify", &h, NULL, 0));
}

static void test_the_contact_grant_takes_one_authority_and_nothing_else(void **state) {
    (void)state;
    Parley__Common__V1__Principal one = authority_only(authority_b, 1);
    packed_t h1 = header("ResolveContact", &one);
    assert_true(may_send_to("notify", "intake", &h1, NULL, 0)); /* the control */
    char *two[] = {authority_a[0], authority_b[0]};
    Parley__Common__V1__Principal both = authority_only(two, 2);
    packed_t h2 = header("ResolveContact", &both);
    assert_false(may_send_to("notify", "intake", &h2, NULL, 0));
    /* A caller's roles, identity or consortium: a caseworker's principal. */
    Parley__Common__V1__Principal cw = caller_a();
    packed_t hc = header("ResolveContact", &cw);
    assert_false(may_send_to("notify", "intake", &hc, NULL, 0));
    Parley__Common__V1__Principal roles = authority_only(authority_a, 1);
    roles.roles = caseworker_roles;
    roles.n_roles = 1;
    packed_t hr = header("ResolveContact", &roles);
    assert_false(may_send_to("notify", "intake", &hr, NULL, 0));
    Parley__Common__V1__Principal client = authority_only(authority_a, 1);
    client.client_id = "11111111-2222-3333-4444-555555555555";
    packed_t hk = header("ResolveContact", &client);
    assert_false(may_send_to("notify", "matching", &hk, NULL, 0));
    Parley__Common__V1__Principal consortium = authority_only(authority_a, 1);
    consortium.consortium_id = "99999999-0000-0000-0000-000000000000";
    packed_t hn = header("ResolveContact", &consortium);
    assert_false(may_send_to("notify", "intake", &hn, NULL, 0));
    char *blank[] = {""};
    Parley__Common__V1__Principal empty = authority_only(blank, 1);
    packed_t he = header("ResolveContact", &empty);
    assert_false(may_send_to("notify", "intake", &he, NULL, 0));
}

/* ---- replies ---- */

static void test_only_the_reply_to_the_request_given_is_owed(void **state) {
    (void)state;
    registry_worker_t *w = matching_serves_caller_a(100, 5000);
    assert_true(registry_worker_serves(w, "client-1|corr-1", 15));
    assert_false(registry_worker_serves(w, "client-2|corr-1", 15));
    assert_false(registry_worker_serves(w, "client-1|corr-", 14));
    registry_worker_idle(reg, w, 200);
    assert_false(registry_worker_serves(w, "client-1|corr-1", 15));
}

/* ---- where plaintext is allowed ---- */

static void test_only_this_machines_endpoints_may_run_without_curve(void **state) {
    (void)state;
    const char *local[] = {"tcp://127.0.0.1:55555", "tcp://127.3.2.1:1", "tcp://[::1]:55555",
                           "ipc:///run/parley/bus", "inproc://bus"};
    const char *remote[] = {"tcp://*:55555", "tcp://0.0.0.0:55555", "tcp://[::]:55555",
                            "tcp://10.0.0.5:55555", "tcp://localhost:55555", "tcp://eth0:55555",
                            "tcp://128.0.0.1:5", "tcp://[::ffff:127.0.0.1]:5", "ws://127.0.0.1:5",
                            "tcp://127.0.0.1", "tcp://:5", "tcp://[::1:5", "pgm://127.0.0.1:5"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        assert_true(policy_endpoint_is_local(local[i]));
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
        if (policy_endpoint_is_local(remote[i])) fail_msg("%s counted as local", remote[i]);
    }
}

/* ---- keys and the allow-list ---- */

static void write_file(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

static char *temp_dir(void) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/test_bus_policy.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_dir(const char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_keys_parse_only_one_z85_key(void **state) {
    (void)state;
    bus_key_t pub, sec, k, derived;
    assert_int_equal(bus_keys_generate(&pub, &sec), 0);
    char text[128];
    snprintf(text, sizeof text, "  %s\n", pub.z85);
    assert_int_equal(bus_key_parse(text, strlen(text), &k), 0);
    assert_string_equal(k.z85, pub.z85);
    assert_int_equal(bus_keys_public(&sec, &derived), 0);
    assert_string_equal(derived.z85, pub.z85);
    assert_int_equal(bus_key_parse(pub.z85, 39, &k), -EINVAL);
    snprintf(text, sizeof text, "%s %s", pub.z85, pub.z85);
    assert_int_equal(bus_key_parse(text, strlen(text), &k), -EINVAL);
    snprintf(text, sizeof text, "%.39s~", pub.z85); /* ~ is no Z85 character */
    assert_int_equal(bus_key_parse(text, strlen(text), &k), -EINVAL);
}

static void test_a_secret_key_others_can_read_is_refused(void **state) {
    (void)state;
    char *dir = temp_dir(), path[128];
    bus_key_t pub, sec, got;
    assert_int_equal(bus_keys_generate(&pub, &sec), 0);
    snprintf(path, sizeof path, "%s/intake.key", dir);
    assert_int_equal(bus_key_write(path, &sec, true), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(bus_key_read(path, true, &got), 0);
    assert_string_equal(got.z85, sec.z85);
    chmod(path, 0640); /* group: a Kubernetes Secret volume's fsGroup */
    assert_int_equal(bus_key_read(path, true, &got), 0);
    chmod(path, 0644);
    assert_int_equal(bus_key_read(path, true, &got), -EPERM);
    assert_int_equal(bus_key_read(path, false, &got), 0); /* a public key may be world-readable */
    snprintf(path, sizeof path, "%s/missing.key", dir);
    assert_int_equal(bus_key_read(path, true, &got), -ENOENT);
    snprintf(path, sizeof path, "%s/long.pub", dir);
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_file(path, big, 0644);
    assert_int_equal(bus_key_read(path, false, &got), -EINVAL);
    remove_dir(dir);
}

static void test_kinds_are_short_lowercase_names_and_never_broker(void **state) {
    (void)state;
    assert_true(bus_kind_is_valid("intake"));
    assert_true(bus_kind_is_valid("fake_consumer-2"));
    assert_false(bus_kind_is_valid(""));
    assert_false(bus_kind_is_valid("broker"));
    assert_false(bus_kind_is_valid("Intake"));
    assert_false(bus_kind_is_valid("2intake"));
    assert_false(bus_kind_is_valid("in.take"));
    assert_false(bus_kind_is_valid("../intake"));
    assert_false(bus_kind_is_valid("abcdefghijklmnopqrstuvwxyzabcdefg")); /* 33 */
}

static void test_the_allow_list_names_each_key_by_one_kind(void **state) {
    (void)state;
    allow_t *a = allow_new();
    uint8_t k1[BUS_KEY_BIN_LEN] = {1}, k2[BUS_KEY_BIN_LEN] = {2}, k3[BUS_KEY_BIN_LEN] = {3};
    assert_int_equal(allow_add(a, "intake", k1), 0);
    assert_int_equal(allow_add(a, "intake", k2), 0); /* a second key while rotating */
    assert_int_equal(allow_add(a, "intake", k1), 0); /* listed twice for one kind: harmless */
    assert_int_equal(allow_add(a, "matching", k1), -EEXIST);
    assert_int_equal(allow_add(a, "Bad", k3), -EINVAL);
    assert_string_equal(allow_kind(a, k1), "intake");
    assert_string_equal(allow_kind(a, k2), "intake");
    assert_null(allow_kind(a, k3));
    assert_int_equal(allow_count(a), 2);
    allow_destroy(&a);
    assert_null(a);
}

static void test_the_allow_list_reads_public_key_files_only(void **state) {
    (void)state;
    char *dir = temp_dir(), path[128];
    bus_key_t pub[3], sec[3];
    for (int i = 0; i < 3; i++) assert_int_equal(bus_keys_generate(&pub[i], &sec[i]), 0);
    snprintf(path, sizeof path, "%s/intake.pub", dir);
    assert_int_equal(bus_key_write(path, &pub[0], false), 0);
    snprintf(path, sizeof path, "%s/intake.old.pub", dir);
    assert_int_equal(bus_key_write(path, &pub[1], false), 0);
    snprintf(path, sizeof path, "%s/broker.pub", dir); /* the broker's own: not a client */
    assert_int_equal(bus_key_write(path, &pub[2], false), 0);
    snprintf(path, sizeof path, "%s/gateway.key", dir); /* a secret: never opened */
    write_file(path, "not a key", 0000);
    snprintf(path, sizeof path, "%s/..data", dir);
    mkdir(path, 0700);
    allow_t *a = allow_new();
    assert_int_equal(allow_load_dir(a, dir), 2);
    uint8_t raw[BUS_KEY_BIN_LEN];
    assert_int_equal(bus_key_decode(&pub[1], raw), 0);
    assert_string_equal(allow_kind(a, raw), "intake");
    assert_int_equal(bus_key_decode(&pub[2], raw), 0);
    assert_null(allow_kind(a, raw));
    allow_destroy(&a);
    /* A file named for no kind stops the broker rather than being skipped. */
    snprintf(path, sizeof path, "%s/Notify.pub", dir);
    assert_int_equal(bus_key_write(path, &pub[2], false), 0);
    a = allow_new();
    assert_int_equal(allow_load_dir(a, dir), -1);
    allow_destroy(&a);
    remove_dir(dir);
}

static void test_keygen_writes_a_closed_directory_keeps_it_and_rotates(void **state) {
    (void)state;
    char *base = temp_dir(), dir[128], path[160];
    snprintf(dir, sizeof dir, "%s/keys", base);
    char *argv[] = {"keygen", dir, "intake", "notify", NULL};
    assert_int_equal(keygen_run(4, argv), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    const char *names[] = {"broker", "intake", "notify"};
    bus_key_t first[3], got;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s.key", dir, names[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(bus_key_read(path, true, &first[i]), 0);
        snprintf(path, sizeof path, "%s/%s.pub", dir, names[i]);
        assert_int_equal(bus_key_read(path, false, &got), 0);
        bus_key_t derived;
        assert_int_equal(bus_keys_public(&first[i], &derived), 0);
        assert_string_equal(derived.z85, got.z85);
    }
    /* Again: nothing changes. */
    assert_int_equal(keygen_run(4, argv), 0);
    snprintf(path, sizeof path, "%s/intake.key", dir);
    assert_int_equal(bus_key_read(path, true, &got), 0);
    assert_string_equal(got.z85, first[1].z85);
    /* Rotate intake: a new pair, the old public key kept aside, allowed. */
    snprintf(path, sizeof path, "%s/intake.pub", dir);
    bus_key_t old_pub;
    assert_int_equal(bus_key_read(path, false, &old_pub), 0);
    char *rotate[] = {"keygen", "--rotate", dir, "intake", NULL};
    assert_int_equal(keygen_run(4, rotate), 0);
    snprintf(path, sizeof path, "%s/intake.key", dir);
    assert_int_equal(bus_key_read(path, true, &got), 0);
    assert_string_not_equal(got.z85, first[1].z85);
    snprintf(path, sizeof path, "%s/intake.old.pub", dir);
    assert_int_equal(bus_key_read(path, false, &got), 0);
    assert_string_equal(got.z85, old_pub.z85);
    allow_t *a = allow_new();
    assert_int_equal(allow_load_dir(a, dir), 3); /* intake, intake.old, notify */
    allow_destroy(&a);
    /* Not twice before the last rotation is finished. */
    assert_int_equal(keygen_run(4, rotate), 1);
    /* A directory others may enter is refused. */
    chmod(dir, 0755);
    assert_int_equal(keygen_run(4, argv), 1);
    char *bad[] = {"keygen", dir, "Not-A-Kind", NULL};
    assert_int_equal(keygen_run(3, bad), 2);
    remove_dir(base);
}

/* ---- ZAP and User-Id ---- */

static bus_frames_t *zap_request(const char *version, const char *mechanism, const void *cred,
                                 size_t cred_len) {
    bus_frames_t *m = bus_frames_new();
    bus_frames_push(m, version, strlen(version));
    bus_frames_push(m, "1", 1);
    bus_frames_push(m, "parley", 6);
    bus_frames_push(m, "10.0.0.7", 8);
    bus_frames_push(m, "\0\1\2\3\4", 5);
    bus_frames_push(m, mechanism, strlen(mechanism));
    if (cred != NULL) bus_frames_push(m, cred, cred_len);
    return m;
}

static void test_zap_requests_are_parsed_strictly(void **state) {
    (void)state;
    uint8_t key[BUS_KEY_BIN_LEN];
    memset(key, 7, sizeof key);
    bus_zap_request_t r;
    bus_frames_t *m = zap_request("1.0", "CURVE", key, sizeof key);
    assert_int_equal(bus_zap_parse(m, &r), 0);
    assert_true(r.has_key);
    assert_string_equal(r.mechanism, "CURVE");
    assert_string_equal(r.address, "10.0.0.7");
    assert_memory_equal(r.key, key, sizeof key);
    bus_frames_destroy(&m);
    m = zap_request("1.0", "NULL", NULL, 0);
    assert_int_equal(bus_zap_parse(m, &r), 0);
    assert_false(r.has_key);
    bus_frames_destroy(&m);
    m = zap_request("1.0", "CURVE", key, 31);
    assert_int_equal(bus_zap_parse(m, &r), -EINVAL);
    bus_frames_destroy(&m);
    m = zap_request("2.0", "CURVE", key, sizeof key);
    assert_int_equal(bus_zap_parse(m, &r), -EINVAL);
    bus_frames_destroy(&m);
}

static void test_frames_carry_the_senders_user_id(void **state) {
    (void)state;
    bus_frames_t *m = bus_frames_new();
    assert_string_equal(bus_frames_user(m), "");
    bus_frames_set_user(m, "matching");
    assert_string_equal(bus_frames_user(m), "matching");
    char longer[BUS_FRAMES_USER_MAX + 2];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    bus_frames_set_user(m, longer); /* no kind we gave out: none */
    assert_string_equal(bus_frames_user(m), "");
    bus_frames_destroy(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_key_registers_only_the_service_of_its_own_kind),
        cmocka_unit_test(test_the_gateway_key_can_never_register_a_worker),
        cmocka_unit_test_setup_teardown(test_only_the_gateway_may_send_a_principal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_without_a_principal_are_anyones_on_the_list,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_header_that_does_not_parse_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_service_may_act_for_the_caller_it_serves_until_the_deadline,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegation_ends_when_the_worker_has_replied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegation_ends_when_the_worker_is_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegation_is_only_for_that_exact_principal_and_that_kind,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_principal_smuggled_in_two_pieces_is_judged_as_the_worker_merges_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_relay_delivers_its_own_events_with_their_authority_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_may_resolve_a_contact_on_intake_and_matching_with_one_authority,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_notify_has_the_contact_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_contact_grant_is_for_resolve_contact_on_intake_and_matching_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_contact_grant_takes_one_authority_and_nothing_else, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_the_reply_to_the_request_given_is_owed, setup, teardown),
        cmocka_unit_test(test_only_this_machines_endpoints_may_run_without_curve),
        cmocka_unit_test(test_keys_parse_only_one_z85_key),
        cmocka_unit_test(test_a_secret_key_others_can_read_is_refused),
        cmocka_unit_test(test_kinds_are_short_lowercase_names_and_never_broker),
        cmocka_unit_test(test_the_allow_list_names_each_key_by_one_kind),
        cmocka_unit_test(test_the_allow_list_reads_public_key_files_only),
        cmocka_unit_test(test_keygen_writes_a_closed_directory_keeps_it_and_rotates),
        cmocka_unit_test(test_zap_requests_are_parsed_strictly),
        cmocka_unit_test(test_frames_carry_the_senders_user_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
