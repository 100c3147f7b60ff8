/* ics: what a family needs to take part in a meeting, read from intake
 * while the booking request is in flight (needs.h). */
#include "services/scheduling/needs.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "svc/svc.h"

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x
#define MAX_NOTES 480 /* AccessNeeds.notes holds 500 */

static int intake_timeout_ms = 1500;

void needs_configure(void) {
    intake_timeout_ms = (int)config_long("PARLEY_SCHEDULING_INTAKE_TIMEOUT_MS", 1500, 100, 10000);
}

/* intake's method with the caller's own principal (the broker admits it as
 * a delegation of the request in flight): OK with *out, or the code intake
 * or the bus answered (UNAVAILABLE when nothing did in time). */
static bus_code_t intake_call(bus_client_t *bus, const bus_request_t *req, arena_t *a, const char *method,
                              const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_d,
                              ProtobufCMessage **out) {
    int64_t left = req->header->deadline_unix_ms ? req->header->deadline_unix_ms - clock_now_ms() - 100 : 0;
    int timeout = intake_timeout_ms;
    if (left > 0 && left < timeout) timeout = (int)left;
    if (bus == NULL || (req->header->deadline_unix_ms && left <= 0)) return CODE(UNAVAILABLE);
    size_t len = protobuf_c_message_get_packed_size(in);
    uint8_t *buf = arena_alloc(a, len + 1);
    if (buf == NULL) return CODE(INTERNAL);
    protobuf_c_message_pack(in, buf);
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = req->header->request_id;
    h.method = (char *)method;
    h.principal = req->header->principal;
    bus_reply_t rep;
    int rc = bus_client_call(bus, a, "intake", &h, buf, len, timeout, true, &rep);
    if (rc != 0) {
        log_warn(req->header->request_id, "intake.%s: %s", method, rc == -ETIMEDOUT ? "no reply" : "bus failure");
        return CODE(UNAVAILABLE);
    }
    if (rep.status->code != CODE(OK)) return rep.status->code;
    *out = protobuf_c_message_unpack(out_d, arena_pb_allocator(a), rep.payload_len, rep.payload);
    return *out ? CODE(OK) : CODE(INTERNAL);
}

/* Adds one person's needs (intake's CommunicationNeed values) to x. */
static void add_person(arena_t *a, Parley__Scheduling__V1__AccessNeeds *x, const char *language, const int *needs,
                       size_t n, const char **notes) {
    bool known = language && *language && strcasecmp(language, "unknown") != 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        const char *note = NULL;
        switch (needs[i]) {
        case PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_INTERPRETER:
            if (!known) note = "an interpreter (language not recorded)";
            else if (!svc_opt(x->interpreter_language)) x->interpreter_language = arena_strdup(a, language);
            else if (strcasecmp(x->interpreter_language, language) != 0)
                note = arena_printf(a, "also an interpreter in %s", language);
            break;
        case PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_BSL: x->bsl = true; break;
        case PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_LARGE_PRINT: note = "papers in large print"; break;
        case PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_EASY_READ: note = "Easy Read papers"; break;
        case PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_BRAILLE: note = "papers in Braille"; break;
        case PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_AUDIO: note = "papers as audio"; break;
        default: break;
        }
        if (note == NULL || (*notes && strstr(*notes, note))) continue;
        const char *joined = *notes ? arena_printf(a, "%s; %s", *notes, note) : note;
        if (joined && strlen(joined) <= MAX_NOTES) *notes = joined;
    }
}

int needs_from_intake(bus_client_t *bus, const bus_request_t *req, bus_response_t *res, const char *case_id,
                      const char *authority_id, Parley__Scheduling__V1__AccessNeeds **out) {
    arena_t *a = res->arena;
    Parley__Intake__V1__GetCaseRequest gc = PARLEY__INTAKE__V1__GET_CASE_REQUEST__INIT;
    gc.id = (char *)case_id;
    ProtobufCMessage *got = NULL;
    bus_code_t code = intake_call(bus, req, a, "GetCase", &gc.base, &parley__intake__v1__case__descriptor, &got);
    const Parley__Intake__V1__Case *c = code == CODE(OK) ? (const void *)got : NULL;
    if (c != NULL && (authority_id == NULL || strcasecmp(c->authority_id, authority_id) != 0)) {
        bus_response_violation(res, "caseId", "is a case of another authority than authorityId");
        return -1;
    }
    Parley__Scheduling__V1__AccessNeeds *x = arena_alloc(a, sizeof *x);
    if (x == NULL) {
        bus_response_problem(res, BUS_PROBLEM_INTERNAL, NULL);
        return -1;
    }
    parley__scheduling__v1__access_needs__init(x);
    const char *notes = NULL;
    if (c != NULL && svc_opt(c->young_person_id)) {
        /* A young person's own case: their needs, never a linked parent's. */
        Parley__Intake__V1__GetYoungPersonRequest gy = PARLEY__INTAKE__V1__GET_YOUNG_PERSON_REQUEST__INIT;
        gy.id = c->young_person_id;
        code = intake_call(bus, req, a, "GetYoungPerson", &gy.base, &parley__intake__v1__young_person__descriptor, &got);
        if (code == CODE(OK)) {
            const Parley__Intake__V1__YoungPerson *y = (const void *)got;
            add_person(a, x, y->preferred_language, (const int *)y->communication_needs, y->n_communication_needs,
                       &notes);
        }
    } else if (c != NULL) {
        Parley__Intake__V1__GetFamilyRequest gf = PARLEY__INTAKE__V1__GET_FAMILY_REQUEST__INIT;
        gf.id = c->family_id;
        code = intake_call(bus, req, a, "GetFamily", &gf.base, &parley__intake__v1__family__descriptor, &got);
        if (code == CODE(OK)) {
            const Parley__Intake__V1__Family *f = (const void *)got;
            for (size_t i = 0; i < f->n_parents && i < 20; i++)
                add_person(a, x, f->parents[i]->preferred_language, (const int *)f->parents[i]->communication_needs,
                           f->parents[i]->n_communication_needs, &notes);
        }
    }
    if (code == CODE(NOT_FOUND) || code == CODE(PERMISSION_DENIED)) {
        /* Another authority's case is answered as one that does not exist. */
        bus_response_violation(res, "caseId", "no such case in the caller's authorities");
        return -1;
    }
    if (code != CODE(OK)) {
        bus_response_problem(res, BUS_PROBLEM_UNAVAILABLE,
                             "the intake service cannot be asked about this case's communication needs now; "
                             "nothing was booked");
        res->status.retry_after_seconds = 1;
        return -1;
    }
    x->notes = (char *)notes;
    *out = x;
    return 0;
}
