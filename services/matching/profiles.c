/* What matching knows of a case: the facts ranking needs, from intake's
 * case.supporter_requested event, or fetched from intake (GetCase and
 * GetFamily, or GetYoungPerson for a young person's own case) with the
 * caller's principal, so that intake's tenancy decides
 * what the caller may match. Stored in case_profiles, one row a case, and
 * refreshed by intake's family.updated (events.c): family_version orders
 * the copies, so older facts never replace newer ones. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "pb/pb.h"
#include "services/matching/matching.h"
#include "svc/svc.h"

#define MAX_ITEMS 32
/* A JSON array, or an empty one in place of anything else. */
#define ARR(x) "(CASE WHEN jsonb_typeof(" x ") = 'array' THEN " x " ELSE '[]'::jsonb END)"

static const db_stmt_t stmts[] = {
    {"prof_get",
     "SELECT case_id, authority_id, family_id, child_id, languages, communication_needs, child_needs, case_needs,"
     " child_date_of_birth - date '1970-01-01', postcode, closed_at IS NOT NULL, young_person"
     " FROM case_profiles WHERE case_id = $1 AND authority_id = ANY (current_authorities())"},
    {"prof_upsert",
     "INSERT INTO case_profiles (case_id, authority_id, family_id, child_id, languages, communication_needs,"
     " child_needs, case_needs, child_date_of_birth, postcode, source, family_version, young_person)"
     " VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7::text[], $8::text[],"
     "   date '1970-01-01' + $9::integer, $10, $11, $12::integer, $13::boolean)"
     " ON CONFLICT (case_id) DO UPDATE SET family_id = excluded.family_id, child_id = excluded.child_id,"
     " languages = excluded.languages, communication_needs = excluded.communication_needs,"
     " child_needs = excluded.child_needs, case_needs = excluded.case_needs,"
     " child_date_of_birth = excluded.child_date_of_birth, postcode = excluded.postcode,"
     " source = excluded.source, family_version = excluded.family_version, young_person = excluded.young_person,"
     " updated_at = now()"
     " WHERE case_profiles.authority_id = excluded.authority_id"
     " AND (case_profiles.family_version IS NULL OR excluded.family_version IS NULL"
     "      OR case_profiles.family_version <= excluded.family_version)"},
    /* The newest family.updated kept for family $1 (family_facts), onto
     * each of its cases' profiles whose facts are older. */
    /* The family's waiting requests are due for the sweeper's next pass:
     * changed facts may make a supporter fit (or stop fitting). */
    {"prof_family_apply",
     "WITH changed AS (UPDATE case_profiles p SET"
     " languages = ARRAY(SELECT jsonb_array_elements_text(" ARR("f.data->'languages'") ")),"
     " communication_needs = ARRAY(SELECT jsonb_array_elements_text(" ARR("f.data->'communicationNeeds'") ")),"
     " postcode = f.data->>'postcode',"
     " child_needs = coalesce((SELECT ARRAY(SELECT jsonb_array_elements_text(" ARR("c->'needs'") "))"
     "   FROM jsonb_array_elements(" ARR("f.data->'children'") ") c WHERE c->>'childId' = p.child_id::text"
     "   OR (p.young_person AND c->>'youngPersonId' = p.family_id::text) LIMIT 1),"
     "   p.child_needs),"
     " child_date_of_birth = coalesce((SELECT (c->>'dateOfBirth')::date"
     "   FROM jsonb_array_elements(" ARR("f.data->'children'") ") c WHERE c->>'childId' = p.child_id::text"
     "   OR (p.young_person AND c->>'youngPersonId' = p.family_id::text) LIMIT 1),"
     "   p.child_date_of_birth),"
     " family_version = f.family_version, updated_at = now()"
     " FROM family_facts f"
     " WHERE f.family_id = $1 AND p.family_id = f.family_id AND p.authority_id = f.authority_id"
     " AND (p.family_version IS NULL OR p.family_version < f.family_version)"
     " AND p.authority_id = ANY (current_authorities()) RETURNING p.case_id)"
     " UPDATE match_requests SET due_at = now() WHERE status = 'waiting'"
     " AND case_id IN (SELECT case_id FROM changed) AND authority_id = ANY (current_authorities())"},
};

