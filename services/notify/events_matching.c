/* Matching's events (docs/events.md, "What notify consumes"), through the
 * shared flow of events_send.h; each message is listed on the event's case:
 *   match.offered    -> "match_offered" to the supporter: an offer waits,
 *                       ((expiresAt)) when it lapses (London time); nothing
 *                       of the family beyond what the offer shows them;
 *   match.accepted   -> "supporter_assigned" to the family (((supporter)):
 *                       the supporter's given name) and "match_accepted"
 *                       to the supporter;
 *   assignment.ended -> "assignment_ended" to the family (((supporter)),
 *                       ((reason))).
 * The family is intake's (GetFamily; a young person who is their own
 * client, whom matching names as the family, GetYoungPerson); the
 * supporter matching's (GetSupporter), both read when the event is
 * handled. */
#include <string.h>

#include "core/log.h"
#include "services/notify/event_time.h"
#include "services/notify/events_send.h"

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x
#define SUPPORT "support"
#define LONDON "Europe/London"

bool events_matching_type(const char *type) {
    return type && (strcmp(type, "match.offered") == 0 || strcmp(type, "match.accepted") == 0 ||
                    strcmp(type, "assignment.ended") == 0);
}

static int gather(events_call_t *c, const Parley__Events__V1__Event *ev, json_t *d, events_plan_t *plan) {
    arena_t *a = c->a;
    const char *supporter_id = events_send_id(a, d, "supporterId"), *family_id = events_send_id(a, d, "familyId");
    plan->case_id = events_send_id(a, d, "caseId");
    events_person_t supporter;
    int found = events_send_supporter(c, supporter_id, &supporter);
    if (found < 0) return CODE(UNAVAILABLE);
    if (strcmp(ev->type, "match.offered") == 0) {
        int64_t at;
        const char *expires = events_send_text(a, d, "expiresAt");
        events_message_t *m = events_send_message(plan, "match_offered", SUPPORT, false);
        events_send_value(m, "expiresAt", event_time_parse(expires, &at) == 0
                                              ? event_time_local(a, at, LONDON) : expires);
        if (found) events_send_person(m, &supporter);
        return CODE(OK);
    }
    /* The family knows their supporter by given name only. */
    const char *given = found ? supporter.name : "";
    events_message_t *family = events_send_message(
        plan, strcmp(ev->type, "match.accepted") == 0 ? "supporter_assigned" : "assignment_ended", SUPPORT, false);
    events_send_value(family, "supporter", given);
    if (strcmp(ev->type, "assignment.ended") == 0) {
        const char *reason = events_send_text(a, d, "reason");
        events_send_value(family, "reason", reason ? reason : "");
    }
    if (!found) log_info(ev->id, "%s: supporter %s not found or without an email address", ev->type,
                         supporter_id ? supporter_id : "(none)");
    if (strcmp(ev->type, "match.accepted") == 0) {
        events_message_t *m = events_send_message(plan, "match_accepted", SUPPORT, false);
        if (found) events_send_person(m, &supporter);
    }
    return events_send_family(c, family_id, family);
}

int events_matching(notify_t *t, const bus_request_t *req, bus_response_t *res, const Parley__Events__V1__Event *ev) {
    static const char *const offered[] = {"match_offered"};
    static const char *const accepted[] = {"supporter_assigned", "match_accepted"};
    static const char *const ended[] = {"assignment_ended"};
    if (strcmp(ev->type, "match.offered") == 0) return events_send_run(t, req, res, ev, offered, 1, gather);
    if (strcmp(ev->type, "match.accepted") == 0) return events_send_run(t, req, res, ev, accepted, 2, gather);
    return events_send_run(t, req, res, ev, ended, 1, gather);
}
