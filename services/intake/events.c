/* The events intake emits, through the transactional outbox. Each event's
 * data is the case's facts merged with what the event adds; the shapes are
 * documented in docs/events.md. */
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
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

/* A child's needs as the API's words of their types ("asd"), in order: an
 * event carries no detail, which is the family's own words. */
#define CHILD_NEEDS(ch)                                                                                          \
    "(SELECT coalesce(jsonb_agg(" WORD("n", "SEN_TYPE_") " ORDER BY k), '[]')"                                \
    " FROM unnest(" ch ".needs) WITH ORDINALITY AS u(n, k))"

#define FIRST_POSTCODE(fam) "(SELECT p.postcode FROM parents p WHERE p.family_id = " fam " ORDER BY p.position LIMIT 1)"

/* The API client that opened the case (a partner agency's referral, or
 * staff's), so notify can send a partner's webhook only its own referrals'
 * events (services/notify/webhook.h); null for a case opened without one. */
#define OPENED_BY "'openedByClientId', c.created_by_client,"

#define FAMILY_FACTS                                                                                            \
    "'caseId', c.id, 'authorityId', c.authority_id, 'familyId', c.family_id, 'childId', c.child_id,"           \
    OPENED_BY PARENT_FACTS("c.family_id")

/* Young people as clients: a young person's case carries youngPersonId,
 * and the languages and communication needs are the young person's own
 * (never a linked parent's), over FAMILY_FACTS' (empty for them). */
#define YOUNG_PERSON_FACTS                                                                                      \
    " || coalesce((SELECT jsonb_build_object('youngPersonId', y.id, 'languages', CASE WHEN y.preferred_language IS NULL" \
    "   THEN '[]'::jsonb ELSE jsonb_build_array(y.preferred_language) END," \
    "   'communicationNeeds', (SELECT coalesce(jsonb_agg(" WORD("n", "COMMUNICATION_NEED_") "), '[]')"             \
    "     FROM unnest(y.communication_needs) AS n))"                                                                \
    "   FROM young_people y WHERE y.id = c.young_person_id), '{}')"

/* Each statement adds one event, its data built from the rows it is about,
 * and its deliveries to the services subscribed to its type, in one go
 * (OUTBOX_ADD_FROM: $1 the event's id, $2 its type, $3 the case's or
 * family's id, $4 what the event adds), so that it can go in a pipeline
 * with the change it announces. */
