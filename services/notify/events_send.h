/* events_send — what the handlers of scheduling's, matching's and
 * training's events (events_scheduling.c, events_matching.c,
 * events_training.c) share: reading who is to be told from the services
 * that own them, over the bus with the event's principal while the Deliver
 * request is in flight, and queueing each message once.
 *
 * The flow (events_send_run), for one event:
 *  1. in a transaction, the event's id is looked up in notify.inbox: a
 *     redelivery of an event handled before does nothing; an authority with
 *     none of the templates the event may use claims it and sends nothing
 *     (logged at info), as the case events do;
 *  2. with no transaction open, the type's gather function reads the
 *     people and values (bus calls, each within what is left of
 *     EVENTS_SEND_BUDGET_MS, so the relay's 2 s deadline holds);
 *  3. in one transaction the event is claimed (inbox_claim) and each
 *     message queued to each of its people with an email address (one
 *     notification per address, on the event's case when it has one),
 *     with an invitation's iCalendar stored on the row (notifications.ics)
 *     so a retry sends the same one.
 * A service that cannot be reached answers UNAVAILABLE: the relay tries
 * again later, and nothing was claimed.
 *
 * Contact details are read when the event is handled (intake for parents
 * and young people, matching for supporters, scheduling for participants
 * and bookings), never copied ahead of need. Everything is in the
 * request's arena. */
#ifndef PARLEY_NOTIFY_EVENTS_SEND_H
#define PARLEY_NOTIFY_EVENTS_SEND_H

#include <jansson.h>
#include <stdbool.h>

#include "parley/events/v1/events.pb-c.h"
#include "services/notify/notify.h"

#define EVENTS_SEND_MAX_VALUES 10
/* A session's bookings (500 seats and its waiting list) are the most. */
#define EVENTS_SEND_MAX_PEOPLE 600
#define EVENTS_SEND_MAX_MESSAGES 3
/* All of one event's bus calls together (the relay waits 2 s for an answer). */
#define EVENTS_SEND_BUDGET_MS 1500

/* One person to tell. */
typedef struct {
    const char *email;
    const char *name;        /* given name: ((name)) */
    const char *family_name; /* ((family_name)), "" when unknown */
    const char *language;    /* BCP 47; NULL: English */
    int format;              /* a MessageFormat; 0: standard */
    const char *case_id;     /* the case their message is listed on; NULL: the message's */
    /* A person Parley knows (a parent, young person or supporter): the
     * message names them by id, and their contact details are read from
     * their owner again when it is sent (contacts), never stored; NULL for
     * someone known only by the email given (a participant, a booking). */
    const char *person_id;
    const char *person_kind; /* "parent", "young_person" or "supporter" */
} events_person_t;

/* One message, from one template, to its people. */
typedef struct {
    const char *template_;
    const char *category;
    bool critical;
    size_t n; /* values beyond name and family_name */
    const char *names[EVENTS_SEND_MAX_VALUES];
    const char *values[EVENTS_SEND_MAX_VALUES];
    const char *ics, *method; /* an invitation's iCalendar and iTIP method, or NULL */
    size_t n_people;
    events_person_t people[EVENTS_SEND_MAX_PEOPLE];
} events_message_t;

/* What one event sends: its messages, on case_id (NULL: none). */
typedef struct {
    const char *case_id;
    size_t n;
    events_message_t msgs[EVENTS_SEND_MAX_MESSAGES];
} events_plan_t;

/* A handler's bus calls: the request served (its principal is used) and
 * the deadline shared by every call. */
typedef struct {
    notify_t *t;
    const bus_request_t *req;
    arena_t *a;
    int64_t deadline_ms; /* clock_mono_ms() */
} events_call_t;

/* A gather function: fills *plan from the event (data d). CODE_OK (the
 * plan may tell nobody), or CODE_UNAVAILABLE when a service that owns a
 * contact cannot be read now (the event is tried again later). */
typedef int (*events_gather_t)(events_call_t *c, const Parley__Events__V1__Event *ev, json_t *d,
                               events_plan_t *plan);

/* Runs the flow above for ev, whose messages may use templates (n). 0
 * (the reply is the caller's to set), or -1 with res set. */
int events_send_run(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev,
                    const char *const *templates, size_t n, events_gather_t gather);

/* Calls service.method with in, into *out (a message of type out_type in
 * the arena): the code answered; CODE_UNAVAILABLE when no answer came in
 * time. */
int events_send_call(events_call_t *c, const char *service, const char *method, const ProtobufCMessage *in,
                     const ProtobufCMessageDescriptor *out_type, ProtobufCMessage **out);

/* A new message on plan (NULL when it holds EVENTS_SEND_MAX_MESSAGES). */
events_message_t *events_send_message(events_plan_t *plan, const char *template_, const char *category,
                                      bool critical);
/* Adds a value (ignored when value is NULL or the message is full). */
void events_send_value(events_message_t *m, const char *name, const char *value);
/* Adds a person with an email address (ignored without one, or when full). */
void events_send_person(events_message_t *m, const events_person_t *p);

/* The people of a family (intake's GetFamily: each parent with an email
 * address, in their language and format) or, when familyId names a young
 * person who is their own client, the young person; onto m. CODE_OK (none
 * when neither is found: erased since), or CODE_UNAVAILABLE. */
int events_send_family(events_call_t *c, const char *family_id, events_message_t *m);
/* The same for a case (intake's GetCase: its family or young person). */
int events_send_case_people(events_call_t *c, const char *case_id, events_message_t *m);
/* A supporter (matching's GetSupporter) into *p: 1 found with an email
 * address, 0 not (or none), or -1 unavailable. */
int events_send_supporter(events_call_t *c, const char *supporter_id, events_person_t *p);

/* A string member of d, in a; NULL when absent or empty. */
const char *events_send_text(arena_t *a, json_t *d, const char *name);
/* A string member of d that is a UUID, in a; or NULL. */
const char *events_send_id(arena_t *a, json_t *d, const char *name);

/* Statements of events_send.c. */
const db_stmt_t *events_send_statements(size_t *n);

/* The handlers (events.c dispatches): 0 or -1 with res set; the reply is events.c's. */
bool events_scheduling_type(const char *type);
int events_scheduling(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev);
bool events_matching_type(const char *type);
int events_matching(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev);
bool events_training_type(const char *type);
int events_training(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev);

#endif
