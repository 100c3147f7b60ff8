/* Events in: Events.Deliver from the producers' relays (docs/events.md).
 *
 * Four of intake's events tell the family, each from the authority's own
 * template (a notification on the case, made and queued as POST
 * /v1/notifications makes one), to every parent with an email address or a
 * phone number (a young person's own case: the young person), by personId
 * (contacts.h: their contact details are read from intake when it is
 * sent, and their preferences apply), in their preferred language and the
 * format their communication needs ask for:
 *   case.opened         -> "case_opened" (what happens next);
 *   case.signposted     -> "case_signposted" (the agencies, ((agencies)));
 *   case.stage_changed  -> "draft_plan_issued", only for a draft plan or a
 *                          proposed statement (the 15-day window: ((on)),
 *                          ((respondBy)));
 *   case.deadline_due   -> "deadline_due", only when the family owes it
 *                          (party "family"); the authority's deadlines are
 *                          the authority's to meet, and tell nobody.
 * The family (or the young person) is read from intake over the bus when
 * the event is handled, to know who to tell; their contact details are
 * never copied, so a correction or an erasure there takes effect at once. inbox_claim, in the transaction that
 * queues the notifications, makes a redelivery send nothing twice. An
 * authority without the template sends nothing (logged), and the event is
 * still taken.
 *
 * Webhooks (webhook.h): case.opened, case.stage_changed, case.signposted,
 * case.closed and case.deadline_due are queued for every webhook that
 * wants them (webhooks_fan_out), in the transaction that claims the event,
 * so a redelivery queues nothing twice.
 *
 * Scheduling's, matching's and training's events are handled in their own
 * files (events_scheduling.c, events_matching.c, events_training.c, through
 * events_send.h). Any other type is acknowledged and ignored, so the relay
 * does not retry it. */
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "db/outbox.h"
#include "parley/events/v1/events.pb-c.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "pb/pb.h"
#include "services/notify/case_text.h"
#include "services/notify/contacts.h"
#include "services/notify/events_send.h"
#include "services/notify/notify.h"
#include "services/notify/webhook.h"
#include "svc/svc.h"

#define CASE_OPENED_TEMPLATE "case_opened"
#define SIGNPOSTED_TEMPLATE "case_signposted"
#define DRAFT_PLAN_TEMPLATE "draft_plan_issued"
#define DEADLINE_TEMPLATE "deadline_due"
#define CASE_UPDATES "case_updates"
/* Plan stages and deadlines are statutory notices: critical (no unsubscribe). */
#define STATUTORY "statutory_notices"
/* Calendar days a family has to comment on a draft plan or proposed
 * statement (SEND Regulations 2014 reg 13; Education Act 1996 Sch 27). */
#define RESPONSE_DAYS 15
#define MAX_EXTRA 6
#define INTAKE_TIMEOUT_MS 1500
#define MAX_PARENTS 10

static const db_stmt_t stmts[] = {
    {"ev_has_template", "SELECT 1 FROM templates WHERE authority_id = $1 AND key = $2"},
};

const db_stmt_t *events_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x

/* The family from intake, with the event's principal (the broker lets a
 * worker call on with the principal of the request it serves). OK with
 * *out, or the code intake (or the bus) answered. */
