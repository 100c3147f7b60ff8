/* The events training emits, through its transactional outbox
 * (lib/db/outbox.h; delivered by the relay, lib/svc/relay.c). Shapes in
 * docs/events.md. Who receives each type is the consumers' to say
 * (parley_shared.subscriptions, declared in each consumer's migrations):
 * today matching takes training.status_changed (a supporter whose training
 * lapses stops being a candidate, and returns on renewal; about anyone else
 * it answers OK and changes nothing) and notify takes training.expiring
 * (reminders). Training consumes no event: it has no Deliver method. */
#include <stdlib.h>

#include "db/outbox.h"
#include "services/training/training.h"

int events_emit(db_t *db, const char *type, const char *authority_id, const char *subject_id, json_t *data) {
    if (data == NULL) return DB_ERR_QUERY;
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (text == NULL) return DB_ERR_QUERY;
    int rc = outbox_add(db, type, authority_id, subject_id, text);
    free(text);
    return rc;
}
