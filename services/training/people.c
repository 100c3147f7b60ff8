/* People trained: a Parley supporter (their person id is their supporterId,
 * checked with matching), or someone outside Parley recorded with a name,
 * an organisation (a school's URN or an authority) and a role, and nothing
 * more. GET /v1/people/{id}/training answers where they stand, course by
 * course, with every completion. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "core/log.h"
#include "parley/matching/v1/matching.pb-c.h"
#include "services/training/training.h"
#include "svc/svc.h"

#define AUDIENCE_D (&parley__training__v1__audience__descriptor)

static const db_stmt_t stmts[] = {
    {"person_lock", "SELECT id, authority_id FROM people WHERE id = $1 FOR UPDATE"},
    {"person_supporter_add",
     "WITH p AS (INSERT INTO people (id, authority_id, supporter_id, role) VALUES ($1, $2, $1, 'AUDIENCE_SUPPORTER')"
     " ON CONFLICT (id) DO NOTHING RETURNING id)"
     " SELECT id FROM p"},
    {"person_external_add",
     "INSERT INTO people (id, authority_id, name, organisation_urn, organisation_authority_id, role)"
     " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"},
    {"person_sweep_add", "INSERT INTO sweep_authorities (authority_id) VALUES ($1) ON CONFLICT DO NOTHING"},
    {"person_completions",
     "SELECT c.id, c.authority_id, c.person_id, c.course_id, to_char(c.completed_on, 'YYYY-MM-DD'),"
     " CASE WHEN k.valid_for_months IS NULL THEN NULL"
     "  ELSE to_char(c.completed_on + make_interval(months => k.valid_for_months), 'YYYY-MM-DD') END,"
     " c.session_id, c.certificate_ref, c.provider, " DB_MICROS("c.recorded_at")
     " FROM completions c JOIN courses k ON k.id = c.course_id WHERE c.person_id = $1"
     " ORDER BY c.completed_on DESC, c.recorded_at DESC LIMIT 500"},
};

const db_stmt_t *people_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

const char *training_role_word(arena_t *a, int audience) { return svc_enum_word(a, AUDIENCE_D, audience); }

int training_role_of_word(const char *word) {
    if (word == NULL || *word == '\0' || strlen(word) > 32) return 0;
    for (unsigned i = 0; i < AUDIENCE_D->n_values; i++) {
        const char *name = AUDIENCE_D->values[i].name; /* AUDIENCE_AUTHORITY_STAFF */
        if (AUDIENCE_D->values[i].value > 0 && strcasecmp(name + strlen("AUDIENCE_"), word) == 0)
            return AUDIENCE_D->values[i].value;
    }
    return 0;
}

/* Whether matching has supporter id serving authority, for the caller: 1,
 * 0, or -1 (matching could not be asked: UNAVAILABLE). */
static int supporter_serves(training_t *t, const bus_request_t *req, arena_t *a, const char *id,
                            const char *authority) {
    if (t->bus == NULL) return -1;
    Parley__Matching__V1__GetSupporterRequest in = PARLEY__MATCHING__V1__GET_SUPPORTER_REQUEST__INIT;
    in.id = (char *)id;
    size_t len = protobuf_c_message_get_packed_size(&in.base);
    uint8_t *buf = arena_alloc(a, len + 1);
    if (buf == NULL) return -1;
    protobuf_c_message_pack(&in.base, buf);
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = req->header->request_id;
    h.method = "GetSupporter";
    h.principal = req->header->principal;
    bus_reply_t rep;
    int rc = bus_client_call(t->bus, a, "matching", &h, buf, len, training_config.matching_timeout_ms, true, &rep);
    if (rc != 0) {
        log_warn(req->header->request_id, "matching.GetSupporter: %s", rc == -ETIMEDOUT ? "no reply" : "bus failure");
        return -1;
    }
    if (rep.status->code == CODE(NOT_FOUND)) return 0;
    if (rep.status->code != CODE(OK)) return -1;
    Parley__Matching__V1__Supporter *s = (Parley__Matching__V1__Supporter *)protobuf_c_message_unpack(
        &parley__matching__v1__supporter__descriptor, arena_pb_allocator(a), rep.payload_len, rep.payload);
    if (s == NULL) return -1;
    for (size_t i = 0; i < s->n_authority_ids; i++)
        if (strcasecmp(s->authority_ids[i], authority) == 0) return 1;
    return 0;
}

