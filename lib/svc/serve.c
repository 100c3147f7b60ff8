/* Every handler of an audited service runs inside svc_serve: the request's
 * audit context is opened on the handler's connection before it and
 * checked after it (contract in svc.h, "serve.c"). */
#include "core/log.h"
#include "svc/svc.h"

int svc_http_status(bus_code_t code) {
    switch (code) {
    case PARLEY__COMMON__V1__CODE__CODE_OK: return 200;
    case PARLEY__COMMON__V1__CODE__CODE_CANCELLED: return 499;
    case PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT: return 400;
    case PARLEY__COMMON__V1__CODE__CODE_OUT_OF_RANGE: return 400;
    case PARLEY__COMMON__V1__CODE__CODE_DEADLINE_EXCEEDED: return 504;
    case PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND: return 404;
    case PARLEY__COMMON__V1__CODE__CODE_ALREADY_EXISTS: return 409;
    case PARLEY__COMMON__V1__CODE__CODE_ABORTED: return 409;
    case PARLEY__COMMON__V1__CODE__CODE_PERMISSION_DENIED: return 403;
    case PARLEY__COMMON__V1__CODE__CODE_UNAUTHENTICATED: return 401;
    case PARLEY__COMMON__V1__CODE__CODE_RESOURCE_EXHAUSTED: return 429;
    case PARLEY__COMMON__V1__CODE__CODE_FAILED_PRECONDITION: return 412;
    case PARLEY__COMMON__V1__CODE__CODE_UNIMPLEMENTED: return 501;
    case PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE: return 503;
    default: return 500;
    }
}

void svc_audit_answer(db_t *db, bus_code_t code) { db_audit_outcome(db, svc_http_status(code)); }

int svc_serve(db_t *db, bus_handler_fn handler, void *ctx, const bus_request_t *req, bus_response_t *res) {
    const bus_header_t *h = req->header;
    db_audit_begin(db, h);
    int rc = handler(ctx, req, res);
    if (rc < 0 && svc_ok(res)) bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
    int recorded = 0, transactions = 0;
    int written = db_audit_end(db, &recorded, &transactions);
    if (written < 0) return rc; /* not a client's request: nothing to audit here */
    int success = h->audit->outcome > 0 ? h->audit->outcome : 200;
    if (written == 1) {
        res->status.audited = true;
        int answered = svc_ok(res) ? success : svc_http_status(res->status.code);
        if (answered != recorded)
            log_error(h->request_id, "%s: its audit row records %d but the answer is %d (db_audit_outcome before the commit)",
                      h->method, recorded, answered);
        return rc;
    }
    if (!svc_ok(res)) return rc; /* nothing committed with a row: the gateway audits the failure */
    if (transactions == 0) {
        /* Answered without the database (nothing there to read for this
         * caller): the row goes alone, as a read's does. */
        int w = db_audit_write_alone(db, h, NULL, success);
        if (w != 0) return svc_db_fail(res, req, db, w);
        res->status.audited = true;
        return rc;
    }
    /* A transaction ran and none carried the row: a read that named no
     * object (audit.touch) or a success path that rolled back. Never answer
     * it: the gateway records the 500 instead, and a test sees it. */
    log_error(h->request_id, "%s answered without its audit row (no object named, or its transaction rolled back);"
              " refused", h->method);
    res->reply = NULL;
    bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
    return -1;
}
