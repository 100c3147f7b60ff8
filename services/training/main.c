/* parley-training — the training service's worker. It answers the built-in Ping for
 * now; its methods join the table passed to bus_worker_new as they are built. */
#include <signal.h>

#include "bus/auth.h"
#include "bus/bus.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"

static volatile sig_atomic_t stop;

int main(void) {
    log_init("training");
    if (bus_auth_init("training") != 0) return 1;
    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    bus_worker_t *worker = bus_worker_new(endpoint, "training", NULL, 0, NULL);
    if (worker == NULL) return 1;
    int rc = bus_worker_run(worker, &stop);
    bus_worker_destroy(&worker);
    return rc == 0 ? 0 : 1;
}