const db_stmt_t *profiles_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static char **list(arena_t *a, const db_result_t *r, int col, size_t *n) {
    char **items = NULL;
    int k = db_array_parse(a, db_text(r, 0, col), &items);
    *n = k > 0 ? (size_t)k : 0;
    return items;
}

int profiles_load(db_t *db, arena_t *a, const char *case_id, profile_t **out) {
    const char *params[] = {case_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "prof_get", 1, params, &r);
    if (rc != 0) return rc;
    if (db_rows(r) != 1) {
        db_result_free(&r);
        return 0;
    }
    profile_t *p = arena_alloc(a, sizeof *p);
    p->case_id = db_str(a, r, 0, 0);
    p->authority_id = db_str(a, r, 0, 1);
    p->family_id = db_str(a, r, 0, 2);
    p->child_id = db_str(a, r, 0, 3);
    p->languages = list(a, r, 4, &p->n_languages);
    p->communication_needs = list(a, r, 5, &p->n_communication_needs);
    p->child_needs = list(a, r, 6, &p->n_child_needs);
    p->case_needs = list(a, r, 7, &p->n_case_needs);
    p->has_birth_date = !db_is_null(r, 0, 8);
    p->child_born = db_int(r, 0, 8);
    p->postcode = db_str(a, r, 0, 9);
    p->closed = db_bool(r, 0, 10);
    p->young_person = db_bool(r, 0, 11);
    db_result_free(&r);
    *out = p;
    return 1;
}

int profiles_save(db_t *db, arena_t *a, const profile_t *p, const char *source) {
    const char *params[] = {p->case_id,
                            p->authority_id,
                            p->family_id,
                            svc_opt(p->child_id),
                            db_array_literal(a, p->languages, p->n_languages),
                            db_array_literal(a, p->communication_needs, p->n_communication_needs),
                            db_array_literal(a, p->child_needs, p->n_child_needs),
                            db_array_literal(a, p->case_needs, p->n_case_needs),
                            p->has_birth_date ? arena_printf(a, "%lld", (long long)p->child_born) : NULL,
                            svc_opt(p->postcode),
                            source,
                            p->family_version > 0 ? arena_printf(a, "%d", p->family_version) : NULL,
                            p->young_person ? "true" : "false"};
    int rc = db_exec(db, "prof_upsert", 13, params, NULL);
    return rc == 0 ? profiles_apply_family(db, p->family_id) : rc;
}

int profiles_apply_family(db_t *db, const char *family_id) {
    const char *params[] = {family_id};
    return db_exec(db, "prof_family_apply", 1, params, NULL);
}

/* ---- from the event --------------------------------------------------------------- */

static char **json_strings(arena_t *a, const json_t *arr, size_t *n) {
    *n = 0;
    size_t len = json_is_array(arr) ? json_array_size(arr) : 0;
    if (len > MAX_ITEMS) len = MAX_ITEMS;
    char **items = arena_alloc(a, (len + 1) * sizeof *items);
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(arr, i);
        if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 200)
            items[(*n)++] = arena_strdup(a, json_string_value(v));
    }
    return items;
}

static char *json_text(arena_t *a, const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? arena_strdup(a, json_string_value(v)) : NULL;
}

