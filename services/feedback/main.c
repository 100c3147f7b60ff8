/* parley-feedback — the feedback service's worker. It answers the built-in Ping for
 * now; its methods join the table passed to bus_worker_new as they are built. At
 * start it applies its migrations (services/feedback/migrations), which declare
 * the events it takes (parley_shared.subscriptions, docs/events.md). */
#include <signal.h>

#include "bus/auth.h"
#include "bus/bus.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "svc/runtime.h"

static volatile sig_atomic_t stop;

int main(void) {
    log_init("feedback");
    if (bus_auth_init("feedback") != 0) return 1;
    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    const char *dsn = config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_feedback");
    if (svc_runtime_migrate(dsn, "feedback", &stop) != 0) return 1;
    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    bus_worker_t *worker = bus_worker_new(endpoint, "feedback", NULL, 0, NULL);
    if (worker == NULL) return 1;
    int rc = bus_worker_run(worker, &stop);
    bus_worker_destroy(&worker);
    return rc == 0 ? 0 : 1;
}
