/* The events intake emits, through the transactional outbox. Each event's
 * data is the case's facts merged with what the event adds; the shapes are
 * documented in docs/events.md. */
#include <stdlib.h>
#include <string.h>

#include "db/outbox.h"
#include "services/intake/intake.h"

/* Enum values are stored as their proto names; events carry the API's words. */
#define WORD(col, prefix) "lower(regexp_replace(" col ", '^" prefix "', ''))"

/* Every parent's preferred language (each once, in the parents' order) and
 * communication needs (each once) of the family whose id is the SQL
 * expression fam. */
#define PARENT_FACTS(fam)                                                                                      \
    " 'languages', coalesce((SELECT jsonb_agg(l ORDER BY pos) FROM"                                          \
    "   (SELECT DISTINCT ON (lower(p.preferred_language)) p.preferred_language AS l, p.position AS pos"        \
    "    FROM parents p WHERE p.family_id = " fam " AND p.preferred_language IS NOT NULL"                      \
    "    ORDER BY lower(p.preferred_language), p.position) x), '[]'),"                                       \
    " 'communicationNeeds', coalesce((SELECT jsonb_agg(DISTINCT " WORD("n", "COMMUNICATION_NEED_") ")"       \
    "   FROM parents p, unnest(p.communication_needs) AS n WHERE p.family_id = " fam "), '[]')"

#define FIRST_POSTCODE(fam) "(SELECT p.postcode FROM parents p WHERE p.family_id = " fam " ORDER BY p.position LIMIT 1)"

#define FAMILY_FACTS                                                                                            \
    "'caseId', c.id, 'authorityId', c.authority_id, 'familyId', c.family_id, 'childId', c.child_id,"           \
    PARENT_FACTS("c.family_id")

static const db_stmt_t stmts[] = {
    {"event_facts",
     "SELECT (jsonb_build_object(" FAMILY_FACTS ") || coalesce($2::jsonb, '{}'))::text, c.authority_id"
     " FROM cases c WHERE c.id = $1"},
    /* What matching needs to find a supporter (and nothing else of the child). */
    {"event_supporter_facts",
     "SELECT (jsonb_build_object(" FAMILY_FACTS ","
     " 'childNeeds', to_jsonb(ch.needs),"
     " 'childDateOfBirth', to_char(ch.date_of_birth, 'YYYY-MM-DD'),"
     " 'postcode', " FIRST_POSTCODE("c.family_id") ","
     " 'familyVersion', (SELECT f.version FROM families f WHERE f.id = c.family_id),"
     " 'caseNeeds', (SELECT coalesce(jsonb_agg(" WORD("n", "CASE_NEED_") "), '[]') FROM unnest(c.needs) AS n),"
     " 'requestedAt', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"
     " || coalesce($2::jsonb, '{}'))::text, c.authority_id"
     " FROM cases c LEFT JOIN children ch ON ch.id = c.child_id WHERE c.id = $1"},
    /* family.updated: what matching keeps of a family's cases. familyVersion
     * (the family's version, bumped by each change under its row lock) lets
     * a subscriber tell an older event from a newer one. */
    {"event_family_facts",
     "SELECT jsonb_build_object('familyId', f.id, 'authorityId', f.authority_id, 'familyVersion', f.version,"
     PARENT_FACTS("f.id") ","
     " 'postcode', " FIRST_POSTCODE("f.id") ","
     " 'children', coalesce((SELECT jsonb_agg(jsonb_build_object('childId', ch.id, 'needs', to_jsonb(ch.needs),"
     "   'dateOfBirth', to_char(ch.date_of_birth, 'YYYY-MM-DD')) ORDER BY ch.position)"
     "   FROM children ch WHERE ch.family_id = f.id), '[]'))::text, f.authority_id"
     " FROM families f WHERE f.id = $1"},
};

const db_stmt_t *events_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

typedef struct {
    const char *type;
    const char *subscribers[3];
    size_t n;
} route_t;

/* Who gets each event. notify tells families and partners; matching finds
 * supporters (and, when a case closes, frees its supporter's place and
 * drops its offers and request); feedback invites the family to say how it
 * went. */
static const route_t routes[] = {
    {"case.opened", {"notify"}, 1},
    {"case.supporter_requested", {"matching"}, 1},
    {"case.stage_changed", {"notify"}, 1},
    {"case.deadline_due", {"notify"}, 1},
    {"case.signposted", {"notify"}, 1},
    {"case.closed", {"notify", "feedback", "matching"}, 3},
    /* About a family (subjectId = familyId), not a case: matching refreshes
     * the facts it keeps of the family's cases. */
    {"family.updated", {"matching"}, 1},
};

int events_emit(db_t *db, const char *type, const char *case_id, const char *extra_json) {
    const route_t *route = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].type, type) == 0) route = &routes[i];
    if (route == NULL) return DB_ERR_QUERY; /* a programmer's error: every type is routed */
    const char *params[] = {case_id, extra_json};
    db_result_t *r = NULL;
    const char *stmt = strcmp(type, "case.supporter_requested") == 0 ? "event_supporter_facts"
                       : strcmp(type, "family.updated") == 0       ? "event_family_facts"
                                                                   : "event_facts";
    int rc = db_exec(db, stmt, strcmp(stmt, "event_family_facts") == 0 ? 1 : 2, params, &r);
    if (rc != 0) return rc;
    if (db_rows(r) != 1) {
        db_result_free(&r);
        return DB_ERR_QUERY;
    }
    rc = outbox_add(db, type, db_text(r, 0, 1), case_id, db_text(r, 0, 0), route->subscribers, route->n);
    db_result_free(&r);
    return rc;
}

char *events_json(arena_t *a, json_t *obj) {
    if (obj == NULL) return NULL;
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text == NULL) return NULL;
    char *copy = arena_strdup(a, text);
    free(text);
    return copy;
}
