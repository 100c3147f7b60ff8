-- Per-subject delivery order without a scan: each delivery carries its
-- event's subject and sequence, so "is an earlier event about this subject
-- still undelivered to this subscriber?" is one index probe however long the
-- backlog of a subscriber that has been down.

ALTER TABLE outbox_deliveries
    ADD COLUMN subject_id uuid,
    ADD COLUMN seq bigint;

UPDATE outbox_deliveries d SET subject_id = o.subject_id, seq = o.seq FROM outbox o WHERE o.id = d.event_id;

CREATE INDEX outbox_deliveries_waiting ON outbox_deliveries (subscriber, subject_id, seq) WHERE delivered_at IS NULL;
DROP INDEX outbox_deliveries_pending;