static bus_code_t family_from_intake(notify_t *t, const bus_request_t *req, arena_t *a, const char *family_id,
                                     Parley__Intake__V1__Family **out) {
    if (t->bus == NULL) return CODE(UNAVAILABLE);
    Parley__Intake__V1__GetFamilyRequest in = PARLEY__INTAKE__V1__GET_FAMILY_REQUEST__INIT;
    in.id = (char *)family_id;
    size_t len = protobuf_c_message_get_packed_size(&in.base);
    uint8_t *buf = arena_alloc(a, len + 1);
    if (buf == NULL) return CODE(INTERNAL);
    protobuf_c_message_pack(&in.base, buf);
    bus_header_t h = PARLEY__COMMON__V1__REQUEST_HEADER__INIT;
    h.request_id = req->header->request_id;
    h.method = "GetFamily";
    h.principal = req->header->principal;
    bus_reply_t rep;
    int rc = bus_client_call(t->bus, a, "intake", &h, buf, len, INTAKE_TIMEOUT_MS, true, &rep);
    if (rc != 0) {
        log_warn(req->header->request_id, "intake.GetFamily: %s", rc == -ETIMEDOUT ? "no reply" : "bus failure");
        return CODE(UNAVAILABLE);
    }
    if (rep.status->code != CODE(OK)) return rep.status->code;
    *out = (Parley__Intake__V1__Family *)protobuf_c_message_unpack(&parley__intake__v1__family__descriptor,
                                                                   arena_pb_allocator(a), rep.payload_len,
                                                                   rep.payload);
    return *out ? CODE(OK) : CODE(INTERNAL);
}

/* The accessible format a parent's communication needs ask for. */
static int format_for(const Parley__Intake__V1__Parent *p) {
    for (size_t i = 0; i < p->n_communication_needs; i++) {
        if (p->communication_needs[i] == PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_LARGE_PRINT)
            return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_LARGE_PRINT;
        if (p->communication_needs[i] == PARLEY__INTAKE__V1__COMMUNICATION_NEED__COMMUNICATION_NEED_EASY_READ)
            return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_EASY_READ;
    }
    return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD;
}

/* The given name of the case's child in the family, or "". */
static const char *child_name(const Parley__Intake__V1__Family *f, const char *child_id) {
    for (size_t i = 0; i < f->n_children && child_id; i++)
        if (f->children[i]->id && strcasecmp(f->children[i]->id, child_id) == 0)
            return f->children[i]->given_name ? f->children[i]->given_name : "";
    return "";
}

/* What one event tells each parent: the template, and the values the
 * event adds to the parent's own (name, family_name, child_name). */
typedef struct {
    const char *template_;
    const char *category;
    bool critical;
    size_t n; /* extra values, at most MAX_EXTRA */
    const char *names[MAX_EXTRA];
    const char *values[MAX_EXTRA];
} message_t;

/* Queues msg to one person, by id (contacts: their email and phone are
 * read from their record when it is sent, never copied here), with the
 * values name, family_name and child_name and the message's own. 0 (a
 * template that asks for what the event cannot give is logged and sends
 * nothing) or a DB_ERR_*. */
static int tell_person(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev, const message_t *msg,
                       const char *case_id, const char *person_id, const contact_t *person, const char *child) {
    Parley__Notify__V1__CreateNotificationRequest__DataEntry e[3 + MAX_EXTRA], *entries[3 + MAX_EXTRA];
    const char *names[3 + MAX_EXTRA] = {"name", "family_name", "child_name"};
    const char *values[3 + MAX_EXTRA] = {person->given_name ? person->given_name : "",
                                         person->family_name ? person->family_name : "", child ? child : ""};
    size_t count = 3;
    for (size_t k = 0; k < msg->n && k < MAX_EXTRA; k++, count++) {
        names[count] = msg->names[k];
        values[count] = msg->values[k];
    }
    for (size_t k = 0; k < count; k++) {
        parley__notify__v1__create_notification_request__data_entry__init(&e[k]);
        e[k].key = (char *)names[k];
        e[k].value = (char *)values[k];
        entries[k] = &e[k];
    }
    /* Their language and format: their preferences, else their record's (person). */
    Parley__Notify__V1__Recipient to = PARLEY__NOTIFY__V1__RECIPIENT__INIT;
    to.person_id = (char *)person_id;
    Parley__Notify__V1__CreateNotificationRequest in = PARLEY__NOTIFY__V1__CREATE_NOTIFICATION_REQUEST__INIT;
    in.authority_id = ev->authority_id;
    in.template_ = (char *)msg->template_;
    in.n_data = count;
    in.data = entries;
    in.recipient = &to;
    in.category = (char *)msg->category;
    in.critical = msg->critical;
    in.case_id = (char *)case_id;
    bus_response_t scratch = {.arena = a};
    parley__common__v1__status__init(&scratch.status);
    char id[IDS_UUID_LEN + 1];
    int rc = notifications_insert_person(db, &scratch, &in, person, ev->id, NULL, id, NULL);
    if (rc == 1) {
        /* The template asks for what the event cannot give: its author must fix it. */
        const char *why = scratch.status.n_violations ? scratch.status.violations[0]->description : "";
        log_error(ev->id, "%s: template %s cannot be sent to %s %s of case %s: %s: %s", ev->type, msg->template_,
                  person->kind, person_id, case_id, scratch.status.n_violations ? scratch.status.violations[0]->field : "",
                  why);
        return 0;
    }
    return rc;
}

