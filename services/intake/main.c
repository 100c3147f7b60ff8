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
#include "svc/svc.h"

#define IN(x) &parley__intake__v1__##x##__descriptor

static volatile sig_atomic_t stop;

/* Every method runs inside svc_serve: the request's audit row is written in
 * the transaction that serves it (lib/svc/svc.h, SVC_AUDITED). */
SVC_AUDITED(intake_t, families_create)
SVC_AUDITED(intake_t, families_get)
SVC_AUDITED(intake_t, families_update)
SVC_AUDITED(intake_t, views_create)
SVC_AUDITED(intake_t, views_list)
SVC_AUDITED(intake_t, cases_create)
SVC_AUDITED(intake_t, cases_get)
SVC_AUDITED(intake_t, cases_list)
SVC_AUDITED(intake_t, cases_withdraw_consent)
SVC_AUDITED(intake_t, cases_close)
SVC_AUDITED(intake_t, stages_record)
SVC_AUDITED(intake_t, stages_move)
SVC_AUDITED(intake_t, timeline_get)
SVC_AUDITED(intake_t, agencies_create)
SVC_AUDITED(intake_t, agencies_get)
SVC_AUDITED(intake_t, agencies_list)
SVC_AUDITED(intake_t, signposts_create)
SVC_AUDITED(intake_t, signposts_list)
SVC_AUDITED(intake_t, resources_create)
SVC_AUDITED(intake_t, resources_get)
SVC_AUDITED(intake_t, resources_list)
SVC_AUDITED(intake_t, resources_list_due)
SVC_AUDITED(intake_t, referrals_get)
SVC_AUDITED(intake_t, referrals_list)
SVC_AUDITED(intake_t, families_list)
SVC_AUDITED(intake_t, stages_get)
SVC_AUDITED(intake_t, views_get)
SVC_AUDITED(intake_t, signposts_get)
/* library */
SVC_AUDITED(intake_t, resources_update)
SVC_AUDITED(intake_t, resources_review)
SVC_AUDITED(intake_t, resources_retire)
SVC_AUDITED(intake_t, agencies_update)
SVC_AUDITED(intake_t, agencies_retire)
SVC_AUDITED(intake_t, deadlines_list)
/* young people as clients */
SVC_AUDITED(intake_t, young_people_create)
SVC_AUDITED(intake_t, young_people_get)
SVC_AUDITED(intake_t, young_people_update)
SVC_AUDITED(intake_t, young_people_list)
SVC_AUDITED(intake_t, young_person_parents_link)
SVC_AUDITED(intake_t, young_person_parents_get)
SVC_AUDITED(intake_t, young_person_parents_list)
SVC_AUDITED(intake_t, young_person_parents_unlink)
SVC_AUDITED(intake_t, young_person_views_create)
SVC_AUDITED(intake_t, young_person_views_list)
SVC_AUDITED(intake_t, young_person_views_get)
SVC_AUDITED(intake_t, contacts_resolve)

static const bus_method_t methods[] = {
    {"CreateFamily", IN(create_family_request), families_create__audited},
    {"GetFamily", IN(get_family_request), families_get__audited},
    {"UpdateFamily", IN(patch_family_request), families_update__audited},
    {"CreateChildView", IN(create_child_view_request), views_create__audited},
    {"ListChildViews", IN(list_child_views_request), views_list__audited},
    {"CreateCase", IN(create_case_request), cases_create__audited},
    {"GetCase", IN(get_case_request), cases_get__audited},
    {"ListCases", IN(list_cases_request), cases_list__audited},
    {"WithdrawConsent", IN(withdraw_consent_request), cases_withdraw_consent__audited},
    {"CloseCase", IN(close_case_request), cases_close__audited},
    {"RecordStage", IN(record_stage_request), stages_record__audited},
    {"MoveStage", IN(move_stage_request), stages_move__audited},
    {"GetTimeline", IN(get_timeline_request), timeline_get__audited},
    {"CreateAgency", IN(create_agency_request), agencies_create__audited},
    {"GetAgency", IN(get_agency_request), agencies_get__audited},
    {"ListAgencies", IN(list_agencies_request), agencies_list__audited},
    {"CreateSignpost", IN(create_signpost_request), signposts_create__audited},
    {"ListSignposts", IN(list_signposts_request), signposts_list__audited},
    {"CreateResource", IN(create_resource_request), resources_create__audited},
    {"GetResource", IN(get_resource_request), resources_get__audited},
    {"ListResources", IN(list_resources_request), resources_list__audited},
    {"ListResourcesDue", IN(list_resources_due_request), resources_list_due__audited},
    {"GetReferral", IN(get_referral_request), referrals_get__audited},
    {"ListReferrals", IN(list_referrals_request), referrals_list__audited},
    {"ListFamilies", IN(list_families_request), families_list__audited},
    {"GetStage", IN(get_stage_request), stages_get__audited},
    {"GetChildView", IN(get_child_view_request), views_get__audited},
    {"GetSignpost", IN(get_signpost_request), signposts_get__audited},
    /* library */
    {"UpdateResource", IN(patch_resource_request), resources_update__audited},
    {"ReviewResource", IN(review_resource_request), resources_review__audited},
    {"RetireResource", IN(retire_resource_request), resources_retire__audited},
    {"UpdateAgency", IN(patch_agency_request), agencies_update__audited},
    {"RetireAgency", IN(retire_agency_request), agencies_retire__audited},
    {"ListDeadlines", IN(list_deadlines_request), deadlines_list__audited},
    /* young people as clients */
    {"CreateYoungPerson", IN(create_young_person_request), young_people_create__audited},
    {"GetYoungPerson", IN(get_young_person_request), young_people_get__audited},
    {"UpdateYoungPerson", IN(patch_young_person_request), young_people_update__audited},
    {"ListYoungPeople", IN(list_young_people_request), young_people_list__audited},
    {"LinkParent", IN(link_parent_request), young_person_parents_link__audited},
    {"GetLinkedParent", IN(get_linked_parent_request), young_person_parents_get__audited},
    {"ListLinkedParents", IN(list_linked_parents_request), young_person_parents_list__audited},
    {"UnlinkParent", IN(get_linked_parent_request), young_person_parents_unlink__audited},
    {"CreateYoungPersonView", IN(create_young_person_view_request), young_person_views_create__audited},
    {"ListYoungPersonViews", IN(list_young_person_views_request), young_person_views_list__audited},
    {"GetYoungPersonView", IN(get_young_person_view_request), young_person_views_get__audited},
    /* contacts: for notify, at send time */
    {"ResolveContact", IN(resolve_contact_request), contacts_resolve__audited},
};

/* One handler thread's context: a connection with every statement on it. */
static void *intake_ctx_new(void *arg) {
    intake_t *t = calloc(1, sizeof *t);
    if (t == NULL || (t->db = db_new(arg)) == NULL) {
        log_error(NULL, "intake: cannot set up a handler thread");
        free(t);
        return NULL;
    }
    intake_register_statements(t->db);
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
    /* Migrate before serving (every instance tries; the advisory lock serialises). */
    if (svc_runtime_migrate(dsn, "intake", &stop) != 0) return 1;

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
