/* The shared flow of scheduling's, matching's and training's events
 * (contract in events_send.h). */
#include "services/notify/events_send.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "db/outbox.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "parley/matching/v1/matching.pb-c.h"
#include "pb/pb.h"
#include "services/notify/contacts.h"
#include "svc/svc.h"

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x
#define MAX_PARENTS 10
/* The least a call is given, even when the budget is nearly spent. */
#define MIN_CALL_MS 100

static const db_stmt_t stmts[] = {
    {"es_has_template", "SELECT 1 FROM templates WHERE authority_id = $1 AND key = $2"},
    /* The invitation, stored with the notification in its transaction. */
    {"es_calendar", "UPDATE notifications SET ics = $2, ics_method = $3 WHERE id = $1"},
};

const db_stmt_t *events_send_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

int events_send_call(events_call_t *c, const char *service, const char *method, const ProtobufCMessage *in,
                     const ProtobufCMessageDescriptor *out_type, ProtobufCMessage **out) {
    *out = NULL;
    if (c->t->bus == NULL) return CODE(UNAVAILABLE);
    size_t len = protobuf_c_message_get_packed_size(in);
    uint8_t *buf = arena_alloc(c->a, len + 1);
    if (buf == NULL) return CODE(INTERNAL);
    protobuf_c_message_pack(in, buf);
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = c->req->header->request_id;
    h.method = (char *)method;
    /* The broker lets a worker call on with the principal of the request it serves. */
    h.principal = c->req->header->principal;
    int64_t left = c->deadline_ms - clock_mono_ms();
    bus_reply_t rep;
    int rc = bus_client_call(c->t->bus, c->a, service, &h, buf, len, left < MIN_CALL_MS ? MIN_CALL_MS : (int)left,
                             true, &rep);
    if (rc != 0) {
        log_warn(h.request_id, "%s.%s: %s", service, method, rc == -ETIMEDOUT ? "no reply" : "bus failure");
        return CODE(UNAVAILABLE);
    }
    if (rep.status->code != CODE(OK)) return rep.status->code;
    *out = protobuf_c_message_unpack(out_type, arena_pb_allocator(c->a), rep.payload_len, rep.payload);
    return *out ? CODE(OK) : CODE(INTERNAL);
}

events_message_t *events_send_message(events_plan_t *plan, const char *template_, const char *category,
                                      bool critical) {
    if (plan->n >= EVENTS_SEND_MAX_MESSAGES) return NULL;
    events_message_t *m = &plan->msgs[plan->n++];
    memset(m, 0, sizeof *m);
    m->template_ = template_;
    m->category = category;
    m->critical = critical;
    return m;
}

void events_send_value(events_message_t *m, const char *name, const char *value) {
    if (m == NULL || value == NULL || m->n >= EVENTS_SEND_MAX_VALUES) return;
    m->names[m->n] = name;
    m->values[m->n++] = value;
}

void events_send_person(events_message_t *m, const events_person_t *p) {
    if (m == NULL || p->email == NULL || *p->email == '\0') return;
    /* One message an address: a parent who is also a participant is told once. */
    for (size_t i = 0; i < m->n_people; i++)
        if (strcasecmp(m->people[i].email, p->email) == 0) return;
    if (m->n_people < EVENTS_SEND_MAX_PEOPLE) m->people[m->n_people++] = *p;
}

/* The accessible format communication needs ask for. */
static int format_for(const Parley__Intake__V1__CommunicationNeed *needs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (needs[i] == PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_LARGE_PRINT)
            return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_LARGE_PRINT;
        if (needs[i] == PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_EASY_READ)
            return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_EASY_READ;
    }
    return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