/* Queues msg to each parent with an email address or a phone number, in
 * the open transaction. 0 or a DB_ERR_*. */
static int tell_parents(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev, const message_t *msg,
                        const char *case_id, const char *child_id, const Parley__Intake__V1__Family *fam) {
    size_t n = fam->n_parents < MAX_PARENTS ? fam->n_parents : MAX_PARENTS;
    for (size_t i = 0; i < n; i++) {
        const Parley__Intake__V1__Parent *p = fam->parents[i];
        if (!svc_opt(p->email) && !svc_opt(p->phone)) continue;
        if (!ids_is_uuid(p->id)) continue;
        /* In memory only, for the default channel: never stored. */
        contact_t person = {.kind = "parent",
                            .given_name = p->given_name,
                            .family_name = p->family_name,
                            .email = svc_opt(p->email),
                            .phone = svc_opt(p->phone),
                            .language = svc_opt(p->preferred_language),
                            .format = format_for(p)};
        int rc = tell_person(db, a, ev, msg, case_id, p->id, &person, child_name(fam, child_id));
        if (rc != 0) return rc;
    }
    return 0;
}

/* A string member of the event's data that is a UUID, in a; or NULL. */
static const char *data_id(arena_t *a, json_t *d, const char *name) {
    const char *v = json_string_value(json_object_get(d, name));
    return v && ids_is_uuid(v) ? arena_strdup(a, v) : NULL;
}

/* A string member of the event's data, in a; or NULL. */
static const char *data_text(arena_t *a, json_t *d, const char *name) {
    const char *v = json_string_value(json_object_get(d, name));
    return v && *v ? arena_strdup(a, v) : NULL;
}

static void add_value(message_t *m, const char *name, const char *value) {
    if (m->n < MAX_EXTRA && value != NULL) {
        m->names[m->n] = name;
        m->values[m->n++] = value;
    }
}

/* The stage's message: the window to respond to a draft plan or proposed
 * statement. 1 with *m, or 0 for any other stage. */
static int stage_message(arena_t *a, const Parley__Events__V1__Event *ev, json_t *d, message_t *m) {
    const char *stage = data_text(a, d, "stage"), *on = data_text(a, d, "on");
    if (stage == NULL || (strcmp(stage, "draft_plan_issued") != 0 && strcmp(stage, "proposed_statement_issued") != 0))
        return 0;
    char *by = arena_alloc(a, 11);
    if (by == NULL || case_text_add_days(on, RESPONSE_DAYS, by) != 0) {
        log_error(ev->id, "case.stage_changed: %s without a usable date; the family is not told", stage);
        return 0;
    }
    m->template_ = DRAFT_PLAN_TEMPLATE;
    m->category = STATUTORY;
    m->critical = true;
    add_value(m, "stage", case_text_words(a, stage));
    add_value(m, "on", on);
    add_value(m, "respondBy", by);
    return 1;
}

