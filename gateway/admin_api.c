#include "gateway/admin_api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "gateway/audit.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/keys.h"
#include "gateway/roles.h"
#include "parley/admin/v1/admin.pb-c.h"
#include "parley/matching/v1/matching.pb-c.h"
#include "svc/page_token.h"
#include "svc/svc.h"

typedef Parley__Admin__V1__Client client_t;
#define CLIENT_COLUMNS \
    "id, name, roles, authority_ids, " DB_MICROS("created_at") ", " DB_MICROS("revoked_at") ", supporter_id"
#define MAX_GRANTED 100 /* authorities one request may grant */

static const db_stmt_t stmts[] = {
    {"adm_authority_insert",
     "INSERT INTO authorities (id, consortium_id, code, name) VALUES ($1, $2, $3, $4)"
     " RETURNING " DB_MICROS("created_at")},
    {"adm_grant_authority",
     "UPDATE api_clients SET authority_ids = array_append(authority_ids, $2::uuid) WHERE id = $1"},
    {"adm_authority_list",
     "SELECT id, code, name, " DB_MICROS("created_at") ", audit.listed(id::text, $4::int - 1)"
     " FROM authorities WHERE consortium_id = $1"
     " AND ($2::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY created_at, id LIMIT $4"},
    {"adm_client_insert",
     "INSERT INTO api_clients (id, consortium_id, name, key_hash, roles, authority_ids, supporter_id)"
     " VALUES ($1, $2, $3, $4, $5::text[], $6::uuid[], $7) RETURNING " CLIENT_COLUMNS},
    /* The caller must hold every authority the client holds ($5, $3). */
    {"adm_client_list",
     "SELECT " CLIENT_COLUMNS ", audit.listed(id::text, $4::int - 1) FROM api_clients"
     " WHERE consortium_id = $1 AND authority_ids <@ $5::uuid[]"
     " AND ($2::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY created_at, id LIMIT $4"},
    /* One authority or client, as the lists show them: the Location of a 201. */
    {"adm_authority_get",
     "SELECT id, code, name, " DB_MICROS("created_at") ", audit.touch(id::text, NULL) FROM authorities"
     " WHERE id = $1 AND consortium_id = $2"},
    {"adm_client_get",
     "SELECT " CLIENT_COLUMNS ", audit.touch(id::text, NULL) FROM api_clients WHERE id = $1 AND consortium_id = $2"
     " AND authority_ids <@ $3::uuid[]"},
    {"adm_client_revoke",
     "UPDATE api_clients SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND consortium_id = $2"
     " AND authority_ids <@ $3::uuid[] RETURNING " CLIENT_COLUMNS ", audit.touch(id::text, NULL)"},
};

const db_stmt_t *admin_api_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static const bus_method_t methods[] = {
    {"CreateAuthority", &parley__admin__v1__create_authority_request__descriptor, admin_create_authority},
    {"ListAuthorities", &parley__admin__v1__list_authorities_request__descriptor, admin_list_authorities},
    {"CreateClient", &parley__admin__v1__create_client_request__descriptor, admin_create_client},
    {"ListClients", &parley__admin__v1__list_clients_request__descriptor, admin_list_clients},
    {"RevokeClient", &parley__admin__v1__revoke_client_request__descriptor, admin_revoke_client},
    {"GetAuthority", &parley__admin__v1__get_authority_request__descriptor, admin_get_authority},
    {"GetClient", &parley__admin__v1__get_client_request__descriptor, admin_get_client},
    {"ListAudit", &parley__admin__v1__list_audit_request__descriptor, audit_list},
};

const bus_method_t *admin_api_methods(size_t *n) {
    *n = sizeof methods / sizeof methods[0];
    return methods;
}

static const char *consortium(const bus_request_t *req) { return req->header->principal->consortium_id; }

/* The caller's authorities as a uuid[] literal. */
static char *held(arena_t *a, const bus_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    return db_array_literal(a, p->authority_ids, p->n_authority_ids);
}

