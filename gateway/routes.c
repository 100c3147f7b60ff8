#include "gateway/routes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/ids.h"

#include "gateway/roles.h"
#include "parley/admin/v1/admin.pb-c.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "parley/matching/v1/matching.pb-c.h"
#include "parley/notify/v1/notify.pb-c.h"
#include "parley/scheduling/v1/scheduling.pb-c.h"
#include "parley/training/v1/training.pb-c.h"

#define ADMIN &parley__admin__v1__admin__descriptor
#define INTAKE &parley__intake__v1__intake__descriptor
#define MATCHING &parley__matching__v1__matching__descriptor
#define NOTIFY &parley__notify__v1__notify__descriptor
#define SCHEDULING &parley__scheduling__v1__scheduling__descriptor
#define TRAINING &parley__training__v1__training__descriptor
/* Training: staff and a trainer's key (which reads no family data). */
#define TRAINERS (STAFF | ROLE_TRAINER)
#define STAFF (ROLE_CONSORTIUM_ADMIN | ROLE_CASEWORKER)

/* Keep in step with gateway/openapi.json: a test checks both ways. */
static const route_t route_table[] = {
    /* Served by the gateway itself (service "gateway"): it owns API clients. */
    {"POST", "/v1/authorities", "gateway", ADMIN, "CreateAuthority", ROLE_CONSORTIUM_ADMIN, 201},
    {"GET", "/v1/authorities", "gateway", ADMIN, "ListAuthorities", ROLE_CONSORTIUM_ADMIN, 200},
    {"GET", "/v1/authorities/{id}", "gateway", ADMIN, "GetAuthority", ROLE_CONSORTIUM_ADMIN, 200},
    {"POST", "/v1/clients", "gateway", ADMIN, "CreateClient", ROLE_CONSORTIUM_ADMIN, 201},
    {"GET", "/v1/clients", "gateway", ADMIN, "ListClients", ROLE_CONSORTIUM_ADMIN, 200},
    {"GET", "/v1/clients/{id}", "gateway", ADMIN, "GetClient", ROLE_CONSORTIUM_ADMIN, 200},
    {"DELETE", "/v1/clients/{id}", "gateway", ADMIN, "RevokeClient", ROLE_CONSORTIUM_ADMIN, 200},
    /* A data protection officer's key reads this and nothing else. */
    {"GET", "/v1/audit", "gateway", ADMIN, "ListAudit", ROLE_CONSORTIUM_ADMIN | ROLE_DPO, 200},
    {"POST", "/v1/families", "intake", INTAKE, "CreateFamily", STAFF | ROLE_PARTNER_AGENCY, 201},
    /* A partner agency reads only the families its own client registered,
     * and of them only what opening a case needs (services/intake/families.c). */
    {"GET", "/v1/families", "intake", INTAKE, "ListFamilies", STAFF | ROLE_PARTNER_AGENCY, 200},
    {"GET", "/v1/families/{id}", "intake", INTAKE, "GetFamily", STAFF | ROLE_PARTNER_AGENCY, 200},
    {"POST", "/v1/cases", "intake", INTAKE, "CreateCase", STAFF | ROLE_PARTNER_AGENCY, 201},
    {"GET", "/v1/cases", "intake", INTAKE, "ListCases", STAFF, 200},
    /* A partner agency: only a case its client opened, as a referrer sees it. */
    {"GET", "/v1/cases/{id}", "intake", INTAKE, "GetCase", STAFF | ROLE_PARTNER_AGENCY, 200},
    /* A partner agency follows its own referrals: status and dates only. */
    {"GET", "/v1/referrals", "intake", INTAKE, "ListReferrals", STAFF | ROLE_PARTNER_AGENCY, 200},
    {"GET", "/v1/referrals/{id}", "intake", INTAKE, "GetReferral", STAFF | ROLE_PARTNER_AGENCY, 200},
    {"PATCH", "/v1/families/{id}", "intake", INTAKE, "UpdateFamily", STAFF, 200},
    {"POST", "/v1/children/{id}/views", "intake", INTAKE, "CreateChildView", STAFF, 201},
    {"GET", "/v1/children/{id}/views", "intake", INTAKE, "ListChildViews", STAFF, 200},
    {"GET", "/v1/children/{id}/views/{viewId}", "intake", INTAKE, "GetChildView", STAFF, 200},
    /* Young people aged 16 to 25 as clients in their own right. A partner
     * agency registers them and reads back only those its own client
     * registered (services/intake/young_people.c); their parents and their
     * views are staff's. */
    {"POST", "/v1/young-people", "intake", INTAKE, "CreateYoungPerson", STAFF | ROLE_PARTNER_AGENCY, 201},
    {"GET", "/v1/young-people", "intake", INTAKE, "ListYoungPeople", STAFF | ROLE_PARTNER_AGENCY, 200},
    {"GET", "/v1/young-people/{id}", "intake", INTAKE, "GetYoungPerson", STAFF | ROLE_PARTNER_AGENCY, 200},
    {"PATCH", "/v1/young-people/{id}", "intake", INTAKE, "UpdateYoungPerson", STAFF, 200},
    {"POST", "/v1/young-people/{id}/parents", "intake", INTAKE, "LinkParent", STAFF, 201},
    {"GET", "/v1/young-people/{id}/parents", "intake", INTAKE, "ListLinkedParents", STAFF, 200},
    {"GET", "/v1/young-people/{id}/parents/{parentId}", "intake", INTAKE, "GetLinkedParent", STAFF, 200},
    {"DELETE", "/v1/young-people/{id}/parents/{parentId}", "intake", INTAKE, "UnlinkParent", STAFF, 200},
    {"POST", "/v1/young-people/{id}/views", "intake", INTAKE, "CreateYoungPersonView", STAFF, 201},
    {"GET", "/v1/young-people/{id}/views", "intake", INTAKE, "ListYoungPersonViews", STAFF, 200},
    {"GET", "/v1/young-people/{id}/views/{viewId}", "intake", INTAKE, "GetYoungPersonView", STAFF, 200},
    {"POST", "/v1/cases/{id}/consent/withdraw", "intake", INTAKE, "WithdrawConsent", STAFF, 200},
    {"POST", "/v1/cases/{id}/close", "intake", INTAKE, "CloseCase", STAFF, 200},
    {"POST", "/v1/cases/{id}/stages", "intake", INTAKE, "RecordStage", STAFF, 201},
    {"GET", "/v1/cases/{id}/stages/{stageId}", "intake", INTAKE, "GetStage", STAFF, 200},
    {"PATCH", "/v1/cases/{id}/stages/{stageId}", "intake", INTAKE, "MoveStage", STAFF, 200},
    {"GET", "/v1/cases/{id}/timeline", "intake", INTAKE, "GetTimeline", STAFF, 200},
    {"POST", "/v1/cases/{id}/signposts", "intake", INTAKE, "CreateSignpost", STAFF, 201},
    {"GET", "/v1/cases/{id}/signposts", "intake", INTAKE, "ListSignposts", STAFF, 200},
    {"GET", "/v1/cases/{id}/signposts/{signpostId}", "intake", INTAKE, "GetSignpost", STAFF, 200},
    {"POST", "/v1/agencies", "intake", INTAKE, "CreateAgency", STAFF, 201},
    {"GET", "/v1/agencies", "intake", INTAKE, "ListAgencies", STAFF | ROLE_PARTNER_AGENCY | ROLE_SUPPORTER, 200},
    {"GET", "/v1/agencies/{id}", "intake", INTAKE, "GetAgency", STAFF | ROLE_PARTNER_AGENCY | ROLE_SUPPORTER, 200},
    {"POST", "/v1/resources", "intake", INTAKE, "CreateResource", STAFF, 201},
    {"GET", "/v1/resources", "intake", INTAKE, "ListResources", ROLE_ANY, 200},
    /* Before /v1/resources/{id}, which would match it too. */
    {"GET", "/v1/resources/review-due", "intake", INTAKE, "ListResourcesDue", ROLE_CONSORTIUM_ADMIN, 200},
    {"GET", "/v1/resources/{id}", "intake", INTAKE, "GetResource", ROLE_ANY, 200},
    /* library: the library and the directory kept current (If-Match required
     * on a PATCH, routes_if_match_required); the week's deadlines. */
    {"PATCH", "/v1/resources/{id}", "intake", INTAKE, "UpdateResource", STAFF, 200},
    {"POST", "/v1/resources/{id}/review", "intake", INTAKE, "ReviewResource", STAFF, 200},
    {"POST", "/v1/resources/{id}/retire", "intake", INTAKE, "RetireResource", STAFF, 200},
    {"PATCH", "/v1/agencies/{id}", "intake", INTAKE, "UpdateAgency", STAFF, 200},
    {"POST", "/v1/agencies/{id}/retire", "intake", INTAKE, "RetireAgency", STAFF, 200},
    {"GET", "/v1/deadlines", "intake", INTAKE, "ListDeadlines", STAFF, 200},
    {"POST", "/v1/supporters", "matching", MATCHING, "CreateSupporter", STAFF, 201},
    {"GET", "/v1/supporters", "matching", MATCHING, "ListSupporters", STAFF, 200},
    {"GET", "/v1/supporters/{id}", "matching", MATCHING, "GetSupporter", STAFF, 200},
    {"PATCH", "/v1/supporters/{id}", "matching", MATCHING, "UpdateSupporter", STAFF, 200},
    {"POST", "/v1/cases/{id}/candidates", "matching", MATCHING, "ListCandidates", STAFF, 200},
    {"POST", "/v1/match-requests", "matching", MATCHING, "CreateMatchRequest", STAFF, 201},
    {"GET", "/v1/match-requests/{id}", "matching", MATCHING, "GetMatchRequest", STAFF, 200},
    /* No family stuck (issue 12, item 1). */
    {"GET", "/v1/match-requests", "matching", MATCHING, "ListMatchRequests", STAFF, 200},
    {"POST", "/v1/match-requests/{id}/cancel", "matching", MATCHING, "CancelMatchRequest", STAFF, 200},
    {"POST", "/v1/match-requests/{id}/retry", "matching", MATCHING, "RetryMatchRequest", STAFF, 200},
    {"POST", "/v1/offers/{id}/accept", "matching", MATCHING, "AcceptOffer", STAFF | ROLE_SUPPORTER, 200},
    {"POST", "/v1/offers/{id}/decline", "matching", MATCHING, "DeclineOffer", STAFF | ROLE_SUPPORTER, 200},
    {"GET", "/v1/assignments", "matching", MATCHING, "ListAssignments", STAFF | ROLE_SUPPORTER, 200},
    {"POST", "/v1/assignments/{id}/end", "matching", MATCHING, "EndAssignment", STAFF, 200},
    {"GET", "/v1/matching/weights", "matching", MATCHING, "GetWeights", STAFF, 200},
    {"PUT", "/v1/matching/weights", "matching", MATCHING, "PutWeights", ROLE_CONSORTIUM_ADMIN, 200},
    {"GET", "/v1/matching/unmet-demand", "matching", MATCHING, "GetUnmetDemand", STAFF | ROLE_ANALYST, 200},
    /* Notify: an authority's templates and the messages sent from them;
     * POST answers 202, the message is sent in the background. */
    {"PUT", "/v1/templates/{key}", "notify", NOTIFY, "PutTemplate", STAFF, 200},
    {"GET", "/v1/templates/{key}", "notify", NOTIFY, "GetTemplate", STAFF, 200},
    {"POST", "/v1/notifications", "notify", NOTIFY, "CreateNotification", STAFF, 202},
    {"GET", "/v1/notifications", "notify", NOTIFY, "ListNotifications", STAFF, 200},
    {"GET", "/v1/notifications/{id}", "notify", NOTIFY, "GetNotification", STAFF, 200},
    /* contacts: a person's preferences (their contact details stay with their owner). */
    {"PUT", "/v1/contacts/{personId}/preferences", "notify", NOTIFY, "PutContactPreferences", STAFF, 200},
    {"GET", "/v1/contacts/{personId}/preferences", "notify", NOTIFY, "GetContactPreferences", STAFF, 200},
    /* Scheduling (issue 14): calendars, free slots computed when read, and
     * appointments never double-booked on a calendar. A supporter's key
     * reads only its own calendar and the appointments it is booked on
     * (services/scheduling); a reschedule needs If-Match. */
    {"PUT", "/v1/calendars/{ownerId}/availability", "scheduling", SCHEDULING, "PutAvailability", STAFF, 200},
    {"GET", "/v1/calendars/{ownerId}/availability", "scheduling", SCHEDULING, "GetAvailability",
     STAFF | ROLE_SUPPORTER, 200},
    {"GET", "/v1/calendars/{ownerId}/free-slots", "scheduling", SCHEDULING, "GetFreeSlots", STAFF | ROLE_SUPPORTER,
     200},
    {"POST", "/v1/appointments", "scheduling", SCHEDULING, "CreateAppointment", STAFF, 201},
    /* ics: before /v1/appointments/{id}, which would take "<id>.ics" as its
     * id (and answer 404). text/calendar (routes_raw_answer). */
    {"GET", "/v1/appointments/{id}.ics", "scheduling", SCHEDULING, "GetAppointmentIcs", STAFF | ROLE_SUPPORTER, 200},
    {"GET", "/v1/appointments/{id}", "scheduling", SCHEDULING, "GetAppointment", STAFF | ROLE_SUPPORTER, 200},
    {"PATCH", "/v1/appointments/{id}", "scheduling", SCHEDULING, "RescheduleAppointment", STAFF, 200},
    {"POST", "/v1/appointments/{id}/cancel", "scheduling", SCHEDULING, "CancelAppointment", STAFF, 200},
    {"GET", "/v1/appointments/{id}/icalendar", "scheduling", SCHEDULING, "GetAppointmentICalendar",
     STAFF | ROLE_SUPPORTER, 200},
    /* ics: a calendar's feed, for a calendar app: reached with its token
     * (routes_keyless: no API key; any role bit would do), and the token
     * made, replaced and revoked by staff or the supporter it belongs to. */
    {"POST", "/v1/calendars/{ownerId}/feed-token", "scheduling", SCHEDULING, "CreateFeedToken", STAFF | ROLE_SUPPORTER,
     200},
    {"DELETE", "/v1/calendars/{ownerId}/feed-token", "scheduling", SCHEDULING, "RevokeFeedToken",
     STAFF | ROLE_SUPPORTER, 200},
    {"GET", "/v1/calendars/{ownerId}.ics", "scheduling", SCHEDULING, "GetCalendarFeed", ROLE_ANY, 200},
    /* Group sessions: a booking past capacity waits; a cancelled seat goes
     * to the first waiting booking in the same transaction. */
    {"POST", "/v1/sessions", "scheduling", SCHEDULING, "CreateSession", STAFF, 201},
    {"GET", "/v1/sessions", "scheduling", SCHEDULING, "ListSessions", STAFF, 200},
    {"GET", "/v1/sessions/{id}", "scheduling", SCHEDULING, "GetSession", STAFF, 200},
    {"POST", "/v1/sessions/{id}/cancel", "scheduling", SCHEDULING, "CancelSession", STAFF, 200},
    {"POST", "/v1/sessions/{id}/bookings", "scheduling", SCHEDULING, "CreateBooking", STAFF, 201},
    {"GET", "/v1/sessions/{id}/bookings/{bookingId}", "scheduling", SCHEDULING, "GetSessionBooking", STAFF, 200},
    {"GET", "/v1/bookings/{id}", "scheduling", SCHEDULING, "GetBooking", STAFF, 200},
    {"POST", "/v1/bookings/{id}/cancel", "scheduling", SCHEDULING, "CancelBooking", STAFF, 200},
    /* Webhooks: a partner agency's (its referrals' events) or a consortium
     * admin's (its authority's); each client sees only its own. */
    {"POST", "/v1/webhooks", "notify", NOTIFY, "CreateWebhook", ROLE_CONSORTIUM_ADMIN | ROLE_PARTNER_AGENCY, 201},
    {"GET", "/v1/webhooks", "notify", NOTIFY, "ListWebhooks", ROLE_CONSORTIUM_ADMIN | ROLE_PARTNER_AGENCY, 200},
    {"GET", "/v1/webhooks/{id}", "notify", NOTIFY, "GetWebhook", ROLE_CONSORTIUM_ADMIN | ROLE_PARTNER_AGENCY, 200},
    {"DELETE", "/v1/webhooks/{id}", "notify", NOTIFY, "DeleteWebhook", ROLE_CONSORTIUM_ADMIN | ROLE_PARTNER_AGENCY, 200},
    {"GET", "/v1/webhooks/{id}/deliveries", "notify", NOTIFY, "ListWebhookDeliveries",
     ROLE_CONSORTIUM_ADMIN | ROLE_PARTNER_AGENCY, 200},
    /* Training (issue 15): courses, sessions and attendance, completions,
     * requirements, each person's standing, compliance and delivery. A
     * trainer records sessions and attendance; staff set requirements. */
    {"POST", "/v1/courses", "training", TRAINING, "CreateCourse", TRAINERS, 201},
    {"GET", "/v1/courses", "training", TRAINING, "ListCourses", TRAINERS, 200},
    {"GET", "/v1/courses/{id}", "training", TRAINING, "GetCourse", TRAINERS, 200},
    {"POST", "/v1/training-sessions", "training", TRAINING, "CreateTrainingSession", TRAINERS, 201},
    {"GET", "/v1/training-sessions", "training", TRAINING, "ListTrainingSessions", TRAINERS, 200},
    {"GET", "/v1/training-sessions/{id}", "training", TRAINING, "GetTrainingSession", TRAINERS, 200},
    {"POST", "/v1/training-sessions/{id}/attendance", "training", TRAINING, "RecordAttendance", TRAINERS, 200},
    {"POST", "/v1/completions", "training", TRAINING, "CreateCompletion", TRAINERS, 201},
    {"GET", "/v1/completions/{id}", "training", TRAINING, "GetCompletion", TRAINERS, 200},
    {"PUT", "/v1/requirements/{role}", "training", TRAINING, "PutRequirements", STAFF, 200},
    {"GET", "/v1/requirements/{role}", "training", TRAINING, "GetRequirements", TRAINERS, 200},
    {"GET", "/v1/people/{id}/training", "training", TRAINING, "GetPersonTraining", TRAINERS, 200},
    {"GET", "/v1/training/compliance", "training", TRAINING, "GetCompliance", TRAINERS, 200},
    {"GET", "/v1/training/delivered", "training", TRAINING, "GetDelivered", TRAINERS | ROLE_ANALYST, 200},
};

