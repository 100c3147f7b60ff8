/* Every prepared statement of intake's handlers, registered on a handler
 * thread's connection (main.c; tests/helpers/roundtrips.c does the same). */
#include "services/intake/intake.h"

void intake_register_statements(db_t *db) {
    static const db_stmt_set_t sets[] = {
        families_statements,  family_update_statements, cases_statements,    case_actions_statements,
        views_statements,     stages_statements,        timeline_statements, agencies_statements,
        signposts_statements, resources_statements,     events_statements,   referrals_statements,
        /* library */
        resource_update_statements, agency_update_statements, deadline_list_statements,
        /* young people as clients */
        young_people_statements, young_person_parents_statements, young_person_views_statements,
        /* contacts, for notify */
        contacts_statements,
    };
    db_register_sets(db, sets, sizeof sets / sizeof sets[0]);
}