profile_t *profiles_from_event(arena_t *a, const char *data_json, const char **why) {
    json_error_t err;
    json_t *d = pb_json_loadb(data_json ? data_json : "", strlen(data_json ? data_json : ""), 0, &err);
    profile_t *p = NULL;
    *why = "the event's data is not a JSON object";
    if (!json_is_object(d)) goto done;
    p = arena_alloc(a, sizeof *p);
    p->case_id = json_text(a, d, "caseId");
    p->authority_id = json_text(a, d, "authorityId");
    p->family_id = json_text(a, d, "familyId");
    p->child_id = json_text(a, d, "childId");
    p->postcode = json_text(a, d, "postcode");
    /* A young person's case: the young person is the client. */
    char *young = json_text(a, d, "youngPersonId");
    if (p->family_id == NULL && ids_is_uuid(young)) {
        p->family_id = young;
        p->young_person = true;
    }
    if (!ids_is_uuid(p->case_id) || !ids_is_uuid(p->authority_id) || !ids_is_uuid(p->family_id) ||
        (p->child_id && !ids_is_uuid(p->child_id))) {
        *why = "the event lacks caseId, authorityId or familyId";
        p = NULL;
        goto done;
    }
    p->languages = json_strings(a, json_object_get(d, "languages"), &p->n_languages);
    p->communication_needs = json_strings(a, json_object_get(d, "communicationNeeds"), &p->n_communication_needs);
    p->child_needs = json_strings(a, json_object_get(d, "childNeeds"), &p->n_child_needs);
    p->case_needs = json_strings(a, json_object_get(d, "caseNeeds"), &p->n_case_needs);
    const char *born = json_string_value(json_object_get(d, "childDateOfBirth"));
    p->has_birth_date = born && svc_parse_date(born, &p->child_born);
    json_int_t version = json_integer_value(json_object_get(d, "familyVersion"));
    p->family_version = version > 0 && version <= INT32_MAX ? (int)version : 0;
    *why = NULL;
done:
    json_decref(d);
    return p;
}

/* ---- from intake ------------------------------------------------------------------- */

/* Calls intake's method with the caller's principal. 0 with *out, or the
 * status code intake (or the bus) answered. */
static bus_code_t intake_call(matching_t *m, const bus_request_t *req, arena_t *a, const char *method,
                              const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_d,
                              ProtobufCMessage **out) {
    int64_t left = req->header->deadline_unix_ms ? req->header->deadline_unix_ms - clock_now_ms() - 100 : 0;
    int timeout = matching_config.intake_timeout_ms;
    if (left > 0 && left < timeout) timeout = (int)left;
    if (m->bus == NULL || (req->header->deadline_unix_ms && left <= 0)) return CODE(UNAVAILABLE);
    size_t len = protobuf_c_message_get_packed_size(in);
    uint8_t *buf = arena_alloc(a, len + 1);
    protobuf_c_message_pack(in, buf);
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = req->header->request_id;
    h.method = (char *)method;
    h.principal = req->header->principal;
    bus_reply_t rep;
    int rc = bus_client_call(m->bus, a, "intake", &h, buf, len, timeout, true, &rep);
    if (rc != 0) {
        log_warn(req->header->request_id, "intake.%s: %s", method, rc == -ETIMEDOUT ? "no reply" : "bus failure");
        return CODE(UNAVAILABLE);
    }
    if (rep.status->code != CODE(OK)) return rep.status->code;
    *out = protobuf_c_message_unpack(out_d, arena_pb_allocator(a), rep.payload_len, rep.payload);
    return *out ? CODE(OK) : CODE(INTERNAL);
}

static void add_unique(arena_t *a, char **items, size_t *n, const char *v) {
    if (v == NULL || *v == '\0' || *n == MAX_ITEMS) return;
    for (size_t i = 0; i < *n; i++)
        if (strcasecmp(items[i], v) == 0) return;
    items[(*n)++] = arena_strdup(a, v);
}

