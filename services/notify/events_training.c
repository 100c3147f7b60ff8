/* Training's training.expiring (docs/events.md, "What notify consumes"),
 * through the shared flow of events_send.h: a supporter (the event names
 * supporterId; their email is matching's, GetSupporter) is reminded with
 * "training_expiring": ((course)) the course's code, ((expiresOn)),
 * ((daysLeft)). A person who is not a supporter has no contact notify can
 * read yet: nobody is told (logged), and the event is taken. No case: the
 * message is listed on none. */
#include <string.h>

#include "core/log.h"
#include "services/notify/events_send.h"

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x

bool events_training_type(const char *type) { return type && strcmp(type, "training.expiring") == 0; }

static int gather(events_call_t *c, const Parley__Events__V1__Event *ev, json_t *d, events_plan_t *plan) {
    arena_t *a = c->a;
    const char *supporter_id = events_send_id(a, d, "supporterId");
    const char *code = events_send_text(a, d, "code"), *expires = events_send_text(a, d, "expiresOn");
    json_t *left = json_object_get(d, "daysLeft");
    if (supporter_id == NULL || expires == NULL) {
        log_info(ev->id, "training.expiring: not a supporter's (or no expiresOn); nobody is told");
        return CODE(OK);
    }
    events_person_t who;
    int found = events_send_supporter(c, supporter_id, &who);
    if (found < 0) return CODE(UNAVAILABLE);
    events_message_t *m = events_send_message(plan, "training_expiring", "training", false);
    events_send_value(m, "course", code ? code : "");
    events_send_value(m, "expiresOn", expires);
    events_send_value(m, "daysLeft",
                      arena_printf(a, "%lld", json_is_integer(left) ? (long long)json_integer_value(left) : 0LL));
    if (found) events_send_person(m, &who);
    return CODE(OK);
}

int events_training(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev) {
    static const char *const templates[] = {"training_expiring"};
    return events_send_run(t, req, res, ev, templates, 1, gather);
}