int admin_create_authority(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((gw_thread_t *)ctx)->db;
    const Parley__Admin__V1__CreateAuthorityRequest *in = (const void *)req->input;
    const char *code = in->code;
    bool gss = code && strlen(code) == 9 && strchr("EWSN", code[0]) && strspn(code + 1, "0123456789") == 8;
    if (!gss) bus_response_violation(res, "code", "must be an ONS GSS code such as E09000033");
    if (svc_check_required(res, "name", in->name)) svc_check_max_len(res, "name", in->name, 200);
    if (res->status.code != PARLEY__COMMON__V1__CODE__CODE_OK) return -1;
    /* The new authority is granted to the caller, whose key must stay usable. */
    if (req->header->principal->n_authority_ids >= AUTH_MAX_AUTHORITIES) {
        bus_response_problem(res, BUS_PROBLEM_AUTHORITY_LIMIT,
                             "this API client already holds %d authorities, the most a key may hold", AUTH_MAX_AUTHORITIES);
        return -1;
    }

    char id[IDS_UUID_LEN + 1];
    ids_uuid_new(id);
    const char *ins[] = {id, consortium(req), code, in->name};
    const char *grant[] = {req->header->principal->client_id, id};
    /* Whoever creates an authority administers it: without the grant no
     * key could ever reach the new authority. Both, and the request's audit
     * row about the new authority: one round trip. */
    db_step_t steps[] = {{"adm_authority_insert", 4, ins, NULL}, {"adm_grant_authority", 2, grant, NULL}};
    db_audit_object(db, id, NULL);
    int rc = db_run(db, NULL, DB_WRITE, steps, 2);
    if (rc != 0) {
        if (strcmp(db_sqlstate(db), DB_SQLSTATE_UNIQUE) == 0) {
            bus_response_problem(res, BUS_PROBLEM_DUPLICATE_AUTHORITY,
                                 "this consortium already has an authority with code %s", code);
            return -1;
        }
        return svc_db_fail(res, req, db, rc);
    }
    db_result_t *r = steps[0].result;
    db_result_free(&steps[1].result);
    auth_forget(req->header->principal->client_id);
    Parley__Admin__V1__Authority *out = arena_alloc(res->arena, sizeof *out);
    parley__admin__v1__authority__init(out);
    out->id = arena_strdup(res->arena, id);
    out->code = in->code;
    out->name = in->name;
    out->created_at = svc_timestamp(res->arena, db_int(r, 0, 0));
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}

static Parley__Admin__V1__Authority *authority_from_row(arena_t *a, const db_result_t *r, int i) {
    Parley__Admin__V1__Authority *x = arena_alloc(a, sizeof *x);
    parley__admin__v1__authority__init(x);
    x->id = db_str(a, r, i, 0);
    x->code = db_str(a, r, i, 1);
    x->name = db_str(a, r, i, 2);
    x->created_at = svc_timestamp(a, db_int(r, i, 3));
    return x;
}

