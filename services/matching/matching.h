/* matching — Independent Parental Supporters, ranked explainable
 * candidates, match requests and offers, assignments, the waiting list and
 * unmet demand. One process serves every handler on its main thread (with
 * its own database connection and bus client), a sweeper thread expires
 * offers and matches waiting families again, and the outbox relay thread
 * delivers events; run as many processes as load needs (nothing here is
 * process-local truth). Each resource file prepares its statements
 * (<file>_statements) and exports its handlers.
 *
 * Shared helpers are declared here by the file that owns them; every
 * function that takes a db_t runs inside a transaction the caller opened,
 * unless it says otherwise, and allocates only from the arena it is given.
 */
#ifndef PARLEY_MATCHING_H
#define PARLEY_MATCHING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "db/db.h"
#include "parley/matching/v1/matching.pb-c.h"
#include "services/matching/eligibility.h"
#include "services/matching/scoring.h"

/* Settings read once at start (main.c), read-only afterwards. */
typedef struct {
    int64_t offer_ttl_s;      /* PARLEY_OFFER_TTL_SECONDS, default 72 h */
    int64_t sweep_ms;         /* PARLEY_MATCHING_SWEEP_MS, default 2000 */
    int batch;                /* PARLEY_MATCHING_BATCH: waiting requests matched together, default 100 */
    int intake_timeout_ms;    /* PARLEY_MATCHING_INTAKE_TIMEOUT_MS, default 1500 */
    int64_t offer_cooloff_s;  /* PARLEY_MATCHING_OFFER_COOLOFF_SECONDS: a lapsed offer's supporter is kept out of the request this long, default 2 days */
} matching_config_t;
extern matching_config_t matching_config;

/* What a handler works with: this thread's connection and bus client. */
typedef struct pool_cache pool_cache_t;
typedef struct {
    db_t *db;
    bus_client_t *bus;    /* calls to intake, with the caller's principal */
    pool_cache_t *cache;  /* the candidates route's supporter pools (pool_cache.c) */
} matching_t;

typedef Parley__Matching__V1__Supporter supporter_t;
typedef Parley__Matching__V1__Offer offer_t;
typedef Parley__Matching__V1__MatchRequest match_request_t;
typedef Parley__Matching__V1__Assignment assignment_t;
typedef Parley__Matching__V1__Reason pb_reason_t;

#define CODE(x) PARLEY__COMMON__V1__CODE__CODE_##x

const db_stmt_t *supporters_statements(size_t *n);
const db_stmt_t *supporter_update_statements(size_t *n);
const db_stmt_t *profiles_statements(size_t *n);
const db_stmt_t *pool_statements(size_t *n);
const db_stmt_t *weights_statements(size_t *n);
const db_stmt_t *requests_statements(size_t *n);
const db_stmt_t *offering_statements(size_t *n);
const db_stmt_t *offers_statements(size_t *n);
const db_stmt_t *assignments_statements(size_t *n);
const db_stmt_t *demand_statements(size_t *n);
const db_stmt_t *events_statements(size_t *n);
const db_stmt_t *sweeper_statements(size_t *n);