/* library: the PATCHes of records several authorities' staff keep (a
 * leaflet, an agency): a blind write could undo a colleague's change. */
static const char *const if_match_rpcs[] = {"UpdateResource", "UpdateAgency",
                                            /* scheduling: a reschedule moves everyone's calendar */
                                            "RescheduleAppointment"};

bool routes_if_match_required(const route_t *r) {
    if (strcmp(r->http_method, "PATCH") != 0) return false;
    for (size_t i = 0; i < sizeof if_match_rpcs / sizeof if_match_rpcs[0]; i++)
        if (strcmp(r->rpc, if_match_rpcs[i]) == 0) return true;
    return false;
}

/* ics: the answers given as text/calendar, and the route reached without a key. */
static const struct {
    const char *path;
    routes_raw_t raw;
} raw_routes[] = {
    {"/v1/appointments/{id}.ics", {"text/calendar; charset=utf-8", "ics"}},
    {"/v1/calendars/{ownerId}.ics", {"text/calendar; charset=utf-8", "ics"}},
};

const routes_raw_t *routes_raw_answer(const route_t *r) {
    for (size_t i = 0; i < sizeof raw_routes / sizeof raw_routes[0]; i++)
        if (strcmp(r->path, raw_routes[i].path) == 0 && strcmp(r->http_method, "GET") == 0) return &raw_routes[i].raw;
    return NULL;
}

