/* intake — families, children and their views, cases through the SEN
 * process, agencies and signposting, the information library. One process
 * serves every handler; run as many processes as load needs (nothing here
 * is process-local truth). Each resource file prepares its statements
 * (<file>_statements) and exports its handlers. */
#ifndef PARLEY_INTAKE_H
#define PARLEY_INTAKE_H

#include <jansson.h>
#include <stdbool.h>

#include "bus/bus.h"
#include "db/db.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "svc/page_token.h"

typedef struct {
    db_t *db;
} intake_t;

/* statements.c: every statement below, on db (a handler thread's). */
void intake_register_statements(db_t *db);

const db_stmt_t *families_statements(size_t *n);
const db_stmt_t *family_update_statements(size_t *n);
const db_stmt_t *cases_statements(size_t *n);
const db_stmt_t *case_actions_statements(size_t *n);
const db_stmt_t *views_statements(size_t *n);
const db_stmt_t *stages_statements(size_t *n);
const db_stmt_t *timeline_statements(size_t *n);
const db_stmt_t *agencies_statements(size_t *n);
const db_stmt_t *signposts_statements(size_t *n);
const db_stmt_t *resources_statements(size_t *n);
const db_stmt_t *resource_update_statements(size_t *n);
const db_stmt_t *agency_update_statements(size_t *n);
const db_stmt_t *deadline_list_statements(size_t *n);
const db_stmt_t *events_statements(size_t *n);
const db_stmt_t *sweep_statements(size_t *n);

/* families.c, family_update.c */
int families_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int families_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int families_update(void *ctx, const bus_request_t *req, bus_response_t *res);
int families_list(void *ctx, const bus_request_t *req, bus_response_t *res);

#define MAX_PARENTS 10
#define MAX_CHILDREN 12
struct Parley__Intake__V1__ParentInput;
struct Parley__Intake__V1__ChildInput;
/* Field checks of one parent or child (violations named parents[i].x). */
void families_check_parent(bus_response_t *res, size_t i, const struct Parley__Intake__V1__ParentInput *p);
void families_check_child(bus_response_t *res, size_t i, const struct Parley__Intake__V1__ChildInput *c);
/* The same; birth_range false leaves out the date of birth's check against
 * today (not in the future, at most 26 years ago), for one kept as stored. */
void families_check_child_fields(bus_response_t *res, size_t i, const struct Parley__Intake__V1__ChildInput *c,
                                 bool birth_range);
/* Writes a parent or child of family at pos: a new one (existing NULL) or
 * over existing, which must be of that family. 0 or a DB_ERR_*. */
int families_write_parent(db_t *db, arena_t *a, const char *family, const char *authority, size_t pos,
                          const char *existing, const struct Parley__Intake__V1__ParentInput *p);
int families_write_child(db_t *db, arena_t *a, const char *family, const char *authority, size_t pos,
                         const char *existing, const struct Parley__Intake__V1__ChildInput *c);

/* Loads family id (visible to the transaction's authorities) into *out.
 * Returns 1 found, 0 not found, or a DB_ERR_*. Used by cases too. */
struct Parley__Intake__V1__Family;
int families_load(db_t *db, arena_t *a, const char *id, struct Parley__Intake__V1__Family **out);
/* The same with stmt (family_get's columns: "family_lock" to lock it too). */
int families_read(db_t *db, arena_t *a, const char *id, const char *stmt, struct Parley__Intake__V1__Family **out);

/* cases.c, case_actions.c */
int cases_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int cases_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int cases_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int cases_withdraw_consent(void *ctx, const bus_request_t *req, bus_response_t *res);
int cases_close(void *ctx, const bus_request_t *req, bus_response_t *res);

/* A referrer's view of a case, as columns: id, authority_id, status, stage,
 * created_at, updated_at, closed_at (micros), external_reference,
 * consent withdrawn, version. Once consent to share is withdrawn: no
 * status, stage or closing, and the updatedAt and version of the
 * withdrawal, which move no more (migrations/013). Only for the caller's
 * own cases: external_reference is then its own. */
