/* The SEN process stages of a case: recorded (POST) and moved (PATCH).
 * annual_review, mediation and tribunal_appeal recur; any other stage
 * happens once, so posting it again moves its date. Every change recomputes
 * the case's current stage, emits case.stage_changed, and a draft plan or
 * proposed statement newly issued signposts the family to agencies (and
 * moving its date moves those automatic signposts), all in one
 * transaction. The timeline is computed when read (timeline.c).
 *
 * A stage has no version of its own: it carries its case's (Stage.version,
 * so its ETag is the case's), and If-Match on a stage is checked against
 * the case, which every change to a stage changes. */
#include <jansson.h>
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/deadlines.h"
#include "services/intake/intake.h"
#include "svc/read_only.h"
#include "svc/svc.h"

#define STAGE(x) PARLEY__INTAKE__V1__SEN_STAGE__SEN_STAGE_##x
#define REQUESTS "('SEN_STAGE_ASSESSMENT_REQUESTED', 'SEN_STAGE_STATUTORY_ASSESSMENT')"
#define RECURRING "('SEN_STAGE_ANNUAL_REVIEW', 'SEN_STAGE_MEDIATION', 'SEN_STAGE_TRIBUNAL_APPEAL')"
#define DAYS(col) "(" col " - date '1970-01-01')"

typedef Parley__Intake__V1__Stage stage_t;

/* A stage and its case's version (stage_from_row reads them by position). */
#define STAGE_COLUMNS                                                                                   \
    "s.id, s.case_id, s.stage, to_char(s.\"on\", 'YYYY-MM-DD'), " DB_MICROS("s.created_at") ","           \
    " " DB_MICROS("s.updated_at") ", c.version"

static const db_stmt_t stmts[] = {
    {"stage_find_once",
     "SELECT id, to_char(\"on\", 'YYYY-MM-DD') FROM case_stages"
     " WHERE case_id = $1 AND stage = $2 AND stage NOT IN " RECURRING},
    {"stage_find",
     "SELECT stage, to_char(\"on\", 'YYYY-MM-DD') FROM case_stages"
     " WHERE id = $1 AND case_id = $2 AND authority_id = ANY (current_authorities())"},
    /* What a stage's date is checked against, leaving out stage row $2. */
    {"stage_bounds",
     "SELECT (SELECT min(" DAYS("\"on\"") ") FROM case_stages WHERE case_id = $1"
     "          AND id IS DISTINCT FROM $2::uuid AND stage IN " REQUESTS "),"
     " (SELECT min(" DAYS("\"on\"") ") FROM case_stages WHERE case_id = $1"
     "          AND id IS DISTINCT FROM $2::uuid AND stage NOT IN " REQUESTS " AND stage <> 'SEN_STAGE_SEN_SUPPORT'),"
     " (SELECT " DAYS("coalesce(ch.date_of_birth, y.date_of_birth)") " FROM cases c"
     "  LEFT JOIN children ch ON ch.id = c.child_id LEFT JOIN young_people y ON y.id = c.young_person_id"
     "  WHERE c.id = $1)"},
    {"stage_insert",
     "INSERT INTO case_stages (id, authority_id, case_id, stage, \"on\", created_by_client)"
     " VALUES ($1, $2, $3, $4, $5, $6)"},
    {"stage_move", "UPDATE case_stages SET \"on\" = $2, updated_at = now() WHERE id = $1"},
    {"case_current_stage",
     "UPDATE cases SET stage = (SELECT stage FROM case_stages WHERE case_id = $1"
     " ORDER BY \"on\" DESC, created_at DESC LIMIT 1) WHERE id = $1"},
    {"stage_get",
     "SELECT " STAGE_COLUMNS " FROM case_stages s JOIN cases c ON c.id = s.case_id WHERE s.id = $1"},
    {"stage_get_of",
     "SELECT " STAGE_COLUMNS ", audit.touch(s.id::text, s.authority_id) FROM case_stages s"
     " JOIN cases c ON c.id = s.case_id"
     " WHERE s.case_id = $1 AND s.id = $2 AND s.authority_id = ANY (current_authorities())"},
};