int admin_list_authorities(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((gw_thread_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Admin__V1__ListAuthoritiesRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    if (!page_args(res, in->page_size, in->page_token, &size, &cur)) return -1;
    const char *p[] = {consortium(req), page_cursor_micros(a, &cur), page_cursor_id(&cur), arena_printf(a, "%d", size + 1)};
    db_step_t step = {"adm_authority_list", 4, p, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    db_result_t *r = step.result;
    Parley__Admin__V1__ListAuthoritiesResponse *out = arena_alloc(a, sizeof *out);
    parley__admin__v1__list_authorities_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[out->n_items++] = authority_from_row(a, r, (int)i);
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}

int admin_get_authority(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((gw_thread_t *)ctx)->db;
    const Parley__Admin__V1__GetAuthorityRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "authority");
    const char *p[] = {in->id, consortium(req)};
    db_step_t step = {"adm_authority_get", 2, p, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    if (db_rows(step.result) == 0) {
        db_steps_free(&step, 1);
        return svc_not_found(res, "authority");
    }
    res->reply = &authority_from_row(res->arena, step.result, 0)->base;
    db_steps_free(&step, 1);
    return 0;
}

static client_t *client_from_row(arena_t *a, const db_result_t *r, int i);

/* An API client all of whose authorities the caller holds; any other is
 * 404, as for a random id (as the list and revocation treat it). */
int admin_get_client(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((gw_thread_t *)ctx)->db;
    const Parley__Admin__V1__GetClientRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "API client");
    const char *p[] = {in->id, consortium(req), held(res->arena, req)};
    db_step_t step = {"adm_client_get", 3, p, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    if (db_rows(step.result) == 0) {
        db_steps_free(&step, 1);
        return svc_not_found(res, "API client");
    }
    res->reply = &client_from_row(res->arena, step.result, 0)->base;
    db_steps_free(&step, 1);
    return 0;
}

static client_t *client_from_row(arena_t *a, const db_result_t *r, int i) {
    client_t *c = arena_alloc(a, sizeof *c);
    parley__admin__v1__client__init(c);
    c->id = db_str(a, r, i, 0);
    c->name = db_str(a, r, i, 1);
    char **items;
    int n = db_array_parse(a, db_text(r, i, 2), &items);
    c->roles = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof *c->roles);
    for (int k = 0; k < n; k++) {
        char upper[64];
        snprintf(upper, sizeof upper, "ROLE_%s", items[k]);
        for (char *q = upper; *q; q++) *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
        int v = svc_enum_value(&parley__admin__v1__role__descriptor, upper);
        if (v != 0) c->roles[c->n_roles++] = v;
    }
    n = db_array_parse(a, db_text(r, i, 3), &c->authority_ids);
    c->n_authority_ids = n > 0 ? (size_t)n : 0;
    c->created_at = svc_timestamp(a, db_int(r, i, 4));
    if (!db_is_null(r, i, 5)) c->revoked_at = svc_timestamp(a, db_int(r, i, 5));
    if (!db_is_null(r, i, 6)) c->supporter_id = db_str(a, r, i, 6);
    return c;
}

/* Whether the request's roles include role. */
static bool asks_for(const Parley__Admin__V1__CreateClientRequest *in, Parley__Admin__V1__Role role) {
    for (size_t i = 0; i < in->n_roles; i++)
        if (in->roles[i] == role) return true;
    return false;
}

/* Whether list (n items) names id, as UUIDs compare. */
static bool lists(char *const *list, size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (list[i] != NULL && strcasecmp(list[i], id) == 0) return true;
    return false;
}

/* Checks that supporter_id is a supporter the caller can see and that it
 * serves every authority granted, asking matching with the caller's own
 * principal (so matching's tenancy applies). 1 yes; 0 no, with a violation
 * on res; -1 with res set when matching cannot be asked. */
static int supporter_fits(gw_thread_t *t, const bus_request_t *req, bus_response_t *res, const char *supporter_id,
                          char *const *authorities, size_t n) {
    arena_t *a = res->arena;
    Parley__Matching__V1__GetSupporterRequest q = PARLEY__MATCHING__V1__GET_SUPPORTER_REQUEST__INIT;
    q.id = (char *)supporter_id;
    size_t len = protobuf_c_message_get_packed_size(&q.base);
    uint8_t *packed = arena_alloc(a, len + 1);
    if (packed == NULL) return -1;
    protobuf_c_message_pack(&q.base, packed);
    bus_header_t header = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    header.request_id = req->header->request_id;
    header.method = "GetSupporter";
    header.principal = req->header->principal;
    bus_reply_t rep;
    if (bus_client_call(t->bus, a, "matching", &header, packed, len, gw_config.bus_timeout_ms, true, &rep) != 0) {
        bus_response_problem(res, BUS_PROBLEM_UNAVAILABLE, "the supporter cannot be checked now");
        res->status.retry_after_seconds = 1;
        return -1;
    }
    if (rep.status->code == PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND) {
        bus_response_violation(res, "supporterId", "no such supporter");
        return 0;
    }
    if (rep.status->code != PARLEY__COMMON__V1__CODE__CODE_OK) {
        bus_response_problem(res, BUS_PROBLEM_UNAVAILABLE, "the supporter cannot be checked now");
        res->status.retry_after_seconds = 1;
        return -1;
    }
    Parley__Matching__V1__Supporter *s = (void *)protobuf_c_message_unpack(
        &parley__matching__v1__supporter__descriptor, arena_pb_allocator(a), rep.payload_len, rep.payload);
    if (s == NULL) {
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!lists(s->authority_ids, s->n_authority_ids, authorities[i])) {
            bus_response_violation(res, "supporterId", "does not serve authorityIds[%zu]", i);
            return 0;
        }
    return 1;
}

int admin_create_client(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((gw_thread_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Admin__V1__CreateClientRequest *in = (const void *)req->input;
    if (svc_check_required(res, "name", in->name)) svc_check_max_len(res, "name", in->name, 200);
    if (in->n_roles == 0) bus_response_violation(res, "roles", "at least one role is required");
    if (in->n_authority_ids == 0) bus_response_violation(res, "authorityIds", "at least one authority is required");
    if (in->n_authority_ids > MAX_GRANTED) bus_response_violation(res, "authorityIds", "at most %d", MAX_GRANTED);
    /* A client can grant no authority it does not hold itself. Roles: only
     * consortium admins reach this route, and every role is theirs to grant. */
    for (size_t i = 0; i < in->n_authority_ids && i < MAX_GRANTED; i++) {
        char *field = arena_printf(a, "authorityIds[%zu]", i);
        if (svc_check_uuid(res, field, in->authority_ids[i], true) && !svc_has_authority(req, in->authority_ids[i]))
            bus_response_violation(res, field, "not an authority this API client holds");
    }
    svc_check_distinct(res, "authorityIds", in->authority_ids, in->n_authority_ids, MAX_GRANTED);
    /* A supporter's key acts for that supporter alone: never with a staff
     * role, which would act for every supporter of its authorities. */
    bool supporter = asks_for(in, PARLEY__ADMIN__V1__ROLE__ROLE_SUPPORTER);
    if (supporter && (asks_for(in, PARLEY__ADMIN__V1__ROLE__ROLE_CONSORTIUM_ADMIN) ||
                      asks_for(in, PARLEY__ADMIN__V1__ROLE__ROLE_CASEWORKER)))
        bus_response_violation(res, "roles", "the supporter role goes with neither consortium_admin nor caseworker");
    /* A data protection officer's key reads the audit trail of its
     * authorities and nothing else: with any other role it would read the
     * personal data it oversees. */
    if (asks_for(in, PARLEY__ADMIN__V1__ROLE__ROLE_DPO))
        for (size_t i = 0; i < in->n_roles; i++)
            if (in->roles[i] != PARLEY__ADMIN__V1__ROLE__ROLE_DPO) {
                bus_response_violation(res, "roles", "the dpo role goes with no other role");
                break;
            }
    if (supporter && svc_check_required(res, "supporterId", in->supporter_id))
        svc_check_uuid(res, "supporterId", in->supporter_id, true);
    if (!supporter && svc_opt(in->supporter_id))
        bus_response_violation(res, "supporterId", "only a key with the supporter role is bound to a supporter");
    if (res->status.code != PARLEY__COMMON__V1__CODE__CODE_OK) return -1;
    if (supporter && supporter_fits(ctx, req, res, in->supporter_id, in->authority_ids, in->n_authority_ids) != 1)
        return -1;

    char **names = arena_alloc(a, in->n_roles * sizeof *names);
    for (size_t i = 0; i < in->n_roles; i++) {
        const char *n = svc_enum_text(&parley__admin__v1__role__descriptor, in->roles[i]) + 5; /* "ROLE_" */
        names[i] = arena_strdup(a, n);
        for (char *q = names[i]; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
    }
    char id[IDS_UUID_LEN + 1], key[KEYS_LEN + 1], hex[KEYS_HASH_LEN * 2 + 1];
    unsigned char hash[KEYS_HASH_LEN];
    size_t slen;
    const unsigned char *secret = auth_secret(&slen);
    if (ids_uuid_new(id) != 0 || keys_generate(id, key) != 0 || keys_hash(secret, slen, key, hash) != 0) {
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
        return -1;
    }
    for (int i = 0; i < KEYS_HASH_LEN; i++) snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    const char *p[] = {id, consortium(req), in->name, hex, db_array_literal(a, names, in->n_roles),
                       db_array_literal(a, in->authority_ids, in->n_authority_ids),
                       supporter ? in->supporter_id : NULL};
    /* The client and the request's audit row: one round trip. */
    db_step_t step = {"adm_client_insert", 7, p, NULL};
    db_audit_object(db, id, NULL);
    int rc = db_run(db, req->header->principal, DB_WRITE, &step, 1);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    db_result_t *r = step.result;
    client_t *c = client_from_row(a, r, 0);
    db_result_free(&r);
    auth_forget(id); /* never looked up before; no "no such client" may linger */
    c->key = arena_strdup(a, key); /* shown this once */
    res->reply = &c->base;
    return 0;
}

int admin_list_clients(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((gw_thread_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Admin__V1__ListClientsRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    if (!page_args(res, in->page_size, in->page_token, &size, &cur)) return -1;
    const char *p[] = {consortium(req), page_cursor_micros(a, &cur), page_cursor_id(&cur),
                       arena_printf(a, "%d", size + 1), held(a, req)};
    db_step_t step = {"adm_client_list", 5, p, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    db_result_t *r = step.result;
    Parley__Admin__V1__ListClientsResponse *out = arena_alloc(a, sizeof *out);
    parley__admin__v1__list_clients_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[out->n_items++] = client_from_row(a, r, (int)i);
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}

int admin_revoke_client(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((gw_thread_t *)ctx)->db;
    const Parley__Admin__V1__RevokeClientRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "API client");
    const char *p[] = {in->id, consortium(req), held(res->arena, req)};
    /* Another admin's client changes nothing and names nothing: no row here,
     * and the 404 is audited by the gateway. */
    db_step_t step = {"adm_client_revoke", 3, p, NULL};
    int rc = db_run(db, req->header->principal, DB_WRITE, &step, 1);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    db_result_t *r = step.result;
    if (db_rows(r) == 0) {
        db_result_free(&r);
        return svc_not_found(res, "API client");
    }
    client_t *c = client_from_row(res->arena, r, 0);
    db_result_free(&r);
    auth_forget(in->id); /* at once here; other gateways within the cache's lifetime */
    res->reply = &c->base;
    return 0;
}