#define REFERRER_WITHDRAWN "consent_withdrawn_at IS NOT NULL"
#define REFERRER_UPDATED "coalesce(consent_withdrawn_at, updated_at)"
#define REFERRER_COLUMNS                                                                                      \
    "id, authority_id, CASE WHEN NOT " REFERRER_WITHDRAWN " THEN status END,"                                 \
    " CASE WHEN NOT " REFERRER_WITHDRAWN " THEN stage END, " DB_MICROS("created_at") ","                      \
    " " DB_MICROS(REFERRER_UPDATED) ", CASE WHEN NOT " REFERRER_WITHDRAWN " THEN " DB_MICROS("closed_at") " END," \
    " external_reference, " REFERRER_WITHDRAWN ","                                                             \
    " CASE WHEN " REFERRER_WITHDRAWN " THEN coalesce(consent_withdrawn_version, version) ELSE version END"

/* referrals.c: a partner agency's view of the cases it referred. */
const db_stmt_t *referrals_statements(size_t *n);
int referrals_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int referrals_list(void *ctx, const bus_request_t *req, bus_response_t *res);

/* Loads case id into *out: 1 found, 0 not, or DB_ERR_*. */
struct Parley__Intake__V1__Case;
int cases_load(db_t *db, arena_t *a, const char *id, struct Parley__Intake__V1__Case **out);

/* Locks case id for a change (FOR UPDATE) and checks If-Match. Returns 1
 * when it may change, with *authority (in res's arena) its authority; 0
 * when it may not, with res set: NOT_FOUND (no such case), FAILED_PRECONDITION
 * (If-Match is stale: 412) or, when open_only, ABORTED (closed: 409); or a
 * DB_ERR_* (res untouched). */
int cases_lock(db_t *db, const bus_request_t *req, bus_response_t *res, const char *id, bool open_only,
               char **authority);

/* Bumps the case's version and updated_at. 0 or a DB_ERR_*. */
int cases_touch(db_t *db, const char *id);

/* views.c */
int views_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int views_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int views_get(void *ctx, const bus_request_t *req, bus_response_t *res);
struct Parley__Intake__V1__ChildView;
/* Row i of a statement with the view columns (id, child_id, authority_id,
 * recorded_on, method, summary, wishes, recorded_by, created_at), in a. */
struct Parley__Intake__V1__ChildView *views_from_row(arena_t *a, const db_result_t *r, int i);

/* stages.c, timeline.c */
int stages_record(void *ctx, const bus_request_t *req, bus_response_t *res);
int stages_move(void *ctx, const bus_request_t *req, bus_response_t *res);
int stages_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int timeline_get(void *ctx, const bus_request_t *req, bus_response_t *res);

