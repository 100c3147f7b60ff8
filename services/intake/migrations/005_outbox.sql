-- The transactional outbox (lib/db/outbox.h), the inbox for events this
-- service consumes, and the record of deadline events already emitted.
--
-- No row-level security here: these are the service's plumbing, written by
-- handlers inside their tenant-scoped transactions and read only by the
-- relay and the sweep (lib/svc/relay.c, services/intake/sweep.c), which act
-- for every authority. No request handler reads them.

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
    PRIMARY KEY (event_id, subscriber)
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_deliveries_pending ON outbox_deliveries (subscriber, event_id) WHERE delivered_at IS NULL;

CREATE TABLE inbox (
    event_id uuid PRIMARY KEY,
    type text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now()
);

-- One case.deadline_due per deadline, however many instances sweep at once.
CREATE TABLE deadline_events (
    case_id uuid NOT NULL,
    kind text NOT NULL,
    due_on date NOT NULL,
    authority_id uuid NOT NULL,
    emitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, kind, due_on)
);
