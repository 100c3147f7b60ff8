/* parley-matching: the matching service's process: PARLEY_WORKER_THREADS
 * handler threads (lib/svc/runtime.h), its sweeper thread (offer expiry,
 * matching waiting families again) and its outbox relay thread. Each thread
 * has its own database connection and bus socket; each handler thread its
 * own pool cache. */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus/auth.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/events/v1/events.pb-c.h"
#include "services/matching/matching.h"
#include "svc/relay.h"
#include "svc/runtime.h"
#include "svc/svc.h"

#define IN(x) &parley__matching__v1__##x##__descriptor

static volatile sig_atomic_t stop;

/* Every method runs inside svc_serve: a client's request is audited in the
 * transaction that serves it (lib/svc/svc.h, SVC_AUDITED); an event
 * delivery carries no audit and just runs. */
SVC_AUDITED(matching_t, supporters_create)
SVC_AUDITED(matching_t, supporters_get)
SVC_AUDITED(matching_t, supporters_list)
SVC_AUDITED(matching_t, supporters_update)
SVC_AUDITED(matching_t, candidates_list)
SVC_AUDITED(matching_t, requests_create)
SVC_AUDITED(matching_t, requests_get)
SVC_AUDITED(matching_t, offers_accept)
SVC_AUDITED(matching_t, offers_decline)
SVC_AUDITED(matching_t, assignments_list)
SVC_AUDITED(matching_t, assignments_end)
SVC_AUDITED(matching_t, weights_get)
SVC_AUDITED(matching_t, weights_put)
SVC_AUDITED(matching_t, demand_get)
SVC_AUDITED(matching_t, events_deliver)
SVC_AUDITED(matching_t, requests_list)
SVC_AUDITED(matching_t, requests_cancel)
SVC_AUDITED(matching_t, requests_retry)
SVC_AUDITED(matching_t, contacts_resolve)

static const bus_method_t methods[] = {
    {"CreateSupporter", IN(create_supporter_request), supporters_create__audited},
    {"GetSupporter", IN(get_supporter_request), supporters_get__audited},
    {"ListSupporters", IN(list_supporters_request), supporters_list__audited},
    {"UpdateSupporter", IN(update_supporter_request), supporters_update__audited},
    {"ListCandidates", IN(list_candidates_request), candidates_list__audited},
    {"CreateMatchRequest", IN(create_match_request_request), requests_create__audited},
    {"GetMatchRequest", IN(get_match_request_request), requests_get__audited},
    {"AcceptOffer", IN(accept_offer_request), offers_accept__audited},
    {"DeclineOffer", IN(decline_offer_request), offers_decline__audited},
    {"ListAssignments", IN(list_assignments_request), assignments_list__audited},
    {"EndAssignment", IN(end_assignment_request), assignments_end__audited},
    {"GetWeights", IN(get_weights_request), weights_get__audited},
    {"PutWeights", IN(put_weights_request), weights_put__audited},
    {"GetUnmetDemand", IN(unmet_demand_request), demand_get__audited},
    {"Deliver", &parley__events__v1__event__descriptor, events_deliver__audited},
    {"ListMatchRequests", IN(list_match_requests_request), requests_list__audited},
    {"CancelMatchRequest", IN(cancel_match_request_request), requests_cancel__audited},
    {"RetryMatchRequest", IN(retry_match_request_request), requests_retry__audited},
    /* contacts: for notify, at send time */
    {"ResolveContact", IN(resolve_contact_request), contacts_resolve__audited},
};

typedef struct {
    const char *dsn, *endpoint;
} ctx_args_t;

static void matching_ctx_destroy(void *ctx) {
    matching_t *m = ctx;
    db_destroy(&m->db);
    bus_client_destroy(&m->bus);
    pool_cache_destroy(&m->cache);
    free(m);
}

/* One handler thread's context: a connection, a bus client for intake and
 * a pool cache, all its own. */
static void *matching_ctx_new(void *arg) {
    const ctx_args_t *a = arg;
    matching_t *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    m->db = db_new(a->dsn);
    m->bus = bus_client_new(a->endpoint);
    m->cache = pool_cache_new(64);
    if (m->db == NULL || m->bus == NULL || m->cache == NULL) {
        log_error(NULL, "matching: cannot set up a handler thread");
        matching_ctx_destroy(m);
        return NULL;
    }
    matching_register_statements(m->db);
    return m;
}

int main(void) {
    log_init("matching");
    if (bus_auth_init("matching") != 0) return 1;
    /* Ranking a large pool takes megabytes of a request's arena: keep what
     * a request frees in the heap for the next one, rather than handing it
     * back to the kernel and faulting it in again every request. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    matching_config.offer_ttl_s = config_long("PARLEY_OFFER_TTL_SECONDS", 72 * 3600, 1, 90L * 86400);
    matching_config.sweep_ms = config_long("PARLEY_MATCHING_SWEEP_MS", 2000, 100, 3600000);
    matching_config.batch = (int)config_long("PARLEY_MATCHING_BATCH", 100, 1, 500);
    matching_config.intake_timeout_ms = (int)config_long("PARLEY_MATCHING_INTAKE_TIMEOUT_MS", 1500, 100, 10000);
    matching_config.offer_cooloff_s =
        config_long("PARLEY_MATCHING_OFFER_COOLOFF_SECONDS", 2 * 86400, 0, 365L * 86400);

    const char *dsn = config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_matching");
    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    /* Migrate before serving (every instance tries; the advisory lock serialises). */
    if (svc_runtime_migrate(dsn, "matching", &stop) != 0) return 1;

    relay_config_t rc = {
        .conninfo = dsn,
        .endpoint = endpoint,
        .source = "matching",
        .interval_ms = (int)config_long("PARLEY_RELAY_INTERVAL_MS", 250, 10, 60000),
    };
    relay_t *relay = relay_start(&rc);
    sweeper_t *sweeper = relay ? sweeper_start(dsn) : NULL;
    int status = -1;
    if (sweeper != NULL) {
        ctx_args_t args = {dsn, endpoint};
        svc_runtime_t rt = {.service = "matching",
                            .endpoint = endpoint,
                            .methods = methods,
                            .n_methods = sizeof methods / sizeof methods[0],
                            .ctx_new = matching_ctx_new,
                            .ctx_destroy = matching_ctx_destroy,
                            .arg = &args,
                            .threads = svc_runtime_threads()};
        status = svc_runtime_run(&rt, &stop);
    }
    sweeper_stop(&sweeper);
    relay_stop(&relay);
    log_info(NULL, "stopped");
    return status == 0 ? 0 : 1;
}
