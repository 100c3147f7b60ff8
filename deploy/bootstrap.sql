-- Parley's database bootstrap: a login role and a schema per service.
-- Run once per database `parley` by its owner (a superuser, or a role with
-- CREATEROLE that owns the database); running it again changes nothing.
-- scripts/stack runs it on every `up`; docker-compose runs it from
-- /docker-entrypoint-initdb.d when the PostgreSQL volume is first created.
-- Each service then applies its own migrations in its schema at start.
--
-- The roles get no password here: the private dev cluster of scripts/stack
-- trusts loopback. Elsewhere set one per role (ALTER ROLE ... PASSWORD) and
-- give each service its own in PGPASSWORD or its DSN.

\set ON_ERROR_STOP on

-- Nobody creates objects in public: each service has its own schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $bootstrap$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['gateway', 'intake', 'matching', 'scheduling',
                               'notify', 'training', 'feedback']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parley_' || svc) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', 'parley_' || svc);
        END IF;
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, 'parley_' || svc);
        EXECUTE format('ALTER ROLE %I SET search_path = %I', 'parley_' || svc, svc);
    END LOOP;
END
$bootstrap$;

-- The audit trail: append-only for the gateway. Its owner is a role nobody
-- logs in as, so the gateway's role can INSERT and SELECT but never UPDATE,
-- DELETE or TRUNCATE a row, nor drop the table. Rows hold ids, never values.
DO $audit$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parley_audit') THEN
        CREATE ROLE parley_audit NOLOGIN;
    END IF;
END
$audit$;
CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION parley_audit;
CREATE TABLE IF NOT EXISTS audit.events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    consortium_id uuid NOT NULL,
    client_id uuid NOT NULL,
    role text NOT NULL,
    authority_id uuid,
    action text NOT NULL,
    record_type text NOT NULL,
    record_id text,
    request_id text NOT NULL,
    outcome integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE audit.events OWNER TO parley_audit;
-- Failed authentications are audited too (gateway/auth.h): the client id
-- only when the key parses, the consortium only when that client exists.
-- Every row says where the request came from, the X-Request-Id the client
-- sent (the row's request_id is always the gateway's own), and the
-- authorities the acting client held, which decide which admins may read a
-- row that names no authority (gateway/audit.h).
ALTER TABLE audit.events ALTER COLUMN consortium_id DROP NOT NULL,
                         ALTER COLUMN client_id DROP NOT NULL;
ALTER TABLE audit.events ADD COLUMN IF NOT EXISTS client_authority_ids uuid[],
                         ADD COLUMN IF NOT EXISTS client_address text,
                         ADD COLUMN IF NOT EXISTS client_request_id text;
CREATE INDEX IF NOT EXISTS events_by_consortium_time ON audit.events (consortium_id, at, id);
CREATE INDEX IF NOT EXISTS events_by_record ON audit.events (record_id);
CREATE INDEX IF NOT EXISTS events_by_client ON audit.events (client_id, at);
GRANT USAGE ON SCHEMA audit TO parley_gateway;
GRANT INSERT, SELECT ON audit.events TO parley_gateway;
