/* What happens to a case: consent withdrawn, the case closed. Both honour
 * If-Match when it is sent (last write wins without it) and answer the
 * case as it now is. */
#include <jansson.h>
#include <string.h>

#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Case case_t;

static const db_stmt_t stmts[] = {
    {"case_withdraw_consent",
     /* The version the change gives the case (cases_touch adds the 1):
      * the referrer's view keeps it (migrations/013). */
     "UPDATE cases SET consent_share = false, consent_withdrawn_at = now(), consent_withdrawal_reason = $2,"
     " consent_withdrawn_by = $3, consent_withdrawn_version = version + 1"
     " WHERE id = $1 AND consent_withdrawn_at IS NULL RETURNING id"},
    {"case_close",
     "UPDATE cases SET status = 'CASE_STATUS_CLOSED', outcome = $2, close_reason = $3, closed_at = now()"
     " WHERE id = $1 AND status <> 'CASE_STATUS_CLOSED' RETURNING id"},
};

const db_stmt_t *case_actions_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* Locks case id, runs stmt (an UPDATE ... RETURNING on it; no row back means
 * it was done before: 409 with the cause `already`), emits event, answers
 * the case. */
static int change(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, bool open_only,
                  const char *stmt, int n, const char *const *params, bus_problem_t already, const char *event,
                  const char *event_json) {
    char *authority;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    int ok = cases_lock(db, req, res, id, open_only, &authority);
    if (ok < 0) return svc_db_fail(res, req, db, ok);
    if (ok == 0) {
        db_tx_rollback(db);
        return -1;
    }
    db_result_t *r = NULL;
    rc = db_exec(db, stmt, n, params, &r);
    if (rc == 0 && db_rows(r) == 0) {
        db_result_free(&r);
        db_tx_rollback(db);
        bus_response_problem(res, already, NULL);
        return -1;
    }
    db_result_free(&r);
    if (rc == 0) rc = cases_touch(db, id);
    if (rc == 0 && event) rc = events_emit(db, res->arena, event, id, event_json);
    case_t *c = NULL;
    if (rc == 0) {
        int found = cases_load(db, res->arena, id, &c);
        rc = found == 1 ? 0 : (found < 0 ? found : DB_ERR_QUERY);
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &c->base;
    return 0;
}

int cases_withdraw_consent(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    const Parley__Intake__V1__WithdrawConsentRequest *in = (const void *)req->input;
    svc_check_max_len(res, "reason", in->reason, 2000);
    svc_check_max_len(res, "withdrawnBy", in->withdrawn_by, 200);
    if (!svc_ok(res)) return -1;
    const char *params[] = {in->id, svc_opt(in->reason), svc_opt(in->withdrawn_by)};
    /* Withdrawal is allowed on a closed case too: the data outlives it. */
    return change(db, req, res, in->id, false, "case_withdraw_consent", 3, params, BUS_PROBLEM_CONSENT_ALREADY_WITHDRAWN,
                  NULL, NULL);
}

int cases_close(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    const Parley__Intake__V1__CloseCaseRequest *in = (const void *)req->input;
    if (in->outcome == 0) bus_response_violation(res, "outcome", "is required");
    svc_check_max_len(res, "reason", in->reason, 2000);
    if (!svc_ok(res)) return -1;
    const char *outcome = svc_enum_text(&parley__intake__v1__case_outcome__descriptor, in->outcome);
    const char *params[] = {in->id, outcome, svc_opt(in->reason)};
    char *json = events_json(res->arena, json_pack("{s:s, s:s?}", "outcome",
                                                   svc_enum_word(res->arena, &parley__intake__v1__case_outcome__descriptor,
                                                                 in->outcome),
                                                   "reason", svc_opt(in->reason)));
    /* Not open_only: a closed case is told apart as already_closed (the
     * UPDATE finds nothing to close), not as case_closed. */
    return change(db, req, res, in->id, false, "case_close", 3, params, BUS_PROBLEM_ALREADY_CLOSED, "case.closed",
                  json);
}