int events_send_family(events_call_t *c, const char *family_id, events_message_t *m) {
    if (family_id == NULL || !ids_is_uuid(family_id)) return CODE(OK);
    Parley__Intake__V1__GetFamilyRequest in = PARLEY__INTAKE__V1__GET_FAMILY_REQUEST__INIT;
    in.id = (char *)family_id;
    ProtobufCMessage *out;
    int code = events_send_call(c, "intake", "GetFamily", &in.base, &parley__intake__v1__family__descriptor, &out);
    if (code == CODE(OK)) {
        const Parley__Intake__V1__Family *f = (const void *)out;
        for (size_t i = 0; i < f->n_parents && i < MAX_PARENTS; i++) {
            const Parley__Intake__V1__Parent *p = f->parents[i];
            events_person_t who = {p->email,
                                   or_empty(p->given_name),
                                   or_empty(p->family_name),
                                   svc_opt(p->preferred_language),
                                   format_for(p->communication_needs, p->n_communication_needs),
                                   NULL,
                                   ids_is_uuid(p->id) ? p->id : NULL,
                                   "parent"};
            events_send_person(m, &who);
        }
        return CODE(OK);
    }
    if (code != CODE(NOT_FOUND)) return CODE(UNAVAILABLE);
    /* A young person who is their own client: matching names them as the family. */
    Parley__Intake__V1__GetYoungPersonRequest yin = PARLEY__INTAKE__V1__GET_YOUNG_PERSON_REQUEST__INIT;
    yin.id = (char *)family_id;
    code = events_send_call(c, "intake", "GetYoungPerson", &yin.base, &parley__intake__v1__young_person__descriptor,
                            &out);
    if (code == CODE(OK)) {
        const Parley__Intake__V1__YoungPerson *y = (const void *)out;
        events_person_t who = {y->email,
                               or_empty(y->given_name),
                               or_empty(y->family_name),
                               svc_opt(y->preferred_language),
                               format_for(y->communication_needs, y->n_communication_needs),
                               NULL,
                               ids_is_uuid(y->id) ? y->id : NULL,
                               "young_person"};
        events_send_person(m, &who);
        return CODE(OK);
    }
    return code == CODE(NOT_FOUND) ? CODE(OK) : CODE(UNAVAILABLE); /* erased since: nobody to tell */
}

int events_send_case_people(events_call_t *c, const char *case_id, events_message_t *m) {
    if (case_id == NULL || !ids_is_uuid(case_id)) return CODE(OK);
    Parley__Intake__V1__GetCaseRequest in = PARLEY__INTAKE__V1__GET_CASE_REQUEST__INIT;
    in.id = (char *)case_id;
    ProtobufCMessage *out;
    int code = events_send_call(c, "intake", "GetCase", &in.base, &parley__intake__v1__case__descriptor, &out);
    if (code == CODE(NOT_FOUND)) return CODE(OK); /* not intake's case (or erased): no family to tell */
    if (code != CODE(OK)) return CODE(UNAVAILABLE);
    const Parley__Intake__V1__Case *k = (const void *)out;
    return events_send_family(c, svc_opt(k->family_id) ? k->family_id : k->young_person_id, m);
}

int events_send_supporter(events_call_t *c, const char *supporter_id, events_person_t *p) {
    if (supporter_id == NULL || !ids_is_uuid(supporter_id)) return 0;
    Parley__Matching__V1__GetSupporterRequest in = PARLEY__MATCHING__V1__GET_SUPPORTER_REQUEST__INIT;
    in.id = (char *)supporter_id;
    ProtobufCMessage *out;
    int code =
        events_send_call(c, "matching", "GetSupporter", &in.base, &parley__matching__v1__supporter__descriptor, &out);
    if (code == CODE(NOT_FOUND)) return 0;
    if (code != CODE(OK)) return -1;
    const Parley__Matching__V1__Supporter *s = (const void *)out;
    if (!svc_opt(s->email)) return 0;
    *p = (events_person_t){s->email, or_empty(s->given_name), or_empty(s->family_name), NULL, 0, NULL,
                           supporter_id, "supporter"};
    return 1;
}

const char *events_send_text(arena_t *a, json_t *d, const char *name) {
    const char *v = json_string_value(json_object_get(d, name));
    return v && *v ? arena_strdup(a, v) : NULL;
}

const char *events_send_id(arena_t *a, json_t *d, const char *name) {
    const char *v = json_string_value(json_object_get(d, name));
    return v && ids_is_uuid(v) ? arena_strdup(a, v) : NULL;
}

/* How many of templates the authority has: a count, or a DB_ERR_*. */
static int templates_held(db_t *db, const char *authority, const char *const *templates, size_t n) {
    int held = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p[] = {authority, templates[i]};
        int rc = svc_exists(db, "es_has_template", 2, p);
        if (rc < 0) return rc;
        held += rc;
    }
    return held;
}

