/* parley-matching: the matching service's worker, its sweeper thread
 * (offer expiry, matching waiting families again) and its outbox relay
 * thread. Each thread has its own database connection and bus socket. */
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include "bus/auth.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/events/v1/events.pb-c.h"
#include "services/matching/matching.h"
#include "svc/relay.h"

#define IN(x) &parley__matching__v1__##x##__descriptor

static volatile sig_atomic_t stop;

static const bus_method_t methods[] = {
    {"CreateSupporter", IN(create_supporter_request), supporters_create},
    {"GetSupporter", IN(get_supporter_request), supporters_get},
    {"ListSupporters", IN(list_supporters_request), supporters_list},
    {"UpdateSupporter", IN(update_supporter_request), supporters_update},
    {"ListCandidates", IN(list_candidates_request), candidates_list},
    {"CreateMatchRequest", IN(create_match_request_request), requests_create},
    {"GetMatchRequest", IN(get_match_request_request), requests_get},
    {"AcceptOffer", IN(accept_offer_request), offers_accept},
    {"DeclineOffer", IN(decline_offer_request), offers_decline},
    {"ListAssignments", IN(list_assignments_request), assignments_list},
    {"EndAssignment", IN(end_assignment_request), assignments_end},
    {"GetWeights", IN(get_weights_request), weights_get},
    {"PutWeights", IN(put_weights_request), weights_put},
    {"GetUnmetDemand", IN(unmet_demand_request), demand_get},
    {"Deliver", &parley__events__v1__event__descriptor, events_deliver},
};

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

    const char *dsn = config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_matching");
    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    matching_t m = {.db = db_new(dsn), .bus = bus_client_new(endpoint), .cache = pool_cache_new(64)};
    if (m.db == NULL || m.bus == NULL || m.cache == NULL) {
        db_destroy(&m.db);
        bus_client_destroy(&m.bus);
        pool_cache_destroy(&m.cache);
        return 1;
    }
    /* Migrate before serving: every instance tries, the advisory lock serialises. */
    const char *dir = config_str("PARLEY_MIGRATIONS_DIR", "services/matching/migrations");
    for (int tries = 0; db_migrate(m.db, dir, "matching") != 0; tries++) {
        if (tries == 30 || stop) {
            log_error(NULL, "cannot apply the matching migrations; giving up");
            db_destroy(&m.db);
            bus_client_destroy(&m.bus);
            pool_cache_destroy(&m.cache);
            return 1;
        }
        sleep(1);
    }
    matching_register_statements(m.db);

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
        bus_worker_t *w = bus_worker_new(endpoint, "matching", methods, sizeof methods / sizeof methods[0], &m);
        status = w ? bus_worker_run(w, &stop) : -1;
        bus_worker_destroy(&w);
    }
    sweeper_stop(&sweeper);
    relay_stop(&relay);
    bus_client_destroy(&m.bus);
    pool_cache_destroy(&m.cache);
    db_destroy(&m.db);
    log_info(NULL, "stopped");
    return status == 0 ? 0 : 1;
}
