/* parley-intake: the intake service's worker process. */
#include <signal.h>
#include <unistd.h>

#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"

static volatile sig_atomic_t stop;

static const bus_method_t methods[] = {
    {"CreateFamily", &parley__intake__v1__create_family_request__descriptor, families_create},
    {"GetFamily", &parley__intake__v1__get_family_request__descriptor, families_get},
    {"CreateCase", &parley__intake__v1__create_case_request__descriptor, cases_create},
    {"GetCase", &parley__intake__v1__get_case_request__descriptor, cases_get},
    {"ListCases", &parley__intake__v1__list_cases_request__descriptor, cases_list},
};

int main(void) {
    log_init("intake");
    if (bus_signals_stop_on_term(&stop) != 0) return 1;

    intake_t intake = {0};
    intake.db = db_new(config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_intake"));
    if (intake.db == NULL) return 1;
    /* Migrate before serving: every instance tries, the advisory lock serialises. */
    const char *dir = config_str("PARLEY_MIGRATIONS_DIR", "services/intake/migrations");
    for (int tries = 0; db_migrate(intake.db, dir, "intake") != 0; tries++) {
        if (tries == 30 || stop) {
            log_error(NULL, "cannot apply the intake migrations; giving up");
            db_destroy(&intake.db);
            return 1;
        }
        sleep(1);
    }
    size_t n;
    const db_stmt_t *s = families_statements(&n);
    db_register(intake.db, s, n);
    s = cases_statements(&n);
    db_register(intake.db, s, n);

    char endpoint[256];
    bus_worker_t *w = bus_worker_new(config_broker_endpoint(endpoint, sizeof endpoint), "intake", methods,
                                     sizeof methods / sizeof methods[0], &intake);
    int rc = w ? bus_worker_run(w, &stop) : -1;
    bus_worker_destroy(&w);
    db_destroy(&intake.db);
    log_info(NULL, "stopped");
    return rc == 0 ? 0 : 1;
}