/* ---- supporters.c, supporter_update.c ---------------------------------------- */
int supporters_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int supporters_get(void *ctx, const bus_request_t *req, bus_response_t *res);
/* contacts.c: ResolveContact, a supporter's contact for notify when it sends (contacts). */
const db_stmt_t *contacts_statements(size_t *n);
int contacts_resolve(void *ctx, const bus_request_t *req, bus_response_t *res);
int supporters_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int supporters_update(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Loads supporter id (visible to the transaction) into *out: 1, 0 or a DB_ERR_*. */
int supporters_load(db_t *db, arena_t *a, const char *id, supporter_t **out);
/* Checks the fields a create or update sets; violations on res. */
void supporters_check_lists(const bus_request_t *req, bus_response_t *res, char *const *authorities, size_t n_auth,
                            char *const *areas, size_t n_areas, char *const *languages, size_t n_lang);
/* Upper-cases and trims postcode districts in place. */
void supporters_normalise_areas(char **areas, size_t n);

/* ---- profiles.c: what matching knows of a case ---------------------------- */
typedef struct {
    char *case_id, *authority_id, *family_id, *child_id, *postcode;
    char **languages, **communication_needs, **child_needs, **case_needs;
    size_t n_languages, n_communication_needs, n_child_needs, n_case_needs;
    bool has_birth_date;
    int64_t child_born; /* days since 1970-01-01 */
    bool closed;        /* intake says the case is closed (fetched, or told by case.closed) */
    int family_version; /* the intake family version the facts are from; 0 unknown */
    /* A young person aged 16-25 is the client: family_id holds their id
     * (the client, for continuity), and the case wants post-16 experience. */
    bool young_person;
} profile_t;

/* Loads the stored profile of case_id: 1, 0 or a DB_ERR_*. */
int profiles_load(db_t *db, arena_t *a, const char *case_id, profile_t **out);
/* Stores (or replaces) p, recording where it came from ("event", "intake"),
 * unless the stored facts are from a newer family version; then applies a
 * newer family.updated kept for its family. 0 or a DB_ERR_*. */
int profiles_save(db_t *db, arena_t *a, const profile_t *p, const char *source);
/* Applies the family.updated data kept for family_id (family_facts) to each
 * of its cases' profiles whose facts are from an older family version (or
 * an unknown one). 0 or a DB_ERR_*. */
int profiles_apply_family(db_t *db, const char *family_id);
/* The profile a case.supporter_requested event's data carries, or NULL
 * (with *why) when it lacks what matching needs. */
profile_t *profiles_from_event(arena_t *a, const char *data_json, const char **why);
/* The stored profile of case_id, else the case and family fetched from
 * intake with the caller's principal (so intake's tenancy applies) and
 * stored. Opens and ends its own transactions. Returns 1 with *out, or -1
 * with res set (NOT_FOUND when intake has no such case for the caller). */
int profiles_ensure(matching_t *m, const bus_request_t *req, bus_response_t *res, const char *case_id,
                    profile_t **out);

/* ---- pool.c: the supporters a case may be offered, ranked ------------------- */
typedef struct {
    supporter_facts_t *facts;
    eligibility_input_t *elig;
    char **given_names, **family_names;
    size_t n;
} pool_t;

/* The request's side of ranking (NULL for the candidates route). */
typedef struct {
    const char *id; /* exclusions: supporters who declined, or let an offer lapse within the cool-off */
    char **pref_languages;
    size_t n_pref_languages;
    bool require_language;
    unsigned pref_specialisms;
    char **exclude;
    size_t n_exclude;
} request_prefs_t;

typedef struct {
    case_facts_t facts;
    pool_t pool;
    size_t n;     /* ranked candidates */
    size_t *idx;  /* into pool, best first */
    int *scores;
} ranking_t;

/* The supporters serving authority_id visible to the transaction: only
 * those that might pass the hard rules, unless all. 0 or a DB_ERR_*. */
int pool_load(db_t *db, arena_t *a, const char *authority_id, bool all, pool_t *out);
/* Fills the names of the supporters at pool indexes idx (pool_load leaves
 * them empty: only those shown need them). 0 or a DB_ERR_*. */
int pool_names(db_t *db, arena_t *a, pool_t *pool, const size_t *idx, size_t n);
/* The facts of p's case with prefs (may be NULL): what scoring derives, the
 * family's earlier supporters, and the supporters excluded for the request. */
int pool_facts(db_t *db, arena_t *a, const profile_t *p, const request_prefs_t *prefs, case_facts_t *out);
/* Ranks up to k candidates of pool for facts (pure; borrows both). */
void pool_rank_loaded(arena_t *a, const case_facts_t *facts, const pool_t *pool, const weights_t *w, size_t k,
                      ranking_t *out);
/* pool_facts, pool_load (or pool_cache_load when cache is not NULL) for
 * p's authority, and pool_rank_loaded. */
int pool_rank(db_t *db, arena_t *a, pool_cache_t *cache, const profile_t *p, const request_prefs_t *prefs,
              const weights_t *w, size_t k, bool all, ranking_t *out);
/* One row of a pool query: columns id, languages, specialisms, areas,
 * home_postcode, status, vetting day, training reason (strings copied into a; the facts
 * serve authority only). */
void pool_parse_static(arena_t *a, const db_result_t *r, int row, const char *authority, supporter_facts_t *f,
                       eligibility_input_t *e);
/* The supporter at pool_index of r as a candidate: its score and reasons,
 * or, when a hard rule rules it out, eligible false and ruledOut (in a). */
Parley__Matching__V1__Candidate *pool_candidate(arena_t *a, const ranking_t *r, size_t pool_index, const weights_t *w);
/* What is stored as text[] of proto names (specialisms "SPECIALISM_TRIBUNAL"
 * and types of need "SEN_TYPE_ASD", in one column), as SPEC_BIT()s and
 * SEN_BIT()s; a deprecated specialism as the types it stands for. */
unsigned pool_specialism_bits(char *const *names, size_t n);
/* The same bits as a text[] literal of proto names, in a. */
char *pool_bits_literal(arena_t *a, unsigned bits);
/* The bits an API list of specialisms and of types of need stand for. */
unsigned pool_bits_of_input(const int *specialisms, size_t n_specialisms, const int *needs, size_t n_needs);
/* The bits as the API's two lists, in a: the specialisms (SPEC_BIT()s) and
 * the types of need (SEN_BIT()s). */
void pool_bits_split(arena_t *a, unsigned bits, int **specialisms, size_t *n_specialisms, int **needs,
                     size_t *n_needs);
/* The supporters an earlier offer of request_id keeps out of it now (a
 * decline for good, a lapse during its cool-off: scoring_offer_excludes),
 * strings in a. 0 or a DB_ERR_*. */
int pool_excluded(db_t *db, arena_t *a, const char *request_id, char ***out, size_t *n);
/* Reasons as the JSON stored with an offer. */
json_t *pool_reasons_json(const Parley__Matching__V1__Candidate *c);

/* ---- pool_cache.c: each process's copy of the supporters' static facts -------------- */
/* A cache of at most max authorities' pools. NULL when out of memory. */
pool_cache_t *pool_cache_new(size_t max);
void pool_cache_destroy(pool_cache_t **self);
/* As pool_load, with the supporters' static facts (languages, specialisms,
 * areas, status, vetting) from the cache while the authority's generation
 * in PostgreSQL (bumped by any change to a supporter serving it) has not
 * moved, and their places (capacity, active, pending) read fresh. The
 * facts' strings are the cache's: valid until the next call on self. */
int pool_cache_load(pool_cache_t *self, db_t *db, arena_t *a, const char *authority_id, bool all, pool_t *out);
const db_stmt_t *pool_cache_statements(size_t *n);

/* ---- candidates.c ---------------------------------------------------------------- */
int candidates_list(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Checks a request's preferences (violations under "preferences."). */
void candidates_check_prefs(bus_response_t *res, const Parley__Matching__V1__Preferences *p);
/* The preferences as ranking takes them (borrowing p's strings; id unset). */
void candidates_prefs(const Parley__Matching__V1__Preferences *p, request_prefs_t *out);

/* ---- weights.c --------------------------------------------------------------------- */
int weights_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int weights_put(void *ctx, const bus_request_t *req, bus_response_t *res);
/* The consortium's weights, or the defaults (consortium_id may be NULL). */
int weights_load(db_t *db, const char *consortium_id, weights_t *out);

/* ---- requests.c, offering.c -------------------------------------------------------- */
int requests_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int requests_get(void *ctx, const bus_request_t *req, bus_response_t *res);
/* GET /v1/match-requests, POST /v1/match-requests/{id}/cancel and .../retry. */
int requests_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int requests_cancel(void *ctx, const bus_request_t *req, bus_response_t *res);
int requests_retry(void *ctx, const bus_request_t *req, bus_response_t *res);

typedef struct {
    char *id, *consortium_id, *authority_id, *case_id, *family_id, *status;
    request_prefs_t prefs;
    int64_t waiting_since_us;
    bool attempted; /* matched at least once (a new request has not been) */
    int version;
    char *cancelled_by; /* "api", "case_closed" or NULL */
} request_row_t;

/* Locks match request id (FOR UPDATE): 1 with *out, 0 or a DB_ERR_*. */
int requests_lock(db_t *db, arena_t *a, const char *id, request_row_t **out);
/* Offers r to its best candidate now, or puts it on the waiting list
 * (emitting match.waiting when it was not waiting already). Returns 1 with
 * *offer_id (may be NULL) when offered, 0 when waiting, or a DB_ERR_*. */
int offering_next(db_t *db, arena_t *a, const request_row_t *r, char **offer_id);
/* Makes the offer of candidate c (its score and reasons) to r, pending
 * until the offer TTL. *offer_id gets its id. 0 or a DB_ERR_*. */
int offering_make(db_t *db, arena_t *a, const request_row_t *r, const Parley__Matching__V1__Candidate *c,
                  char **offer_id);
/* Marks r as waiting (match.waiting when it was not), last attempt now. */
int offering_wait(db_t *db, arena_t *a, const request_row_t *r);

/* ---- offers.c ----------------------------------------------------------------------- */
int offers_accept(void *ctx, const bus_request_t *req, bus_response_t *res);
int offers_decline(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Loads offer id: 1, 0 or a DB_ERR_*. */
int offers_load(db_t *db, arena_t *a, const char *id, offer_t **out);
/* Lets offer id lapse if it is still pending (the sweeper calls this with
 * the offer locked) and offers the family to the next candidate. */
int offers_expire(db_t *db, arena_t *a, const char *id);
/* Withdraws offer id if it is still pending (its supporter may no longer
 * be offered families: training lapsed), with reason, emitting
 * match.declined (withdrawn), and offers the family to the next candidate.
 * 0 or a DB_ERR_*. */
int offers_withdraw(db_t *db, arena_t *a, const char *id, const char *reason);
/* The offers of match request id, oldest first: count or a DB_ERR_*. */
int offers_of_request(db_t *db, arena_t *a, const char *request_id, offer_t ***out);

/* ---- assignments.c ----------------------------------------------------------------- */
int assignments_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int assignments_end(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Ends assignment id (locked FOR UPDATE) with reason (may be NULL) in the
 * current transaction, emitting assignment.ended if it was active: 1 with
 * *out (may be NULL) as it now is, 0 when there is no such assignment, or a
 * DB_ERR_*. What POST /v1/assignments/{id}/end does. */
int assignments_finish(db_t *db, arena_t *a, const char *id, const char *reason, assignment_t **out);
/* Ends the case's active assignment, if any, as assignments_finish does:
 * 0 or a DB_ERR_*. */
int assignments_end_for_case(db_t *db, arena_t *a, const char *case_id, const char *reason);

/* ---- demand.c ------------------------------------------------------------------------ */
int demand_get(void *ctx, const bus_request_t *req, bus_response_t *res);

/* ---- events.c ------------------------------------------------------------------------ */
int events_deliver(void *ctx, const bus_request_t *req, bus_response_t *res);
/* Adds event type about subject (a case id) to the outbox, in the open
 * transaction, for its subscribers (notify's, today: parley_shared.subscriptions).
 * Takes data's reference. 0 or a DB_ERR_*. */
int events_emit(db_t *db, const char *type, const char *authority_id, const char *subject_id, json_t *data);

/* ---- sweeper.c ------------------------------------------------------------------------- */
typedef struct sweeper sweeper_t;
/* Starts the sweeper thread (its own connection). NULL when it cannot. */
sweeper_t *sweeper_start(const char *conninfo);
void sweeper_stop(sweeper_t **self);
/* One pass: expires due offers and matches waiting requests again when
 * capacity appeared, by batch assignment. Exposed for the thread. */
void sweeper_pass(db_t *db, arena_t *a);

/* ---- common.c ---------------------------------------------------------------------------- */
/* Registers every statement matching uses on db (each thread's own). */
void matching_register_statements(db_t *db);
/* As svc_db_fail, and a deadlock or lock timeout is ABORTED (retry) too. */
int matching_db_fail(bus_response_t *res, const bus_request_t *req, db_t *db, int rc);
/* A uuid from the principal, or NULL. */
const char *matching_client_id(const bus_request_t *req);
const char *matching_consortium_id(const bus_request_t *req);
/* Whether the principal holds role ("caseworker"). */
bool matching_has_role(const bus_request_t *req, const char *role);
/* Whom the principal may act for among supporters. Staff (consortium_admin,
 * caseworker) act for any supporter of their authorities: *supporter is
 * NULL. Anyone else acts only as the supporter its key is bound to
 * (Principal.supporter_id): *supporter is that id. Returns false, with
 * *supporter NULL, when the principal is bound to no usable supporter: it
 * may then act on no supporter's offers or assignments at all. */
bool matching_acts_for(const bus_request_t *req, const char **supporter);
/* Whether the request's If-Match (if any) names version. */
bool matching_if_match(arena_t *a, const bus_request_t *req, int version);
/* Microseconds since the epoch from a Timestamp. */
int64_t matching_micros(const Google__Protobuf__Timestamp *t);

#endif