int people_check(training_t *t, const bus_request_t *req, bus_response_t *res, const char *field,
                 const char *authority, const TR(Attendee) *at) {
    arena_t *a = res->arena;
    size_t before = res->status.n_violations;
    bool supporter = svc_opt(at->supporter_id) != NULL, known = svc_opt(at->person_id) != NULL;
    bool outside = svc_opt(at->name) || at->organisation || at->role;
    if ((supporter + known + outside) != 1) {
        bus_response_violation(res, field,
                               "name one of supporterId, personId, or (for someone outside Parley) name, "
                               "organisation and role");
        return 1;
    }
    if (outside) {
        svc_check_required(res, arena_printf(a, "%s.name", field), at->name);
        if (at->role == 0) bus_response_violation(res, arena_printf(a, "%s.role", field), "is required");
        else if (at->role == PARLEY__TRAINING__V1__AUDIENCE__AUDIENCE_SUPPORTER)
            bus_response_violation(res, arena_printf(a, "%s.role", field),
                                   "a supporter is named by supporterId, not by name");
        const TR(Organisation) *o = at->organisation;
        if (o == NULL || (svc_opt(o->urn) != NULL) == (svc_opt(o->authority_id) != NULL))
            bus_response_violation(res, arena_printf(a, "%s.organisation", field),
                                   "is required: a school's urn or an authorityId, one of them");
        else if (svc_opt(o->authority_id))
            svc_check_authority(req, res, arena_printf(a, "%s.organisation.authorityId", field), o->authority_id);
    }
    if (res->status.n_violations != before) return 1;
    if (!supporter) return 0;
    int serves = supporter_serves(t, req, a, at->supporter_id, authority);
    if (serves < 0) {
        bus_response_error(res, CODE(UNAVAILABLE), "matching cannot be asked about the supporter now");
        return -1;
    }
    if (serves == 0) {
        bus_response_violation(res, arena_printf(a, "%s.supporterId", field),
                               "no supporter %s serves authority %s", at->supporter_id, authority);
        return 1;
    }
    return 0;
}

int people_resolve(db_t *db, arena_t *a, bus_response_t *res, const char *field, const char *authority,
                   const TR(Attendee) *at, char **person_id) {
    db_result_t *r = NULL;
    int rc = 0;
    const char *sweep[] = {authority};
    if (svc_opt(at->supporter_id)) {
        const char *p[] = {at->supporter_id, authority};
        rc = db_exec(db, "person_supporter_add", 2, p, NULL);
        if (rc == 0) rc = db_exec(db, "person_sweep_add", 1, sweep, NULL);
        if (rc != 0) return rc;
        *person_id = arena_strdup(a, at->supporter_id);
    } else if (svc_opt(at->name)) {
        char *id = arena_alloc(a, IDS_UUID_LEN + 1);
        if (id == NULL || ids_uuid_new(id) != 0) return DB_ERR_QUERY;
        const TR(Organisation) *o = at->organisation;
        const char *p[] = {id, authority, at->name, svc_opt(o->urn), svc_opt(o->authority_id),
                           svc_enum_text(AUDIENCE_D, (int)at->role)};
        rc = db_exec(db, "person_external_add", 6, p, NULL);
        if (rc == 0) rc = db_exec(db, "person_sweep_add", 1, sweep, NULL);
        if (rc != 0) return rc;
        *person_id = id;
    } else {
        *person_id = arena_strdup(a, at->person_id);
    }
    /* The person's row is locked until the transaction ends, so their
     * standing is computed from every completion committed before it. */
    const char *p[] = {*person_id};
    if ((rc = db_exec(db, "person_lock", 1, p, &r)) != 0) return rc;
    bool found = db_rows(r) == 1 && strcasecmp(db_text(r, 0, 1), authority) == 0;
    db_result_free(&r);
    if (!found) {
        bus_response_violation(res, arena_printf(a, "%s.%s", field, svc_opt(at->supporter_id) ? "supporterId" : "personId"),
                               svc_opt(at->supporter_id)
                                   ? "this supporter's training is recorded under another authority"
                                   : "no such person in authority %s",
                               authority);
        return 1;
    }
    return 0;
}

int people_training(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((training_t *)ctx)->db;
    arena_t *a = res->arena;
    const TR(GetPersonTrainingRequest) *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "person");
    int64_t today = training_today();
    standing_t *s = NULL;
    size_t n = 0;
    db_result_t *r = NULL;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = standing_compute(db, a, NULL, NULL, in->id, today, &s, &n);
    if (rc == 0 && n == 1) {
        db_audit_object(db, s->person_id, s->authority_id);
        const char *p[] = {in->id};
        rc = db_exec(db, "person_completions", 1, p, &r);
    }
    if (rc == 0 && n != 1) {
        db_tx_rollback(db);
        return svc_not_found(res, "person");
    }
    if (rc == 0) rc = db_tx_commit_read(db);
    if (rc != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    TR(PersonTraining) *out = standing_message(a, s, today);
    int rows = db_rows(r);
    out->completions = arena_alloc(a, ((size_t)rows + 1) * sizeof *out->completions);
    for (int i = 0; i < rows; i++) out->completions[out->n_completions++] = completions_from_row(a, r, i);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