/* The deadline's reminder, when the family owes it: 1 with *m, else 0. */
static int deadline_message(arena_t *a, const Parley__Events__V1__Event *ev, json_t *d, message_t *m) {
    const char *party = data_text(a, d, "party");
    if (party == NULL || strcmp(party, "family") != 0) return 0; /* the authority's to meet */
    const char *kind = data_text(a, d, "kind"), *due = data_text(a, d, "dueOn"), *rule = data_text(a, d, "rule");
    const char *status = data_text(a, d, "status");
    json_t *left = json_object_get(d, "daysRemaining");
    if (kind == NULL || due == NULL || rule == NULL || status == NULL || !json_is_integer(left)) {
        log_error(ev->id, "case.deadline_due without kind, dueOn, rule, status or daysRemaining; nobody is told");
        return 0;
    }
    m->template_ = DEADLINE_TEMPLATE;
    m->category = STATUTORY;
    m->critical = true;
    add_value(m, "kind", case_text_words(a, kind));
    add_value(m, "dueOn", due);
    add_value(m, "rule", rule);
    add_value(m, "status", status);
    add_value(m, "daysRemaining", arena_printf(a, "%lld", (long long)json_integer_value(left)));
    return 1;
}

/* What the event tells the family, from its data d: 1 with *m; 0 when it
 * tells them nothing. */
static int message_of(arena_t *a, const Parley__Events__V1__Event *ev, json_t *d, message_t *m) {
    *m = (message_t){.category = CASE_UPDATES};
    if (strcmp(ev->type, "case.opened") == 0) {
        m->template_ = CASE_OPENED_TEMPLATE;
        return 1;
    }
    if (strcmp(ev->type, "case.signposted") == 0) {
        json_t *given = json_object_get(d, "signposts");
        size_t n = 0;
        char *lines = case_text_agencies(a, given, &n);
        if (lines == NULL) return 0;
        if (json_array_size(given) > n)
            log_warn(ev->id, "case.signposted: %zu of %zu agencies listed", n, json_array_size(given));
        m->template_ = SIGNPOSTED_TEMPLATE;
        add_value(m, "agencies", lines);
        return 1;
    }
    if (strcmp(ev->type, "case.stage_changed") == 0) return stage_message(a, ev, d, m);
    if (strcmp(ev->type, "case.deadline_due") == 0) return deadline_message(a, ev, d, m);
    return 0;
}

/* An event only webhooks take: claimed and fanned out in one transaction. */
static int webhooks_only(notify_t *t, const bus_request_t *req, bus_response_t *res,
                         const Parley__Events__V1__Event *ev) {
    db_t *db = t->db;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = inbox_claim(db, ev->id, ev->type);
    if (rc == 0) {
        db_tx_rollback(db); /* handled before */
        return 0;
    }
    if (rc == 1) rc = webhooks_fan_out(db, res->arena, ev);
    if (rc == 0) rc = db_tx_commit(db);
    return rc == 0 ? 0 : svc_db_fail(res, req, db, rc);
}

/* An event that may tell the family: the message queued to each parent,
 * the webhooks fanned out and the event claimed, in one transaction. */