static const db_stmt_t stmts[] = {
    {"event_case_add",
     OUTBOX_ADD_FROM("SELECT $1::uuid, $2::text, c.authority_id, c.id,"
                     " jsonb_build_object(" FAMILY_FACTS ")" YOUNG_PERSON_FACTS " || coalesce($4::jsonb, '{}')"
                     " FROM cases c WHERE c.id = $3")},
    /* What matching needs to find a supporter (and nothing else of the child). */
    {"event_supporter_add",
     OUTBOX_ADD_FROM("SELECT $1::uuid, $2::text, c.authority_id, c.id,"
                     " jsonb_build_object(" FAMILY_FACTS ","
                     /* The child's needs, or the young person's: the other is empty. */
                     " 'childNeeds', " CHILD_NEEDS("ch") " || " CHILD_NEEDS("yp") ","
                     " 'childDateOfBirth', to_char(coalesce(ch.date_of_birth, yp.date_of_birth), 'YYYY-MM-DD'),"
                     " 'postcode', coalesce(" FIRST_POSTCODE("c.family_id") ", yp.postcode),"
                     " 'familyVersion', (SELECT f.version FROM families f WHERE f.id = c.family_id),"
                     " 'caseNeeds', (SELECT coalesce(jsonb_agg(" WORD("n", "CASE_NEED_") "), '[]') FROM unnest(c.needs) AS n),"
                     " 'requestedAt', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"
                     YOUNG_PERSON_FACTS " || coalesce($4::jsonb, '{}')"
                     " FROM cases c LEFT JOIN children ch ON ch.id = c.child_id"
                     " LEFT JOIN young_people yp ON yp.id = c.young_person_id WHERE c.id = $3")},
    /* family.updated: what matching keeps of a family's cases. familyVersion
     * (the family's version, bumped by each change under its row lock) lets
     * a subscriber tell an older event from a newer one. */
    {"event_family_add",
     OUTBOX_ADD_FROM("SELECT $1::uuid, $2::text, f.authority_id, f.id,"
                     " jsonb_build_object('familyId', f.id, 'authorityId', f.authority_id, 'familyVersion', f.version,"
                     PARENT_FACTS("f.id") ","
                     " 'postcode', " FIRST_POSTCODE("f.id") ","
                     " 'children', coalesce((SELECT jsonb_agg(jsonb_build_object('childId', ch.id, 'needs',"
                     "   " CHILD_NEEDS("ch") ", 'dateOfBirth', to_char(ch.date_of_birth, 'YYYY-MM-DD')) ORDER BY ch.position)"
                     "   FROM children ch WHERE ch.family_id = f.id), '[]'))"
                     " FROM families f WHERE f.id = $3")},
    /* young_person.updated: the same facts for a young person's own cases,
     * where the young person is the client (matching keys them by the young
     * person's id as its familyId; their needs and birth are the child's). */
    {"event_young_person_add",
     OUTBOX_ADD_FROM("SELECT $1::uuid, $2::text, y.authority_id, y.id,"
                     " jsonb_build_object('familyId', y.id, 'youngPersonId', y.id, 'authorityId', y.authority_id,"
                     " 'familyVersion', y.version,"
                     " 'languages', CASE WHEN y.preferred_language IS NULL THEN '[]'::jsonb"
                     "   ELSE jsonb_build_array(y.preferred_language) END,"
                     " 'communicationNeeds', (SELECT coalesce(jsonb_agg(" WORD("n", "COMMUNICATION_NEED_") "), '[]')"
                     "   FROM unnest(y.communication_needs) AS n),"
                     " 'postcode', y.postcode,"
                     " 'children', jsonb_build_array(jsonb_build_object('youngPersonId', y.id, 'needs', " CHILD_NEEDS("y") ","
                     "   'dateOfBirth', to_char(y.date_of_birth, 'YYYY-MM-DD'))))"
                     " FROM young_people y WHERE y.id = $3")},
};

const db_stmt_t *events_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

/* The types intake emits, and which statement writes each. Who receives
 * them is the consumers' to say (parley_shared.subscriptions, docs/events.md):
 * notify tells families and partners; matching finds supporters (and, when a
 * case closes, frees its supporter's place and drops its offers and
 * request); feedback will invite the family to say how it went. */
static const struct {
    const char *type, *stmt;
    int n; /* the statement's parameters */
} kinds[] = {
    {"case.opened", "event_case_add", 4},
    {"case.supporter_requested", "event_supporter_add", 4},
    {"case.stage_changed", "event_case_add", 4},
    {"case.deadline_due", "event_case_add", 4},
    {"case.signposted", "event_case_add", 4},
    {"case.closed", "event_case_add", 4},
    /* About a family (subjectId = familyId), not a case. */
    {"family.updated", "event_family_add", 3},
    /* About a young person (subjectId = youngPersonId), the same for their own cases. */
    {"young_person.updated", "event_young_person_add", 3},
};

int events_step(arena_t *a, const char *type, const char *case_id, const char *extra_json, db_step_t *step) {
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k].type, type) != 0) k++;
    char *id = arena_alloc(a, IDS_UUID_LEN + 1);
    const char **params = arena_alloc(a, 4 * sizeof *params);
    if (k == sizeof kinds / sizeof kinds[0] || id == NULL || params == NULL || ids_uuid_new(id) != 0)
        return DB_ERR_QUERY;
    params[0] = id;
    params[1] = type;
    params[2] = case_id;
    params[3] = extra_json;
    *step = (db_step_t){kinds[k].stmt, kinds[k].n, params, NULL};
    return 0;
}

int events_emit(db_t *db, arena_t *a, const char *type, const char *case_id, const char *extra_json) {
    db_step_t step;
    int rc = events_step(a, type, case_id, extra_json, &step);
    if (rc == 0) rc = db_exec(db, step.name, step.n, step.params, &step.result);
    /* The statement returns the event's id: no row means the case or family was not there. */
    if (rc == 0 && db_rows(step.result) != 1) rc = DB_ERR_QUERY;
    db_result_free(&step.result);
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
