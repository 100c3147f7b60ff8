/* parley-training: the training service's process: PARLEY_WORKER_THREADS
 * handler threads (lib/svc/runtime.h), each with its own database
 * connection and bus client, and the relay thread, which delivers the
 * outbox and runs the expiry sweep (sweep.c). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus/auth.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "services/training/training.h"
#include "svc/relay.h"
#include "svc/runtime.h"
#include "svc/svc.h"

#define TD(x) &parley__training__v1__##x##__descriptor

training_config_t training_config;
static volatile sig_atomic_t stop;

/* Every method runs inside svc_serve: the request's audit row is written in
 * the transaction that serves it (lib/svc/svc.h, SVC_AUDITED). */
SVC_AUDITED(training_t, courses_create)
SVC_AUDITED(training_t, courses_get)
SVC_AUDITED(training_t, courses_list)
SVC_AUDITED(training_t, sessions_create)
SVC_AUDITED(training_t, sessions_get)
SVC_AUDITED(training_t, sessions_list)
SVC_AUDITED(training_t, sessions_attendance)
SVC_AUDITED(training_t, completions_create)
SVC_AUDITED(training_t, completions_get)
SVC_AUDITED(training_t, requirements_put)
SVC_AUDITED(training_t, requirements_get)
SVC_AUDITED(training_t, people_training)
SVC_AUDITED(training_t, reports_compliance)
SVC_AUDITED(training_t, reports_delivered)

static const bus_method_t methods[] = {
    {"CreateCourse", TD(create_course_request), courses_create__audited},
    {"GetCourse", TD(get_course_request), courses_get__audited},
    {"ListCourses", TD(list_courses_request), courses_list__audited},
    {"CreateTrainingSession", TD(create_session_request), sessions_create__audited},
    {"GetTrainingSession", TD(get_session_request), sessions_get__audited},
    {"ListTrainingSessions", TD(list_sessions_request), sessions_list__audited},
    {"RecordAttendance", TD(record_attendance_request), sessions_attendance__audited},
    {"CreateCompletion", TD(create_completion_request), completions_create__audited},
    {"GetCompletion", TD(get_completion_request), completions_get__audited},
    {"PutRequirements", TD(put_requirements_request), requirements_put__audited},
    {"GetRequirements", TD(get_requirements_request), requirements_get__audited},
    {"GetPersonTraining", TD(get_person_training_request), people_training__audited},
    {"GetCompliance", TD(compliance_request), reports_compliance__audited},
    {"GetDelivered", TD(delivered_request), reports_delivered__audited},
};

void training_register_statements(db_t *db) {
    const db_stmt_set_t sets[] = {courses_statements,      sessions_statements, completions_statements,
                                                  people_statements,       standing_statements,
                                                  requirements_statements, reports_statements};
    db_register_sets(db, sets, sizeof sets / sizeof sets[0]);
}

typedef struct {
    const char *dsn, *endpoint;
} ctx_args_t;

static void *training_ctx_new(void *arg) {
    const ctx_args_t *args = arg;
    training_t *t = calloc(1, sizeof *t);
    if (t == NULL || (t->db = db_new(args->dsn)) == NULL || (t->bus = bus_client_new(args->endpoint)) == NULL) {
        log_error(NULL, "training: cannot set up a handler thread");
        if (t) db_destroy(&t->db);
        free(t);
        return NULL;
    }
    training_register_statements(t->db);
    return t;
}

static void training_ctx_destroy(void *ctx) {
    training_t *t = ctx;
    bus_client_destroy(&t->bus);
    db_destroy(&t->db);
    free(t);
}

int main(void) {
    log_init("training");
    if (bus_auth_init("training") != 0) return 1;
    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    training_config.expiry_window_days = (int)config_long("PARLEY_TRAINING_EXPIRY_WINDOW_DAYS", 60, 0, 3650);
    training_config.sweep_ms = config_long("PARLEY_TRAINING_SWEEP_MS", 86400000, 100, 7L * 86400000);
    training_config.matching_timeout_ms = (int)config_long("PARLEY_TRAINING_MATCHING_TIMEOUT_MS", 1500, 100, 10000);

    const char *dsn = config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_training");
    /* Migrate before serving (every instance tries; the advisory lock serialises). */
    if (svc_runtime_migrate(dsn, "training", &stop) != 0) return 1;

    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    relay_config_t rc = {
        .conninfo = dsn,
        .endpoint = endpoint,
        .source = "training",
        .interval_ms = (int)config_long("PARLEY_RELAY_INTERVAL_MS", 250, 10, 60000),
        .task_init = sweep_init,
        .task = sweep_run,
        .task_every_ms = training_config.sweep_ms,
    };
    relay_t *relay = relay_start(&rc);
    if (relay == NULL) return 1;
    ctx_args_t args = {dsn, endpoint};
    svc_runtime_t rt = {.service = "training",
                        .endpoint = endpoint,
                        .methods = methods,
                        .n_methods = sizeof methods / sizeof methods[0],
                        .ctx_new = training_ctx_new,
                        .ctx_destroy = training_ctx_destroy,
                        .arg = &args,
                        .threads = svc_runtime_threads()};
    int status = svc_runtime_run(&rt, &stop);
    relay_stop(&relay);
    log_info(NULL, "stopped");
    return status == 0 ? 0 : 1;
}