static int case_event(notify_t *t, const bus_request_t *req, bus_response_t *res,
                      const Parley__Events__V1__Event *ev) {
    arena_t *a = res->arena;
    const char *text = ev->data_json ? ev->data_json : "";
    json_t *d = pb_json_loadb(text, strlen(text), 0, NULL);
    const char *case_id = data_id(a, d, "caseId"), *family_id = data_id(a, d, "familyId");
    const char *child_id = data_id(a, d, "childId");
    /* A young person's own case names them instead of a family. */
    const char *young_id = family_id ? NULL : data_id(a, d, "youngPersonId");
    message_t msg;
    int tells = message_of(a, ev, d, &msg);
    json_decref(d);
    if (!tells) return webhooks_only(t, req, res, ev);
    if (case_id == NULL || (family_id == NULL && young_id == NULL) || !ids_is_uuid(ev->authority_id)) {
        /* A producer's bug, which retrying cannot help: logged, and the webhooks still get it. */
        log_error(ev->id, "%s not usable to tell a family: no caseId, familyId (or youngPersonId) or authorityId",
                  ev->type);
        return webhooks_only(t, req, res, ev);
    }
    db_t *db = t->db;
    const char *has[] = {ev->authority_id, msg.template_};
    int rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = inbox_claim(db, ev->id, ev->type);
    int found = rc == 1 ? svc_exists(db, "ev_has_template", 2, has) : rc;
    if (found < 0) return svc_db_fail(res, req, db, found);
    if (rc == 0 || found == 0) {
        /* Handled before; or nothing to send: the claim is kept, so a
         * template written later does not reach events of the past. */
        if (found == 0)
            log_info(ev->id, "%s: authority %s has no template %s; the family is not told", ev->type,
                     ev->authority_id, msg.template_);
        if (rc == 0) {
            db_tx_rollback(db); /* handled before: nothing to commit */
            return 0;
        }
        rc = webhooks_fan_out(db, a, ev);
        if (rc == 0) rc = db_tx_commit(db);
        return rc == 0 ? 0 : svc_db_fail(res, req, db, rc);
    }
    /* Not in the transaction: the call may wait up to its timeout. */
    db_tx_rollback(db);
    Parley__Intake__V1__Family *fam = NULL;
    contact_t young = {0};
    bus_code_t code = family_id ? family_from_intake(t, req, a, family_id, &fam)
                                : contacts_resolve(t->bus, a, req->header->request_id, req->header->principal,
                                                   young_id, "young_person", ev->authority_id, &young);
    bool told_young = family_id == NULL && code == CODE(OK);
    if (code == CODE(NOT_FOUND)) fam = NULL; /* erased since: nobody to tell */
    else if (code != CODE(OK)) {
        bus_response_error(res, CODE(UNAVAILABLE), "the family cannot be read from intake now");
        return -1;
    }
    rc = db_tx_begin(db, req->header->principal);
    if (rc == 0) rc = inbox_claim(db, ev->id, ev->type);
    if (rc == 1) {
        /* The young person is the client: told as a parent would be (their own name as the child's). */
        rc = fam          ? tell_parents(db, a, ev, &msg, case_id, child_id, fam)
             : told_young ? tell_person(db, a, ev, &msg, case_id, young_id, &young, young.given_name)
                          : 0;
    }
    if (rc == 0) rc = webhooks_fan_out(db, a, ev);
    if (rc == 0) rc = db_tx_commit(db);
    else db_tx_rollback(db);
    return rc == 0 ? 0 : svc_db_fail(res, req, db, rc);
}

/* Whether notify may tell the family about events of this type. */
static bool tells_family(const char *type) {
    static const char *const types[] = {"case.opened", "case.signposted", "case.stage_changed", "case.deadline_due"};
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0) return true;
    return false;
}

int events_deliver(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Events__V1__Event *ev = (const void *)req->input;
    static Parley__Events__V1__DeliverReply ok = PARLEY__EVENTS__V1__DELIVER_REPLY__INIT;
    int rc = 0;
    if (tells_family(ev->type) && ids_is_uuid(ev->id)) rc = case_event(ctx, req, res, ev);
    else if (webhooks_event_type(ev->type) && ids_is_uuid(ev->id)) rc = webhooks_only(ctx, req, res, ev);
    else if (events_scheduling_type(ev->type) && ids_is_uuid(ev->id)) rc = events_scheduling(ctx, req, res, ev);
    else if (events_matching_type(ev->type) && ids_is_uuid(ev->id)) rc = events_matching(ctx, req, res, ev);
    else if (events_training_type(ev->type) && ids_is_uuid(ev->id)) rc = events_training(ctx, req, res, ev);
    if (rc == 0) res->reply = &ok.base;
    return rc;
}
