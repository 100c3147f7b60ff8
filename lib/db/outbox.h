/* outbox — the transactional outbox and the consumer's inbox.
 *
 * A producer calls outbox_add inside the transaction that makes the change,
 * so the event exists if and only if the change does. Its relay
 * (lib/svc/relay.h) later delivers the event to every subscriber. A consumer
 * calls inbox_claim inside the transaction that handles an event: 1 means
 * handle it, 0 means it was handled before (answer OK and do nothing).
 *
 * Subscriptions belong to the consumer: the subscribers of an event are the
 * services that declared its type in parley_shared.subscriptions (each in
 * its own migration, parley_shared.subscribe; deploy/bootstrap.sql), read
 * in the statement that writes the event, so a producer never names them
 * and a new consumer needs no change to a producer. A type nobody takes is
 * still written (for the record) and delivered to nobody.
 *
 * Tables (created by the service's own migrations with
 * parley_shared.create_outbox() and create_inbox()):
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

/* Adds an event and one pending delivery per subscriber of its type (none:
 * the event is then recorded, for the audit of what happened, but sent
 * nowhere), in one statement. Must run inside a transaction. data_json is a
 * JSON object's text. Returns 0 or a DB_ERR_*. */
int outbox_add(db_t *db, const char *type, const char *authority_id, const char *subject_id, const char *data_json);

/* The SQL of one statement that adds an event and its pending deliveries
 * (one per service subscribed to its type) together, for a pipeline
 * (db_run) where nothing can wait for a result: sel is a SELECT of the
 * event's (id, type, authority_id, subject_id, data) — the data built in
 * SQL from the rows it is about — with $1 the new event's id; sel's own
 * parameters start at $2. It returns the event's id: one row, or none when
 * sel found nothing to announce. */
#define OUTBOX_ADD_FROM(sel)                                                                                 \
    "WITH ev AS (INSERT INTO outbox (id, type, authority_id, subject_id, data) " sel                         \
    " RETURNING id, type, subject_id, seq),"                                                                 \
    " deliveries AS (INSERT INTO outbox_deliveries (event_id, subscriber, subject_id, seq)"                  \
    " SELECT ev.id, s.service, ev.subject_id, ev.seq FROM ev"                                                \
    " JOIN parley_shared.subscriptions s ON s.event_type = ev.type)"                                         \
    " SELECT id FROM ev"

/* Claims event_id for handling in the current transaction. 1: first time,
 * handle it; 0: already handled; or a DB_ERR_*. */
int inbox_claim(db_t *db, const char *event_id, const char *type);

#endif