/* Queues m to each of its people, in the open transaction. 0 or a DB_ERR_*. */
static int queue(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev, const char *case_id,
                 const events_message_t *m) {
    const char *p[] = {ev->authority_id, m->template_};
    int rc = svc_exists(db, "es_has_template", 2, p);
    if (rc <= 0) {
        if (rc == 0 && m->n_people)
            log_info(ev->id, "%s: authority %s has no template %s; nobody is told by it", ev->type, ev->authority_id,
                     m->template_);
        return rc;
    }
    for (size_t i = 0; i < m->n_people; i++) {
        const events_person_t *who = &m->people[i];
        enum { N = 2 + EVENTS_SEND_MAX_VALUES };
        Parley__Notify__V1__CreateNotificationRequest__DataEntry e[N], *entries[N];
        const char *names[N] = {"name", "family_name"}, *values[N] = {who->name, who->family_name};
        size_t count = 2;
        for (size_t k = 0; k < m->n; k++, count++) {
            names[count] = m->names[k];
            values[count] = m->values[k];
        }
        for (size_t k = 0; k < count; k++) {
            parley__notify__v1__create_notification_request__data_entry__init(&e[k]);
            e[k].key = (char *)names[k];
            e[k].value = (char *)values[k];
            entries[k] = &e[k];
        }
        Parley__Notify__V1__Recipient to = PARLEY__NOTIFY__V1__RECIPIENT__INIT;
        /* A person is named by id (their preferences apply, their details
         * are read again when it is sent); the rest by the address given. */
        contact_t person = {.kind = who->person_kind,
                            .given_name = who->name,
                            .family_name = who->family_name,
                            .email = who->email,
                            .language = who->language,
                            .format = who->format};
        if (who->person_id) {
            to.person_id = (char *)who->person_id;
        } else {
            to.email = (char *)who->email;
            to.language = (char *)(who->language ? who->language : "en");
            to.format = who->format;
        }
        Parley__Notify__V1__CreateNotificationRequest in = PARLEY__NOTIFY__V1__CREATE_NOTIFICATION_REQUEST__INIT;
        in.authority_id = ev->authority_id;
        in.template_ = (char *)m->template_;
        in.n_data = count;
        in.data = entries;
        in.recipient = &to;
        in.category = (char *)m->category;
        in.critical = m->critical;
        in.case_id = (char *)(who->case_id ? who->case_id : case_id);
        bus_response_t scratch = {.arena = a};
        parley__common__v1__status__init(&scratch.status);
        char id[IDS_UUID_LEN + 1];
        rc = notifications_insert_person(db, &scratch, &in, who->person_id ? &person : NULL, ev->id, NULL, id, NULL);
        if (rc == 1) {
            /* The template asks for what the event cannot give: its author must fix it. */
            log_error(ev->id, "%s: template %s cannot be sent to recipient %zu: %s: %s", ev->type, m->template_, i,
                      scratch.status.n_violations ? scratch.status.violations[0]->field : "",
                      scratch.status.n_violations ? scratch.status.violations[0]->description : "");
            continue;
        }
        if (rc == 0 && m->ics) {
            const char *cp[] = {id, m->ics, m->method};
            rc = db_exec(db, "es_calendar", 3, cp, NULL);
        }
        if (rc != 0) return rc;
    }
    return 0;
}

int events_send_run(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev,
                    const char *const *templates, size_t n, events_gather_t gather) {
    db_t *db = t->db;
    arena_t *a = res->arena;
    if (!ids_is_uuid(ev->authority_id)) {
        log_error(ev->id, "%s without an authority; nobody is told", ev->type);
        return 0;
    }
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = inbox_claim(db, ev->id, ev->type);
    int held = rc == 1 ? templates_held(db, ev->authority_id, templates, n) : rc;
    if (held < 0) return svc_db_fail(res, req, db, held);
    if (rc == 0) {
        db_tx_rollback(db); /* handled before */
        return 0;
    }
    if (held == 0) {
        /* Nothing to send: the claim is kept, so a template written later
         * does not reach events of the past. */
        log_info(ev->id, "%s: authority %s has none of its templates; nobody is told", ev->type, ev->authority_id);
        rc = db_tx_commit(db);
        return rc == 0 ? 0 : svc_db_fail(res, req, db, rc);
    }
    /* Not in the transaction: the calls may wait up to their deadline. */
    db_tx_rollback(db);
    const char *text = ev->data_json ? ev->data_json : "";
    json_t *d = pb_json_loadb(text, strlen(text), 0, NULL);
    events_plan_t *plan = arena_alloc(a, sizeof *plan);
    if (plan == NULL) {
        json_decref(d);
        return svc_db_fail(res, req, db, DB_ERR_QUERY);
    }
    memset(plan, 0, sizeof *plan);
    events_call_t call = {t, req, a, clock_mono_ms() + EVENTS_SEND_BUDGET_MS};
    int code = json_is_object(d) ? gather(&call, ev, d, plan) : CODE(OK);
    json_decref(d);
    if (code != CODE(OK)) {
        bus_response_error(res, CODE(UNAVAILABLE), "who is to be told cannot be read now");
        return -1;
    }
    rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = inbox_claim(db, ev->id, ev->type);
    if (rc == 1) {
        rc = 0;
        for (size_t i = 0; i < plan->n && rc == 0; i++) rc = queue(db, a, ev, plan->case_id, &plan->msgs[i]);
    }
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc == 0 ? 0 : svc_db_fail(res, req, db, rc);
}
