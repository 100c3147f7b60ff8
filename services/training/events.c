/* The events training emits, through its transactional outbox
 * (lib/db/outbox.h; delivered by the relay, lib/svc/relay.c). Shapes in
 * docs/events.md. The producer names each type's subscribers here, as
 * intake does (services/intake/events.c):
 *   training.status_changed -> matching, for a supporter (a supporter whose
 *     training lapses stops being a candidate, and returns on renewal);
 *     about anyone else it is recorded and sent nowhere: no service acts on
 *     the standing of someone outside Parley.
 *   training.expiring -> notify, for reminders to the person and their
 *     coordinator.
 * Training consumes no event: it has no Deliver method. */
#include <stdlib.h>
#include <string.h>

#include "db/outbox.h"
#include "services/training/training.h"

static const char *const to_matching[] = {"matching"};
static const char *const to_notify[] = {"notify"};

int events_emit(db_t *db, const char *type, const char *authority_id, const char *subject_id, bool supporter,
                json_t *data) {
    if (data == NULL) return DB_ERR_QUERY;
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (text == NULL) return DB_ERR_QUERY;
    const char *const *subs = NULL;
    size_t n = 0;
    if (strcmp(type, "training.status_changed") == 0 && supporter) subs = to_matching, n = 1;
    else if (strcmp(type, "training.expiring") == 0) subs = to_notify, n = 1;
    int rc = outbox_add(db, type, authority_id, subject_id, text, subs, n);
    free(text);
    return rc;
}