static profile_t *from_intake(arena_t *a, const Parley__Intake__V1__Case *c, const Parley__Intake__V1__Family *f) {
    profile_t *p = arena_alloc(a, sizeof *p);
    p->case_id = c->id;
    p->authority_id = c->authority_id;
    p->family_id = c->family_id;
    p->child_id = svc_opt(c->child_id) ? c->child_id : NULL;
    p->closed = c->status == PARLEY__INTAKE__V1__CASE_STATUS__CASE_STATUS_CLOSED;
    p->family_version = f->version > 0 ? f->version : 0;
    p->case_needs = arena_alloc(a, (c->n_needs + 1) * sizeof *p->case_needs);
    for (size_t i = 0; i < c->n_needs; i++)
        add_unique(a, p->case_needs, &p->n_case_needs,
                   svc_enum_word(a, &parley__intake__v1__case_need__descriptor, c->needs[i]));
    p->languages = arena_alloc(a, MAX_ITEMS * sizeof *p->languages);
    p->communication_needs = arena_alloc(a, MAX_ITEMS * sizeof *p->communication_needs);
    for (size_t i = 0; i < f->n_parents; i++) {
        const Parley__Intake__V1__Parent *pa = f->parents[i];
        /* "unknown" is intake's word for a language not recorded: no language. */
        if (strcasecmp(pa->preferred_language ? pa->preferred_language : "", "unknown") != 0)
            add_unique(a, p->languages, &p->n_languages, pa->preferred_language);
        for (size_t k = 0; k < pa->n_communication_needs; k++)
            add_unique(a, p->communication_needs, &p->n_communication_needs,
                       svc_enum_word(a, &parley__intake__v1__communication_need__descriptor,
                                          pa->communication_needs[k]));
        if (p->postcode == NULL && pa->address && svc_opt(pa->address->postcode))
            p->postcode = pa->address->postcode;
    }
    for (size_t i = 0; i < f->n_children; i++) {
        const Parley__Intake__V1__Child *ch = f->children[i];
        if (p->child_id == NULL || strcasecmp(ch->id, p->child_id) != 0) continue;
        /* The types' words, as an event carries them ("asd"). */
        p->n_child_needs = 0;
        p->child_needs = arena_alloc(a, (MAX_ITEMS + 1) * sizeof *p->child_needs);
        for (size_t k = 0; p->child_needs && k < ch->n_needs && k < MAX_ITEMS; k++) {
            const char *w = svc_enum_word(a, &parley__common__v1__sen_type__descriptor, ch->needs[k]->type);
            if (w) p->child_needs[p->n_child_needs++] = (char *)w;
        }
        p->has_birth_date = svc_parse_date(ch->date_of_birth, &p->child_born);
    }
    return p;
}

/* A young person's case: their own language, communication needs, needs,
 * birth and postcode (never a linked parent's). */
static profile_t *from_young_person(arena_t *a, const Parley__Intake__V1__Case *c,
                                    const Parley__Intake__V1__YoungPerson *y) {
    profile_t *p = arena_alloc(a, sizeof *p);
    p->case_id = c->id;
    p->authority_id = c->authority_id;
    p->family_id = y->id;
    p->young_person = true;
    p->closed = c->status == PARLEY__INTAKE__V1__CASE_STATUS__CASE_STATUS_CLOSED;
    p->case_needs = arena_alloc(a, (c->n_needs + 1) * sizeof *p->case_needs);
    for (size_t i = 0; i < c->n_needs; i++)
        add_unique(a, p->case_needs, &p->n_case_needs,
                   svc_enum_word(a, &parley__intake__v1__case_need__descriptor, c->needs[i]));
    p->languages = arena_alloc(a, MAX_ITEMS * sizeof *p->languages);
    p->communication_needs = arena_alloc(a, MAX_ITEMS * sizeof *p->communication_needs);
    /* "unknown" is intake's word for a language not recorded: no language. */
    if (strcasecmp(y->preferred_language ? y->preferred_language : "", "unknown") != 0)
        add_unique(a, p->languages, &p->n_languages, y->preferred_language);
    for (size_t k = 0; k < y->n_communication_needs; k++)
        add_unique(a, p->communication_needs, &p->n_communication_needs,
                   svc_enum_word(a, &parley__intake__v1__communication_need__descriptor, y->communication_needs[k]));
    if (y->address && svc_opt(y->address->postcode)) p->postcode = y->address->postcode;
    /* The types' words, as an event carries them ("asd"). */
    p->n_child_needs = 0;
    p->child_needs = arena_alloc(a, (MAX_ITEMS + 1) * sizeof *p->child_needs);
    for (size_t k = 0; p->child_needs && k < y->n_needs && k < MAX_ITEMS; k++) {
        const char *w = svc_enum_word(a, &parley__common__v1__sen_type__descriptor, y->needs[k]->type);
        if (w) p->child_needs[p->n_child_needs++] = (char *)w;
    }
    p->has_birth_date = svc_parse_date(y->date_of_birth, &p->child_born);
    return p;
}