/* agencies.c, signposts.c */
int agencies_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int agencies_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int agencies_list(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Whether agency_id is in the directory and serves authority_id: 1, 0 or a DB_ERR_*. */
int agencies_serve(db_t *db, const char *agency_id, const char *authority_id);
int signposts_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int signposts_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int signposts_get(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Signposts case_id automatically to every active agency matching the
 * child's needs and the family's authority, each marked with whether it
 * works in a parent's language (servesLanguage), once per agency and
 * trigger stage, on the date on; emits case.signposted when any was.
 * 0 or a DB_ERR_*. */
int signposts_automatic(db_t *db, arena_t *a, const char *case_id, int trigger_stage, const char *on);
/* Moves case_id's automatic signposts of trigger_stage to the date on (the
 * stage's date moved). 0 or a DB_ERR_*. */
int signposts_follow_stage(db_t *db, const char *case_id, int trigger_stage, const char *on);

/* resources.c */
int resources_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int resources_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int resources_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int resources_list_due(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Begins the caller's transaction with its consortium in scope (row-level
 * security on resources reads it). 0 or a DB_ERR_*. */
int resources_begin(db_t *db, const bus_request_t *req);
struct Parley__Intake__V1__CreateResourceRequest;
struct Parley__Intake__V1__Resource;
/* A resource's field checks, as a create states it (violations on res). */
void resources_check(const bus_request_t *req, bus_response_t *res,
                     const struct Parley__Intake__V1__CreateResourceRequest *in);
/* Row i of a statement with the resource columns (resource_get's), in a. */
struct Parley__Intake__V1__Resource *resources_from_row(arena_t *a, const db_result_t *r, int i);

/* resource_update.c: PATCH, review and retire a resource. */
int resources_update(void *ctx, const bus_request_t *req, bus_response_t *res);
int resources_review(void *ctx, const bus_request_t *req, bus_response_t *res);
int resources_retire(void *ctx, const bus_request_t *req, bus_response_t *res);

/* agency_update.c: PATCH and retire an agency. */
int agencies_update(void *ctx, const bus_request_t *req, bus_response_t *res);
int agencies_retire(void *ctx, const bus_request_t *req, bus_response_t *res);
struct Parley__Intake__V1__CreateAgencyRequest;
struct Parley__Intake__V1__Agency;
/* An agency's field checks, as a create states them; with authorities
 * false, authorityIds is left to the caller. */
void agencies_check(const bus_request_t *req, bus_response_t *res,
                    const struct Parley__Intake__V1__CreateAgencyRequest *in, bool authorities);
/* n SenStage values (an agency's stages) as a text[] literal of their proto
 * names, in a. */
const char *agencies_stages_literal(arena_t *a, const void *stages, size_t n);
/* Loads agency id (visible) into *out with stmt ("agency_get" or
 * "agency_lock"): 1 found, 0 not, or a DB_ERR_*. */
int agencies_load(db_t *db, arena_t *a, const char *id, const char *stmt, struct Parley__Intake__V1__Agency **out);

/* deadline_list.c: GET /v1/deadlines across the caller's open cases. */
int deadlines_list(void *ctx, const bus_request_t *req, bus_response_t *res);

/* events.c: adds event type about case_id to the outbox, in the open
 * transaction, for the type's subscribers, in one statement. Its data is
 * the case's facts (caseId, authorityId, familyId, childId, languages,
 * communicationNeeds, and youngPersonId for a young person's own case;
 * see docs/events.md) merged with extra_json (a JSON
 * object's text, or NULL). Type family.updated is about a family instead:
 * case_id is the family's id and its data the family's facts (extra_json
 * unused). 0 or a DB_ERR_* (also when there is no such case or family). */
int events_emit(db_t *db, arena_t *a, const char *type, const char *case_id, const char *extra_json);
/* The same statement as a pipeline step (db_run), its parameters in a: for
 * a change in the same pipeline. 0 or DB_ERR_QUERY (an unknown type). */
int events_step(arena_t *a, const char *type, const char *case_id, const char *extra_json, db_step_t *step);
/* obj's compact text in a; takes obj's reference (decrefs it). NULL when
 * obj is NULL or out of memory. */
char *events_json(arena_t *a, json_t *obj);

/* young_people.c, young_person_update.c, young_person_parents.c,
 * young_person_views.c: young people aged 16 to 25 as clients in their own
 * right. */
const db_stmt_t *young_people_statements(size_t *n);
const db_stmt_t *young_person_parents_statements(size_t *n);
const db_stmt_t *young_person_views_statements(size_t *n);
/* contacts.c: ResolveContact, for notify when it sends (contacts). */
const db_stmt_t *contacts_statements(size_t *n);
int contacts_resolve(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_people_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_people_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_people_update(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_people_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_person_parents_link(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_person_parents_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_person_parents_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_person_parents_unlink(void *ctx, const bus_request_t *req, bus_response_t *res);
/* A young_person_views row (VIEW_COLUMNS of young_person_views.c), in a. */
struct Parley__Intake__V1__YoungPersonView *young_person_views_from_row(arena_t *a, const db_result_t *r, int i);
int young_person_views_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_person_views_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int young_person_views_get(void *ctx, const bus_request_t *req, bus_response_t *res);
struct Parley__Intake__V1__YoungPerson;
struct Parley__Intake__V1__CreateYoungPersonRequest;
/* Field checks of a young person (violations named as the API names them);
 * birth_range false leaves out the age check against today (16 to 25 in
 * Europe/London), for a date of birth kept as stored. */
void young_people_check_fields(bus_response_t *res, const struct Parley__Intake__V1__CreateYoungPersonRequest *in,
                               bool birth_range);
/* The young person of row i of a result of YP_COLUMNS (young_people.c),
 * allocated in a (freed with the request's arena); r stays the caller's. */
struct Parley__Intake__V1__YoungPerson *young_person_from_row(arena_t *a, const db_result_t *r, int i);
/* Reads young person id with stmt ("yp_get", or "yp_lock" to lock it too)
 * into *out (in a): 1 found, 0 not, or a DB_ERR_*. */
int young_people_read(db_t *db, arena_t *a, const char *id, const char *stmt,
                      struct Parley__Intake__V1__YoungPerson **out);
/* Writes in's fields over young person was (its version bumped) and reads
 * it back into *now (in a). 0 or a DB_ERR_*. */
int young_people_write(db_t *db, arena_t *a, const struct Parley__Intake__V1__YoungPerson *was,
                       const struct Parley__Intake__V1__CreateYoungPersonRequest *in,
                       struct Parley__Intake__V1__YoungPerson **now);

/* sweep.c: the deadline sweep, a relay task (see svc/relay.h); ctx is a
 * sweep_config_t (sweep.h). */
void sweep_init(void *ctx, db_t *db);
void sweep_run(void *ctx, db_t *db);

/* listing.c (the rest handlers share is in svc/svc.h). */
/* A stage-like date check: a YYYY-MM-DD that is not after tomorrow. */
bool intake_check_past_date(bus_response_t *res, const char *field, const char *value, int64_t *days);

/* An optional externalReference: at most 100 characters, no control
 * characters, no space at either end (a violation on field otherwise). */
bool intake_check_reference(bus_response_t *res, const char *field, const char *value);
/* Whether a failed db call (rc) broke the unique index on a client's
 * references (index: its name). */
bool intake_is_duplicate_reference(db_t *db, int rc, const char *index);
/* Answers 409 duplicate_reference naming the caller's existing object
 * (what: "family", "case") found by stmt ($1 the reference). -1. */
int intake_duplicate_reference(db_t *db, const bus_request_t *req, bus_response_t *res, const char *stmt,
                               const char *reference, const char *what);
/* The client a partner agency's key is, when it has no staff role: it acts
 * only on families and cases of its own. NULL for staff. A partner key
 * without a usable client id gets the nil UUID, which registered nothing. */
const char *intake_partner_client(const bus_request_t *req);
/* A Timestamp as a statement's microseconds parameter (NULL for NULL). */
const char *intake_micros(arena_t *a, const Google__Protobuf__Timestamp *t);

/* needs.c: one vocabulary of needs (parley.common.v1.Need), as children and
 * agencies hold them, and a parent's language when it is not known. */
struct Parley__Common__V1__Need;
/* Violations on field ("children[0].needs"): more than max needs, or a need
 * with neither a type nor words. A need without a type is one sent as a
 * plain string; it is coded from its detail when written. */
void intake_check_needs(bus_response_t *res, const char *field, struct Parley__Common__V1__Need *const *needs,
                        size_t n, size_t max);
/* The type a need is stored with: its own, else the one its words name
 * (svc/sen_type.h). */
int intake_need_type(const struct Parley__Common__V1__Need *need);
/* The needs as two text[] literals of the same length, in a: the types'
 * proto names ("SEN_TYPE_ASD") and the details ("" for none). 0 or -1. */
int intake_needs_literals(arena_t *a, struct Parley__Common__V1__Need *const *needs, size_t n, const char **types,
                          const char **details);
/* The needs of row i from its types' and details' columns, in a (*n set). */
struct Parley__Common__V1__Need **intake_needs_from_row(arena_t *a, const db_result_t *r, int i, int types_col,
                                                        int details_col, size_t *n);
/* What a parent's language reads back as when none was recorded. */
#define INTAKE_LANGUAGE_UNKNOWN "unknown"
/* A parent's language as stored: NULL when not given or "unknown". */
const char *intake_language_or_null(const char *tag);

#endif
