/* parley-intake: the intake service's process: PARLEY_WORKER_THREADS
 * handler threads (lib/svc/runtime.h), each with its own database
 * connection, and its outbox relay thread (which also runs the deadline
 * sweep). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus/auth.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "services/intake/sweep.h"
#include "svc/relay.h"
#include "svc/runtime.h"

#define IN(x) &parley__intake__v1__##x##__descriptor

static volatile sig_atomic_t stop;

static const bus_method_t methods[] = {
    {"CreateFamily", IN(create_family_request), families_create},
    {"GetFamily", IN(get_family_request), families_get},
    {"UpdateFamily", IN(update_family_request), families_update},
    {"CreateChildView", IN(create_child_view_request), views_create},
    {"ListChildViews", IN(list_child_views_request), views_list},
    {"CreateCase", IN(create_case_request), cases_create},
    {"GetCase", IN(get_case_request), cases_get},
    {"ListCases", IN(list_cases_request), cases_list},
    {"WithdrawConsent", IN(withdraw_consent_request), cases_withdraw_consent},
    {"CloseCase", IN(close_case_request), cases_close},
    {"RecordStage", IN(record_stage_request), stages_record},
    {"MoveStage", IN(move_stage_request), stages_move},
    {"GetTimeline", IN(get_timeline_request), timeline_get},
    {"CreateAgency", IN(create_agency_request), agencies_create},
    {"GetAgency", IN(get_agency_request), agencies_get},
    {"ListAgencies", IN(list_agencies_request), agencies_list},
    {"CreateSignpost", IN(create_signpost_request), signposts_create},
    {"ListSignposts", IN(list_signposts_request), signposts_list},
    {"CreateResource", IN(create_resource_request), resources_create},
    {"GetResource", IN(get_resource_request), resources_get},
    {"ListResources", IN(list_resources_request), resources_list},
    {"ListResourcesDue", IN(list_resources_due_request), resources_list_due},
    {"GetReferral", IN(get_referral_request), referrals_get},
    {"ListReferrals", IN(list_referrals_request), referrals_list},
};

static const db_stmt_t *(*const statement_sets[])(size_t *) = {
    families_statements,  family_update_statements, cases_statements,    case_actions_statements,
    views_statements,     stages_statements,        timeline_statements, agencies_statements,
    signposts_statements, resources_statements,     events_statements,   referrals_statements,
};

/* One handler thread's context: a connection with every statement on it. */
static void *intake_ctx_new(void *arg) {
    intake_t *t = calloc(1, sizeof *t);
    if (t == NULL || (t->db = db_new(arg)) == NULL) {
        log_error(NULL, "intake: cannot set up a handler thread");
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < sizeof statement_sets / sizeof statement_sets[0]; i++) {
        size_t n;
        const db_stmt_t *s = statement_sets[i](&n);
        db_register(t->db, s, n);
    }
    return t;
}

static void intake_ctx_destroy(void *ctx) {
    intake_t *t = ctx;
    db_destroy(&t->db);
    free(t);
}

int main(void) {
    log_init("intake");
    if (bus_auth_init("intake") != 0) return 1;
    if (bus_signals_stop_on_term(&stop) != 0) return 1;

    const char *dsn = config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_intake");
    /* Migrate before serving: every instance tries, the advisory lock serialises. */
    db_t *db = db_new(dsn);
    if (db == NULL) return 1;
    const char *dir = config_str("PARLEY_MIGRATIONS_DIR", "services/intake/migrations");
    for (int tries = 0; db_migrate(db, dir, "intake") != 0; tries++) {
        if (tries == 30 || stop) {
            log_error(NULL, "cannot apply the intake migrations; giving up");
            db_destroy(&db);
            return 1;
        }
        sleep(1);
    }
    db_destroy(&db);

    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    sweep_config_t sweep = {.notice_days = (int)config_long("PARLEY_DEADLINE_NOTICE_DAYS", 7, 0, 366)};
    relay_config_t rc = {
        .conninfo = dsn,
        .endpoint = endpoint,
        .source = "intake",
        .interval_ms = (int)config_long("PARLEY_RELAY_INTERVAL_MS", 250, 10, 60000),
        .task_init = sweep_init,
        .task = sweep_run,
        .task_ctx = &sweep,
        .task_every_ms = config_long("PARLEY_DEADLINE_SWEEP_MS", 3600000, 100, 86400000),
    };
    relay_t *relay = relay_start(&rc);
    if (relay == NULL) return 1;
    svc_runtime_t rt = {.service = "intake",
                        .endpoint = endpoint,
                        .methods = methods,
                        .n_methods = sizeof methods / sizeof methods[0],
                        .ctx_new = intake_ctx_new,
                        .ctx_destroy = intake_ctx_destroy,
                        .arg = (void *)dsn,
                        .threads = svc_runtime_threads()};
    int status = svc_runtime_run(&rt, &stop);
    relay_stop(&relay);
    log_info(NULL, "stopped");
    return status == 0 ? 0 : 1;
}