bool routes_keyless(const route_t *r) {
    return strcmp(r->http_method, "GET") == 0 && strcmp(r->path, "/v1/calendars/{ownerId}.ics") == 0;
}

const route_t *routes_table(size_t *n) {
    *n = sizeof route_table / sizeof route_table[0];
    return route_table;
}

/* Next segment of s after a '/': sets *seg and *len; returns the rest. */
static const char *next_segment(const char *s, const char **seg, size_t *len) {
    if (*s == '/') s++;
    const char *end = strchr(s, '/');
    if (end == NULL) end = s + strlen(s);
    *seg = s;
    *len = (size_t)(end - s);
    return end;
}

/* Whether template t matches path, filling params. */
static bool path_matches(const char *t, const char *path, route_match_t *m) {
    m->n_params = 0;
    while (*t != '\0' && *path != '\0') {
        const char *ts, *ps;
        size_t tl, pl;
        t = next_segment(t, &ts, &tl);
        path = next_segment(path, &ps, &pl);
        const char *close = tl >= 2 && ts[0] == '{' ? memchr(ts, '}', tl) : NULL;
        if (close != NULL) {
            /* "{id}" or "{id}.ics": the literal suffix after the brace ends the segment. */
            size_t sl = tl - (size_t)(close + 1 - ts);
            if (pl <= sl || m->n_params == ROUTES_MAX_PARAMS || memcmp(ps + pl - sl, close + 1, sl) != 0) return false;
            route_param_t *p = &m->params[m->n_params++];
            p->name = ts + 1;
            p->name_len = (size_t)(close - ts - 1);
            p->value = ps;
            p->value_len = pl - sl;
        } else if (tl != pl || memcmp(ts, ps, tl) != 0) {
            return false;
        }
    }
    return *t == '\0' && *path == '\0';
}

