-- Answers kept for Idempotency-Key replays, per API client, for 24 hours.
CREATE TABLE idempotency_keys (
    client_id uuid NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text NOT NULL,
    status integer NOT NULL,
    content_type text NOT NULL,
    headers text NOT NULL DEFAULT '',
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
