/* When a leaflet is next due for review (rules in review.h). */
#include "services/intake/review.h"

#include "services/intake/deadlines.h"

int review_interval(int32_t requested) { return requested == 0 ? REVIEW_DEFAULT_MONTHS : (int)requested; }

bool review_interval_is_valid(int32_t months) { return months >= 1 && months <= REVIEW_MAX_MONTHS; }

int64_t review_next_due(int64_t reviewed_on, int months) { return deadline_add_months(reviewed_on, months); }
