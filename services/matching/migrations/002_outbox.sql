-- The transactional outbox (lib/db/outbox.h) for the events matching emits
-- (match.offered, match.accepted, match.declined, match.waiting,
-- assignment.ended), and the inbox of events it has handled
-- (case.supporter_requested).
--
-- No row-level security here: these are the service's plumbing, written by
-- handlers inside their tenant-scoped transactions and read only by the
-- relay (lib/svc/relay.c), which acts for every authority.

CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    seq bigserial NOT NULL UNIQUE,   -- delivery order
    type text NOT NULL,
    authority_id uuid,
    subject_id uuid,
    data jsonb NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_by_subject ON outbox (subject_id, seq);

CREATE TABLE outbox_deliveries (
    event_id uuid NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    subscriber text NOT NULL,
    delivered_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    subject_id uuid,   -- copied from the event, for the relay's per-subject order
    seq bigint,
    PRIMARY KEY (event_id, subscriber)
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_deliveries_waiting ON outbox_deliveries (subscriber, subject_id, seq) WHERE delivered_at IS NULL;

CREATE TABLE inbox (
    event_id uuid PRIMARY KEY,
    type text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now()
);
