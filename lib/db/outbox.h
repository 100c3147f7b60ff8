/* outbox — the transactional outbox and the consumer's inbox.
 *
 * A producer calls outbox_add inside the transaction that makes the change,
 * so the event exists if and only if the change does. Its relay
 * (lib/svc/relay.h) later delivers the event to every subscriber. A consumer
 * calls inbox_claim inside the transaction that handles an event: 1 means
 * handle it, 0 means it was handled before (answer OK and do nothing).
 *
 * Tables (created by the service's own migrations; see
 * services/intake/migrations for the shape to copy):
 *   outbox(id uuid pk, type text, authority_id uuid, subject_id uuid,
 *          data jsonb, occurred_at timestamptz)
 *   outbox(..., seq bigserial unique: the order events were written)
 *   outbox_deliveries(event_id uuid, subscriber text, delivered_at
 *          timestamptz, attempts int, next_attempt_at timestamptz,
 *          last_error text, subject_id uuid, seq bigint (copied from the
 *          event, for the relay's per-subject order), pk (event_id,
 *          subscriber))
 *   inbox(event_id uuid pk, type text, handled_at timestamptz)
 */
#ifndef PARLEY_DB_OUTBOX_H
#define PARLEY_DB_OUTBOX_H

#include "db/db.h"

/* Adds an event and one pending delivery per subscriber (n may be 0: the
 * event is then recorded, for the audit of what happened, but sent nowhere).
 * Must run inside a transaction. data_json is a JSON object's text.
 * Returns 0 or a DB_ERR_*. */
int outbox_add(db_t *db, const char *type, const char *authority_id, const char *subject_id, const char *data_json,
               const char *const *subscribers, size_t n_subscribers);

/* The SQL of one statement that adds an event and its pending deliveries
 * together, for a pipeline (db_run) where nothing can wait for a result:
 * sel is a SELECT of the event's (id, type, authority_id, subject_id,
 * data) — the data built in SQL from the rows it is about — with $1 the new
 * event's id and $2 the subscribers' service names as a text[] literal
 * ({"notify","matching"}); sel's own parameters start at $3. */
#define OUTBOX_ADD_FROM(sel)                                                                                 \
    "WITH ev AS (INSERT INTO outbox (id, type, authority_id, subject_id, data) " sel                         \
    " RETURNING id, subject_id, seq)"                                                                        \
    " INSERT INTO outbox_deliveries (event_id, subscriber, subject_id, seq)"                                 \
    " SELECT ev.id, s, ev.subject_id, ev.seq FROM ev, unnest($2::text[]) AS s GROUP BY ev.id, s, ev.subject_id, ev.seq"

/* Claims event_id for handling in the current transaction. 1: first time,
 * handle it; 0: already handled; or a DB_ERR_*. */
int inbox_claim(db_t *db, const char *event_id, const char *type);

#endif