const db_stmt_t *stages_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static bool is_request(int stage) { return stage == STAGE(ASSESSMENT_REQUESTED) || stage == STAGE(STATUTORY_ASSESSMENT); }

/* Checks on (day number) for stage against the case's other stages (not
 * row except_id) and the child's birth: violations on "on". 0 or DB_ERR_*. */
static int check_order(db_t *db, bus_response_t *res, const char *case_id, const char *except_id, int stage,
                       int64_t on) {
    const char *params[] = {case_id, except_id};
    db_result_t *r = NULL;
    int rc = db_exec(db, "stage_bounds", 2, params, &r);
    if (rc != 0) return rc;
    char d[11];
    if (!db_is_null(r, 0, 2) && on < db_int(r, 0, 2))
        bus_response_violation(res, "on", "is before the child's date of birth");
    else if (is_request(stage) && !db_is_null(r, 0, 1) && on > db_int(r, 0, 1))
        bus_response_violation(res, "on", "is after a later stage of the process (on %s): the request comes first",
                               deadline_format(db_int(r, 0, 1), d));
    else if (!is_request(stage) && stage != STAGE(SEN_SUPPORT) && !db_is_null(r, 0, 0) && on < db_int(r, 0, 0))
        bus_response_violation(res, "on", "is before the request for an assessment (%s)",
                               deadline_format(db_int(r, 0, 0), d));
    db_result_free(&r);
    return 0;
}

static stage_t *stage_from_row(arena_t *a, const db_result_t *r, int i) {
    stage_t *s = arena_alloc(a, sizeof *s);
    parley__intake__v1__stage__init(s);
    s->id = db_str(a, r, i, 0);
    s->case_id = db_str(a, r, i, 1);
    s->stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, i, 2));
    s->on = db_str(a, r, i, 3);
    s->created_at = svc_timestamp(a, db_int(r, i, 4));
    s->updated_at = svc_timestamp(a, db_int(r, i, 5));
    s->version = (int32_t)db_int(r, i, 6);
    return s;
}

static stage_t *load(db_t *db, arena_t *a, const char *id, int *rc) {
    const char *params[] = {id};
    db_result_t *r = NULL;
    *rc = db_exec(db, "stage_get", 1, params, &r);
    if (*rc != 0) return NULL;
    if (db_rows(r) != 1) {
        db_result_free(&r);
        *rc = DB_ERR_QUERY;
        return NULL;
    }
    stage_t *s = stage_from_row(a, r, 0);
    db_result_free(&r);
    return s;
}

static ProtobufCMessage *parse_stage(arena_t *a, db_result_t *const *results) {
    return &stage_from_row(a, results[0], 0)->base;
}

static const svc_get_t get_stage = {"stage", {"stage_get_of"}, 1, parse_stage};

/* GET /v1/cases/{id}/stages/{stageId}: the Location of the 201. */
int stages_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetStageRequest *in = (const void *)req->input;
    return svc_get_sub(((intake_t *)ctx)->db, req, res, in->id, in->stage_id, &get_stage);
}

/* After a stage row changed: the case's current stage, version, event,
 * automatic signposting (only for a stage newly recorded), the reply. */
static int after_change(db_t *db, bus_response_t *res, const char *case_id, const char *stage_id, int stage,
                        const char *on, const char *previous_on, stage_t **out) {
    arena_t *a = res->arena;
    const char *params[] = {case_id};
    int rc = db_exec(db, "case_current_stage", 1, params, NULL);
    if (rc == 0) rc = cases_touch(db, case_id);
    const char *word = svc_enum_word(a, &parley__intake__v1__sen_stage__descriptor, stage);
    if (rc == 0)
        rc = events_emit(db, a, "case.stage_changed", case_id,
                         events_json(a, json_pack("{s:s, s:s, s:s, s:s?}", "stageId", stage_id, "stage", word, "on", on,
                                                  "previousOn", previous_on)));
    bool signposting = stage == STAGE(DRAFT_PLAN_ISSUED) || stage == STAGE(PROPOSED_STATEMENT_ISSUED);
    if (rc == 0 && previous_on == NULL && signposting) rc = signposts_automatic(db, a, case_id, stage, on);
    /* The family was told when the draft came: a corrected date moves it. */
    if (rc == 0 && previous_on != NULL && signposting) rc = signposts_follow_stage(db, case_id, stage, on);
    if (rc == 0) *out = load(db, a, stage_id, &rc);
    return rc;
}

