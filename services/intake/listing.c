/* What intake's handlers share beyond lib/svc: the past-date check. */

#include "services/intake/intake.h"
#include "svc/svc.h"

bool intake_check_past_date(bus_response_t *res, const char *field, const char *value, int64_t *days) {
    int64_t d;
    if (!svc_check_date(res, field, value, true, &d)) return false;
    /* Tomorrow, not today: the caller's day may be ahead of UTC. */
    if (d > svc_today_days() + 1) {
        bus_response_violation(res, field, "is in the future");
        return false;
    }
    if (days) *days = d;
    return true;
}