/* Fetches case_id's case and family from intake: 1 with *out, or -1 with res set. */
static int fetch(matching_t *m, const bus_request_t *req, bus_response_t *res, const char *case_id, profile_t **out) {
    arena_t *a = res->arena;
    Parley__Intake__V1__GetCaseRequest gc = PARLEY__INTAKE__V1__GET_CASE_REQUEST__INIT;
    gc.id = (char *)case_id;
    ProtobufCMessage *got = NULL;
    bus_code_t code = intake_call(m, req, a, "GetCase", &gc.base, &parley__intake__v1__case__descriptor, &got);
    const Parley__Intake__V1__Case *c = (const void *)got;
    bool young = code == CODE(OK) && svc_opt(c->young_person_id) != NULL;
    if (young) {
        Parley__Intake__V1__GetYoungPersonRequest gy = PARLEY__INTAKE__V1__GET_YOUNG_PERSON_REQUEST__INIT;
        gy.id = c->young_person_id;
        code = intake_call(m, req, a, "GetYoungPerson", &gy.base, &parley__intake__v1__young_person__descriptor, &got);
    } else if (code == CODE(OK)) {
        Parley__Intake__V1__GetFamilyRequest gf = PARLEY__INTAKE__V1__GET_FAMILY_REQUEST__INIT;
        gf.id = c->family_id;
        code = intake_call(m, req, a, "GetFamily", &gf.base, &parley__intake__v1__family__descriptor, &got);
    }
    if (code == CODE(NOT_FOUND)) return svc_not_found(res, "case");
    if (code != CODE(OK)) {
        bus_response_problem(res, BUS_PROBLEM_UNAVAILABLE, "the intake service cannot be asked about this case now");
        res->status.retry_after_seconds = 1;
        return -1;
    }
    *out = young ? from_young_person(a, c, (const Parley__Intake__V1__YoungPerson *)got)
                 : from_intake(a, c, (const Parley__Intake__V1__Family *)got);
    return 1;
}

int profiles_ensure(matching_t *m, const bus_request_t *req, bus_response_t *res, const char *case_id,
                    profile_t **out) {
    db_t *db = m->db;
    if (!ids_is_uuid(case_id)) return svc_not_found(res, "case");
    int rc = db_tx_begin(db, req->header->principal);
    int found = rc == 0 ? profiles_load(db, res->arena, case_id, out) : rc;
    if (found < 0) return matching_db_fail(res, req, db, found);
    db_tx_rollback(db);
    if (found == 1) return 1;
    if (fetch(m, req, res, case_id, out) < 0) return -1;
    rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = profiles_save(db, res->arena, *out, "intake");
    /* A copy of intake's facts, kept: the request's audit row goes with
     * the transaction that serves it, after this. */
    if (rc == 0) rc = db_tx_commit_unaudited(db);
    if (rc != 0) return matching_db_fail(res, req, db, rc);
    return 1;
}
