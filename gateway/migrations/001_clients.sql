-- The gateway's own tables: consortia, their authorities, and API clients.
-- API keys are stored only as HMAC-SHA256(server secret, key), hex.
CREATE TABLE consortia (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE authorities (
    id uuid PRIMARY KEY,
    consortium_id uuid NOT NULL REFERENCES consortia (id),
    code text NOT NULL CHECK (code ~ '^[EWSN][0-9]{8}$'), -- ONS GSS code
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consortium_id, code)
);

CREATE TABLE api_clients (
    id uuid PRIMARY KEY,
    consortium_id uuid NOT NULL REFERENCES consortia (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    key_hash text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    roles text[] NOT NULL,
    authority_ids uuid[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