int routes_match(const route_t *table, size_t n, const char *method, const char *path, route_match_t *m,
                 char *allow, size_t cap) {
    bool path_seen = false;
    size_t used = 0;
    if (cap > 0) allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        route_match_t cand;
        if (!path_matches(table[i].path, path, &cand)) continue;
        if (strcmp(table[i].http_method, method) == 0) {
            *m = cand;
            m->route = &table[i];
            return 0;
        }
        path_seen = true;
        if (used < cap) {
            int k = snprintf(allow + used, cap - used, "%s%s", used ? ", " : "", table[i].http_method);
            if (k > 0) used += (size_t)k;
        }
    }
    return path_seen ? -2 : -1;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (n + 1 bytes). -1 on a malformed escape
 * or a decoded NUL. */
static int percent_decode(const char *s, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[k++] = s[i];
            continue;
        }
        int hi = i + 1 < n ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return -1;
        out[k++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[k] = '\0';
    return 0;
}

/* Whether a parameter named name (len bytes) takes a UUID. */
static bool takes_uuid(const char *name, size_t len) {
    return (len == 2 && memcmp(name, "id", 2) == 0) || (len > 2 && memcmp(name + len - 2, "Id", 2) == 0);
}

static bool is_word(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 100) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("._~-", s[i]) == NULL) return false;
    return true;
}

int routes_decode_params(arena_t *a, route_match_t *m) {
    for (size_t i = 0; i < m->n_params; i++) {
        route_param_t *p = &m->params[i];
        p->text = NULL;
        if (p->value_len > 300) return -1; /* longer than any valid value, even fully escaped */
        char *text = arena_alloc(a, p->value_len + 1);
        if (text == NULL || percent_decode(p->value, p->value_len, text) != 0) return -1;
        if (takes_uuid(p->name, p->name_len)) {
            if (!ids_is_uuid(text)) return -1;
            for (char *c = text; *c; c++) *c = (char)tolower((unsigned char)*c);
        } else if (!is_word(text)) {
            return -1;
        }
        p->text = text;
    }
    return 0;
}

const ProtobufCMethodDescriptor *routes_method(const route_t *route) {
    return protobuf_c_service_descriptor_get_method_by_name(route->proto, route->rpc);
}
