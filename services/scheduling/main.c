/* parley-scheduling: the scheduling service's process: PARLEY_WORKER_THREADS
 * handler threads (lib/svc/runtime.h), each with its own database
 * connection, and the outbox relay's thread (lib/svc/relay.h). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus/auth.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "services/scheduling/feed.h"
#include "services/scheduling/ical.h"
#include "services/scheduling/needs.h"
#include "services/scheduling/reminders.h"
#include "services/scheduling/scheduling.h"
#include "svc/relay.h"
#include "svc/runtime.h"
#include "svc/svc.h"

#define SC(x) &parley__scheduling__v1__##x##__descriptor

static volatile sig_atomic_t stop;

/* Every method runs inside svc_serve: the request's audit row is written in
 * the transaction that serves it (lib/svc/svc.h, SVC_AUDITED). */
SVC_AUDITED(scheduling_t, calendars_put)
SVC_AUDITED(scheduling_t, calendars_get)
SVC_AUDITED(scheduling_t, calendars_free_slots)
SVC_AUDITED(scheduling_t, appointments_create)
SVC_AUDITED(scheduling_t, appointments_get)
SVC_AUDITED(scheduling_t, appointments_reschedule)
SVC_AUDITED(scheduling_t, appointments_cancel)
SVC_AUDITED(scheduling_t, appointments_icalendar)
SVC_AUDITED(scheduling_t, sessions_create)
SVC_AUDITED(scheduling_t, sessions_get)
SVC_AUDITED(scheduling_t, sessions_list)
SVC_AUDITED(scheduling_t, sessions_cancel)
SVC_AUDITED(scheduling_t, bookings_create)
SVC_AUDITED(scheduling_t, bookings_get)
SVC_AUDITED(scheduling_t, bookings_get_in_session)
SVC_AUDITED(scheduling_t, bookings_cancel)
SVC_AUDITED(scheduling_t, session_bookings_list)
SVC_AUDITED(scheduling_t, feed_token_create)
SVC_AUDITED(scheduling_t, feed_token_revoke)
SVC_AUDITED(scheduling_t, feed_get)

static const bus_method_t methods[] = {
    {"PutAvailability", SC(put_availability_request), calendars_put__audited},
    {"GetAvailability", SC(get_availability_request), calendars_get__audited},
    {"GetFreeSlots", SC(free_slots_request), calendars_free_slots__audited},
    {"CreateAppointment", SC(create_appointment_request), appointments_create__audited},
    {"GetAppointment", SC(get_appointment_request), appointments_get__audited},
    {"RescheduleAppointment", SC(reschedule_appointment_request), appointments_reschedule__audited},
    {"CancelAppointment", SC(cancel_appointment_request), appointments_cancel__audited},
    {"GetAppointmentICalendar", SC(get_appointment_icalendar_request), appointments_icalendar__audited},
    {"CreateSession", SC(create_session_request), sessions_create__audited},
    {"GetSession", SC(get_session_request), sessions_get__audited},
    {"ListSessions", SC(list_sessions_request), sessions_list__audited},
    {"CancelSession", SC(cancel_session_request), sessions_cancel__audited},
    {"CreateBooking", SC(create_booking_request), bookings_create__audited},
    {"GetBooking", SC(get_booking_request), bookings_get__audited},
    {"GetSessionBooking", SC(get_session_booking_request), bookings_get_in_session__audited},
    {"CancelBooking", SC(cancel_booking_request), bookings_cancel__audited},
    /* events: notify tells a cancelled session's bookings (session_bookings.c). */
    {"ListSessionBookings", SC(list_session_bookings_request), session_bookings_list__audited},
    /* ics: the same text as GetAppointmentICalendar's, answered as text/calendar by the gateway. */
    {"GetAppointmentIcs", SC(get_appointment_icalendar_request), appointments_icalendar__audited},
    {"CreateFeedToken", SC(create_feed_token_request), feed_token_create__audited},
    {"RevokeFeedToken", SC(revoke_feed_token_request), feed_token_revoke__audited},
    {"GetCalendarFeed", SC(calendar_feed_request), feed_get__audited},
};

void scheduling_register_statements(db_t *db) {
    const db_stmt_set_t sets[] = {calendars_statements, appointments_statements,
                                                  sessions_statements, reminders_statements,
                                                  session_bookings_statements, feed_statements};
    db_register_sets(db, sets, sizeof sets / sizeof sets[0]);
}

typedef struct {
    const char *dsn, *endpoint;
} ctx_args_t;

static void scheduling_ctx_destroy(void *ctx) {
    scheduling_t *t = ctx;
    db_destroy(&t->db);
    bus_client_destroy(&t->bus);
    free(t);
}

static void *scheduling_ctx_new(void *arg) {
    const ctx_args_t *args = arg;
    scheduling_t *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    t->db = db_new(args->dsn);
    t->bus = bus_client_new(args->endpoint); /* ics: asking intake, as the caller */
    if (t->db == NULL || t->bus == NULL) {
        log_error(NULL, "scheduling: cannot set up a handler thread");
        scheduling_ctx_destroy(t);
        return NULL;
    }
    scheduling_register_statements(t->db);
    return t;
}

int main(void) {
    log_init("scheduling");
    if (bus_auth_init("scheduling") != 0) return 1;
    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    const char *dsn =
        config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_scheduling");
    /* Migrate before serving (every instance tries; the advisory lock serialises). */
    if (svc_runtime_migrate(dsn, "scheduling", &stop) != 0) return 1;

    ical_init(); /* before any thread: libical's UTC zone is made on first use */
    if (reminders_configure() != 0) return 1;
    if (feed_configure() != 0) return 1;
    needs_configure();
    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    relay_config_t rc = {
        .conninfo = dsn,
        .endpoint = endpoint,
        .source = "scheduling",
        .interval_ms = (int)config_long("PARLEY_RELAY_INTERVAL_MS", 250, 10, 60000),
        /* The reminder sweep, on the relay's thread and connection. */
        .task_init = reminders_init,
        .task = reminders_sweep,
        .task_every_ms = config_long("PARLEY_SCHEDULING_REMINDER_SWEEP_MS", 1000, 100, 3600000),
    };
    relay_t *relay = relay_start(&rc);
    if (relay == NULL) return 1;
    ctx_args_t args = {dsn, endpoint};
    svc_runtime_t rt = {.service = "scheduling",
                        .endpoint = endpoint,
                        .methods = methods,
                        .n_methods = sizeof methods / sizeof methods[0],
                        .ctx_new = scheduling_ctx_new,
                        .ctx_destroy = scheduling_ctx_destroy,
                        .arg = &args,
                        .threads = svc_runtime_threads()};
    int status = svc_runtime_run(&rt, &stop);
    relay_stop(&relay);
    log_info(NULL, "stopped");
    return status == 0 ? 0 : 1;
}