int stages_record(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__RecordStageRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "case");
    if (in->stage == 0) bus_response_violation(res, "stage", "is required");
    int64_t on;
    intake_check_past_date(res, "on", in->on, &on);
    if (!svc_ok(res)) return -1;

    char *authority;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    int ok = cases_lock(db, req, res, in->id, true, &authority);
    if (ok < 0) return svc_db_fail(res, req, db, ok);
    if (ok == 0) {
        db_tx_rollback(db);
        return -1;
    }
    const char *stage = svc_enum_text(&parley__intake__v1__sen_stage__descriptor, in->stage);
    const char *find[] = {in->id, stage};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "stage_find_once", 2, find, &r)) != 0) return svc_db_fail(res, req, db, rc);
    char *existing = db_rows(r) ? db_str(a, r, 0, 0) : NULL, *previous_on = db_rows(r) ? db_str(a, r, 0, 1) : NULL;
    db_result_free(&r);
    if ((rc = check_order(db, res, in->id, existing, in->stage, on)) != 0) return svc_db_fail(res, req, db, rc);
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    char id[IDS_UUID_LEN + 1];
    const char *stage_id = existing;
    if (existing) {
        const char *params[] = {existing, in->on};
        rc = db_exec(db, "stage_move", 2, params, NULL);
    } else if (ids_uuid_new(id) == 0) {
        const Parley__Common__V1__Principal *p = req->header->principal;
        const char *params[] = {id, authority, in->id, stage, in->on,
                                (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL};
        rc = db_exec(db, "stage_insert", 6, params, NULL);
        stage_id = id;
    } else {
        rc = DB_ERR_QUERY;
    }
    stage_t *out = NULL;
    if (rc == 0) rc = after_change(db, res, in->id, stage_id, in->stage, in->on, previous_on, &out);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &out->base;
    return 0;
}

int stages_move(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__MoveStageRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "case");
    if (!ids_is_uuid(in->stage_id)) return svc_not_found(res, "stage");
    /* A merge patch: without `on` it changes nothing (a stage sent back as
     * read is checked and answered as it is). */
    bool moves = svc_sent(req, "on");
    int64_t on = 0;
    if (moves) intake_check_past_date(res, "on", in->on, &on);
    if (!svc_ok(res)) return -1;

    char *authority;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    int ok = cases_lock(db, req, res, in->id, true, &authority);
    if (ok < 0) return svc_db_fail(res, req, db, ok);
    if (ok == 0) {
        db_tx_rollback(db);
        return -1;
    }
    const char *find[] = {in->stage_id, in->id};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "stage_find", 2, find, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(r) == 0) {
        db_result_free(&r);
        db_tx_rollback(db);
        return svc_not_found(res, "stage");
    }
    int stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, 0, 0));
    char *previous_on = db_str(a, r, 0, 1);
    db_result_free(&r);
    /* What it is now, for the read-only fields sent back, and unchanged when
     * nothing changes: no new version, no event. */
    stage_t *now = load(db, a, in->stage_id, &rc);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (svc_check_read_only(req, res, &now->base, NULL) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    if (!moves || strcmp(in->on, previous_on) == 0) {
        if ((rc = db_tx_commit(db)) != 0) return svc_db_fail(res, req, db, rc);
        res->reply = &now->base;
        return 0;
    }
    if ((rc = check_order(db, res, in->id, in->stage_id, stage, on)) != 0) return svc_db_fail(res, req, db, rc);
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    const char *params[] = {in->stage_id, in->on};
    rc = db_exec(db, "stage_move", 2, params, NULL);
    stage_t *out = NULL;
    if (rc == 0) rc = after_change(db, res, in->id, in->stage_id, stage, in->on, previous_on, &out);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &out->base;
    return 0;
}
