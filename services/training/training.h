/* training — courses, sessions and attendance, completions with their
 * evidence, each role's requirements, each person's standing course by
 * course, compliance and delivery reports, and the events that tell
 * matching when a supporter's training lapses or is renewed. One process
 * serves every handler with PARLEY_WORKER_THREADS handler threads
 * (lib/svc/runtime.h); its relay thread delivers the outbox and runs the
 * expiry sweep (sweep.c). Run as many processes as load needs: nothing here
 * is process-local truth. Each resource file prepares its statements
 * (<file>_statements) and exports its handlers; every function taking a
 * db_t runs in a transaction the caller opened unless it says otherwise,
 * and allocates only from the arena it is given. */
#ifndef PARLEY_TRAINING_H
#define PARLEY_TRAINING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "db/db.h"
#include "parley/training/v1/training.pb-c.h"
#include "services/training/expiry.h"

/* Settings read once at start (main.c), read-only afterwards. */
typedef struct {
    int expiry_window_days;  /* PARLEY_TRAINING_EXPIRY_WINDOW_DAYS, default 60 */
    int64_t sweep_ms;        /* PARLEY_TRAINING_SWEEP_MS, default a day */
    int matching_timeout_ms; /* PARLEY_TRAINING_MATCHING_TIMEOUT_MS, default 1500 */
} training_config_t;
extern training_config_t training_config;

/* One handler thread's context: its own connection and bus client. */
typedef struct {
    db_t *db;
    bus_client_t *bus;
} training_t;

#define TR(x) Parley__Training__V1__##x
#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x

void training_register_statements(db_t *db);
const db_stmt_t *courses_statements(size_t *n);
const db_stmt_t *sessions_statements(size_t *n);
const db_stmt_t *completions_statements(size_t *n);
const db_stmt_t *people_statements(size_t *n);
const db_stmt_t *standing_statements(size_t *n);
const db_stmt_t *requirements_statements(size_t *n);
const db_stmt_t *reports_statements(size_t *n);


/* courses.c */
int courses_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int courses_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int courses_list(void *ctx, const bus_request_t *req, bus_response_t *res);
/* The caller's authority for a body that may leave authorityId out: the
 * one named (checked), else the caller's only one. NULL with a violation on
 * field when it cannot be told. */
const char *training_authority(const bus_request_t *req, bus_response_t *res, const char *field, const char *named);
/* Today in London, as a day number. */
int64_t training_today(void);

/* sessions.c */
int sessions_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int sessions_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int sessions_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int sessions_attendance(void *ctx, const bus_request_t *req, bus_response_t *res);

/* completions.c */
int completions_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int completions_get(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Records one completion of course_id (valid_months its validity, 0 none)
 * by person_id on day completed (YYYY-MM-DD), in the open transaction, and
 * returns it as GET answers it (in a). NULL with *rc set (a DB_ERR_*, or 1
 * when the person attended the session already). */
TR(Completion) *completions_insert(db_t *db, arena_t *a, const bus_request_t *req, const char *authority,
                                   const char *person_id, const char *course_id, int valid_months,
                                   const char *completed, const char *session_id, const TR(Evidence) *ev, int *rc);
TR(Completion) *completions_from_row(arena_t *a, const db_result_t *r, int i);
/* The course's authority and validity (months, 0 none), read in a
 * transaction then rolled back: 1 found, 0 not, or a DB_ERR_*. */
int training_course_facts(db_t *db, arena_t *a, const bus_request_t *req, const char *course_id, char **authority,
                          int *valid_months);

/* people.c */
/* Resolves an attendee to a person of authority, locked for the rest of
 * the transaction (FOR UPDATE), making one when it is new: *person_id its
 * id. A supporter is checked with matching first (who serves the
 * authority), so call it before the transaction opens: phase 1 (db NULL)
 * checks the attendee's fields and asks matching; phase 2, in the
 * transaction, writes. Returns 0; 1 with a violation on field; or a DB_ERR_*. */
int people_check(training_t *t, const bus_request_t *req, bus_response_t *res, const char *field,
                 const char *authority, const TR(Attendee) *at);
int people_resolve(db_t *db, arena_t *a, bus_response_t *res, const char *field, const char *authority,
                   const TR(Attendee) *at, char **person_id);
int people_training(void *ctx, const bus_request_t *req, bus_response_t *res);
/* The role words of the API and back (0 unknown). */
const char *training_role_word(arena_t *a, int audience);
int training_role_of_word(const char *word);

/* standing.c */
/* A person's standing as computed now: their required courses and the
 * worst of them. */
typedef struct {
    char *person_id, *supporter_id, *authority_id, *name, *urn, *org_authority, *role;
    expiry_state_t overall;
    expiry_state_t stored; /* people.standing before this computation */
    int version;
    size_t n;
    TR(CourseStanding) **courses;
} standing_t;
/* Computes the standings of people in authority (all of them, or of role
 * when not NULL, or the one person_id when not NULL), in a; *out and *n.
 * 0 or a DB_ERR_*. */
int standing_compute(db_t *db, arena_t *a, const char *authority, const char *role, const char *person_id,
                     int64_t today, standing_t **out, size_t *n);
/* Recomputes as standing_compute and, for each person whose standing
 * changed, stores it (bumping its version) and emits
 * training.status_changed; with expiring, also training.expiring once per
 * course expiry entering the window. The people must be locked by the
 * caller. *changed (may be NULL) counts the changes. 0 or a DB_ERR_*. */
int standing_refresh(db_t *db, arena_t *a, const char *authority, const char *role, const char *person_id,
                     bool expiring, int *changed);
TR(PersonTraining) *standing_message(arena_t *a, const standing_t *s, int64_t today);
Parley__Training__V1__Standing standing_proto(expiry_state_t s);

/* requirements.c */
int requirements_put(void *ctx, const bus_request_t *req, bus_response_t *res);
int requirements_get(void *ctx, const bus_request_t *req, bus_response_t *res);

/* reports.c */
int reports_compliance(void *ctx, const bus_request_t *req, bus_response_t *res);
int reports_delivered(void *ctx, const bus_request_t *req, bus_response_t *res);

/* events.c */
/* Adds event type about subject to the outbox for its subscribers (the
 * services that declared the type in parley_shared.subscriptions), in the
 * open transaction. Takes data's reference. 0 or a DB_ERR_*. */
int events_emit(db_t *db, const char *type, const char *authority_id, const char *subject_id, json_t *data);

/* sweep.c: the relay thread's task (lib/svc/relay.h). */
void sweep_init(void *ctx, db_t *db);
void sweep_run(void *ctx, db_t *db);

#endif
