-- Replay data kept minimal and unreadable without the client's
-- Idempotency-Key (gateway/idempotency.h): the key itself is not stored,
-- only an HMAC of it under the server secret (key_digest); the request's
-- fingerprint is an HMAC under the replay key; the answer (content type,
-- Location/ETag, body) is sealed with AES-256-GCM under that key. The old
-- table held answers in clear (new API keys among them), so it goes: a retry
-- within 24 hours of the upgrade runs again instead of replaying.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    client_id uuid NOT NULL,
    key_digest text NOT NULL CHECK (key_digest ~ '^[0-9a-f]{64}$'),
    fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    status integer NOT NULL,
    sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key_digest)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Each transaction sees only its own API client's rows (db_tx_begin sets
-- parley.client_id from the principal), the gateway's own role included:
-- FORCE applies the policies to the table's owner, which is that role.
-- Rows past their 24 hours may be read and deleted by any client's
-- transaction, so that any request can purge them; they are sealed and are
-- never replayed (idem_get asks for younger rows only).
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY own_client ON idempotency_keys TO CURRENT_USER
    USING (client_id = nullif(current_setting('parley.client_id', true), '')::uuid)
    WITH CHECK (client_id = nullif(current_setting('parley.client_id', true), '')::uuid);
CREATE POLICY expired_read ON idempotency_keys FOR SELECT TO CURRENT_USER
    USING (created_at < now() - interval '24 hours');
CREATE POLICY expired_purge ON idempotency_keys FOR DELETE TO CURRENT_USER
    USING (created_at < now() - interval '24 hours');

-- A supporter-role key is bound to one supporter (the Principal carries it
-- to matching); no other key is bound to one. POST /v1/clients requires it
-- with the supporter role; a supporter key from before this migration has
-- none and so may act for no supporter at all (revoke it, issue another).
ALTER TABLE api_clients ADD COLUMN supporter_id uuid
    CHECK (supporter_id IS NULL OR 'supporter' = ANY (roles));
