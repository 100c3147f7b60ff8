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

-- The audit trail: append-only. Its owner is a role nobody logs in as, so
-- the gateway's role can INSERT and SELECT, and each service's role INSERT
-- (granted below), but none can UPDATE, DELETE or TRUNCATE a row, nor drop
-- the table. Rows hold ids, never values.
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

-- A request served by a service is audited by that service, in the
-- transaction that serves it (lib/db/audit.h): the row of a write commits
-- with the write or not at all; a read's row is written in the read's own
-- transaction, committed with synchronous_commit off. The gateway writes
-- only the rows of requests no service answered successfully.
--
-- audit.touch(record, authority), called by a statement of the request on
-- the object it reads or writes (SELECT ..., audit.touch(id::text,
-- authority_id) FROM cases WHERE id = $1; INSERT ... RETURNING
-- audit.touch(...)), names that object for the request's row: the first
-- one named in a transaction is the one audited.
CREATE OR REPLACE FUNCTION audit.touch(p_record_id text, p_authority_id uuid) RETURNS boolean
    LANGUAGE plpgsql AS $touch$
BEGIN
    IF current_setting('parley.audit_touched', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('parley.audit_record_id', coalesce(p_record_id, ''), true),
                set_config('parley.audit_authority_id', coalesce(p_authority_id::text, ''), true),
                set_config('parley.audit_touched', 'on', true);
    END IF;
    RETURN true;
END
$touch$;
ALTER FUNCTION audit.touch(text, uuid) OWNER TO parley_audit;

-- audit.record_request(...) writes the request's row, sent by lib/db in the
-- same pipeline as the COMMIT. The record id is the path's (p_record_id),
-- else the object named by audit.touch; the authority the one named by the
-- caller (p_authority_id), else by audit.touch. Unless the caller names the
-- object itself (p_named) or the request is a list, a transaction that
-- named no object gets no row: a read that found nothing (answered 404 and
-- audited by the gateway), or a write that changed nothing. A transaction
-- that changed data and named no object is refused (PV500): it rolls back
-- rather than commit a write without its audit row. Returns 1 when a row
-- was written, 0 when none was.
CREATE OR REPLACE FUNCTION audit.record_request(
    p_named boolean, p_consortium_id uuid, p_client_id uuid, p_role text, p_action text,
    p_record_type text, p_record_id text, p_authority_id uuid, p_request_id text, p_outcome integer,
    p_client_authority_ids uuid[], p_client_address text, p_client_request_id text) RETURNS integer
    LANGUAGE plpgsql AS $record$
BEGIN
    IF NOT p_named AND p_action <> 'list'
       AND current_setting('parley.audit_touched', true) IS DISTINCT FROM 'on' THEN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'request % changed data but named no object for its audit row', p_request_id
                USING ERRCODE = 'PV500';
        END IF;
        RETURN 0;
    END IF;
    INSERT INTO audit.events (consortium_id, client_id, role, authority_id, action, record_type, record_id,
                              request_id, outcome, client_authority_ids, client_address, client_request_id)
    VALUES (p_consortium_id, p_client_id, p_role,
            coalesce(p_authority_id, nullif(current_setting('parley.audit_authority_id', true), '')::uuid),
            p_action, p_record_type,
            coalesce(p_record_id, nullif(current_setting('parley.audit_record_id', true), '')),
            p_request_id, p_outcome, p_client_authority_ids, p_client_address, p_client_request_id);
    RETURN 1;
END
$record$;
ALTER FUNCTION audit.record_request(boolean, uuid, uuid, text, text, text, text, uuid, text, integer, uuid[], text, text)
    OWNER TO parley_audit;
REVOKE ALL ON FUNCTION audit.touch(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.record_request(boolean, uuid, uuid, text, text, text, text, uuid, text, integer, uuid[],
                                            text, text) FROM PUBLIC;

-- What was tried, and what a list returned (issue 12, item 7). Every row
-- names the route asked for ("GET /v1/cases/{id}", the route table's method
-- and template), refusals (401 after the key named a client, 403) included.
-- A list's row names the records it returned (record_ids, in order): the
-- list's statement calls audit.listed(id, page size) on each row it returns,
-- which keeps the first page-size ids (at most 200) for the row, so the row
-- of a read still commits with the read and costs no round trip.
ALTER TABLE audit.events ADD COLUMN IF NOT EXISTS route text,
                         ADD COLUMN IF NOT EXISTS record_ids text[];

CREATE OR REPLACE FUNCTION audit.listed(p_record_id text, p_limit integer) RETURNS boolean
    LANGUAGE plpgsql AS $listed$
DECLARE
    n integer := coalesce(nullif(current_setting('parley.audit_listed_n', true), '')::integer, 0);
BEGIN
    IF p_record_id IS NOT NULL AND n < least(coalesce(p_limit, 200), 200) THEN
        PERFORM set_config('parley.audit_record_ids',
                           concat_ws(',', nullif(current_setting('parley.audit_record_ids', true), ''), p_record_id),
                           true),
                set_config('parley.audit_listed_n', (n + 1)::text, true);
    END IF;
    RETURN true;
END
$listed$;
ALTER FUNCTION audit.listed(text, integer) OWNER TO parley_audit;
REVOKE ALL ON FUNCTION audit.listed(text, integer) FROM PUBLIC;

-- As audit.record_request above, with the route, and the ids audit.listed
-- kept (for a list, an empty array when it returned nothing). The 13
-- argument form stays for services of the previous version.
CREATE OR REPLACE FUNCTION audit.record_request(
    p_named boolean, p_consortium_id uuid, p_client_id uuid, p_role text, p_action text,
    p_record_type text, p_record_id text, p_authority_id uuid, p_request_id text, p_outcome integer,
    p_client_authority_ids uuid[], p_client_address text, p_client_request_id text, p_route text) RETURNS integer
    LANGUAGE plpgsql AS $record$
DECLARE
    listed text[] := string_to_array(nullif(current_setting('parley.audit_record_ids', true), ''), ',');
BEGIN
    IF NOT p_named AND p_action <> 'list'
       AND current_setting('parley.audit_touched', true) IS DISTINCT FROM 'on' THEN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'request % changed data but named no object for its audit row', p_request_id
                USING ERRCODE = 'PV500';
        END IF;
        RETURN 0;
    END IF;
    INSERT INTO audit.events (consortium_id, client_id, role, authority_id, action, record_type, record_id,
                              request_id, outcome, client_authority_ids, client_address, client_request_id,
                              route, record_ids)
    VALUES (p_consortium_id, p_client_id, p_role,
            coalesce(p_authority_id, nullif(current_setting('parley.audit_authority_id', true), '')::uuid),
            p_action, p_record_type,
            coalesce(p_record_id, nullif(current_setting('parley.audit_record_id', true), '')),
            p_request_id, p_outcome, p_client_authority_ids, p_client_address, p_client_request_id,
            p_route, CASE WHEN p_action = 'list' THEN coalesce(listed, '{}') ELSE listed END);
    RETURN 1;
END
$record$;
ALTER FUNCTION audit.record_request(boolean, uuid, uuid, text, text, text, text, uuid, text, integer, uuid[], text, text,
                                    text) OWNER TO parley_audit;
REVOKE ALL ON FUNCTION audit.record_request(boolean, uuid, uuid, text, text, text, text, uuid, text, integer, uuid[],
                                            text, text, text) FROM PUBLIC;

-- Every service's role (and the gateway's) may append rows this way; only
-- the gateway reads them (GET /v1/audit).
DO $audit_grants$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['gateway', 'intake', 'matching', 'scheduling', 'notify', 'training', 'feedback']
    LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA audit TO %I', 'parley_' || svc);
        EXECUTE format('GRANT INSERT ON audit.events TO %I', 'parley_' || svc);
        EXECUTE format('GRANT EXECUTE ON FUNCTION audit.touch(text, uuid) TO %I', 'parley_' || svc);
        EXECUTE format('GRANT EXECUTE ON FUNCTION audit.record_request(boolean, uuid, uuid, text, text, text, text,'
                       ' uuid, text, integer, uuid[], text, text) TO %I', 'parley_' || svc);
        EXECUTE format('GRANT EXECUTE ON FUNCTION audit.record_request(boolean, uuid, uuid, text, text, text, text,'
                       ' uuid, text, integer, uuid[], text, text, text) TO %I', 'parley_' || svc);
        EXECUTE format('GRANT EXECUTE ON FUNCTION audit.listed(text, integer) TO %I', 'parley_' || svc);
    END LOOP;
END
$audit_grants$;

-- The definitions every service's migrations share (SERVICE.md point 2), in
-- schema parley_shared, created here once rather than copied into each
-- service. Each function runs with its caller's rights, so a service's
-- migration applies it to the tables its own role owns.
--
-- parley_shared.current_authorities(): the caller's authorities, from the
-- transaction-local setting db_tx_begin makes (lib/db/db.h).
-- parley_shared.tenant_table(table, column): row-level security on a tenant
-- table, ENABLEd and FORCEd (so the owning service role is bound too), one
-- policy for every command: a row is visible, and may be written, only when
-- its column (authority_id) is one of the caller's authorities.
-- parley_shared.create_inbox(): the consumer's inbox of handled events
-- (lib/db/outbox.h, inbox_claim) in the caller's schema.
CREATE SCHEMA IF NOT EXISTS parley_shared;
CREATE OR REPLACE FUNCTION parley_shared.current_authorities() RETURNS uuid[]
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('parley.authority_ids', true), ''), '{}')::uuid[] $$;
CREATE OR REPLACE FUNCTION parley_shared.tenant_table(p_table regclass, p_column name DEFAULT 'authority_id')
    RETURNS void LANGUAGE plpgsql AS $tenant$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);
    EXECUTE format('CREATE POLICY tenant ON %s USING (%I = ANY (parley_shared.current_authorities()))'
                   ' WITH CHECK (%I = ANY (parley_shared.current_authorities()))', p_table, p_column, p_column);
END
$tenant$;
CREATE OR REPLACE FUNCTION parley_shared.create_inbox() RETURNS void LANGUAGE plpgsql AS $inbox$
BEGIN
    CREATE TABLE inbox (
        event_id uuid PRIMARY KEY,
        type text NOT NULL,
        handled_at timestamptz NOT NULL DEFAULT now()
    );
END
$inbox$;
-- The outbox (lib/db/outbox.h, lib/svc/relay.c) in the calling migration's
-- schema: plumbing, read by the relay for every authority (no row security).
CREATE OR REPLACE FUNCTION parley_shared.create_outbox() RETURNS void LANGUAGE plpgsql AS $outbox$
BEGIN
    CREATE TABLE outbox (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
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
        subject_id uuid,
        seq bigint,
        PRIMARY KEY (event_id, subscriber)
    );
    CREATE INDEX outbox_deliveries_due ON outbox_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
    CREATE INDEX outbox_deliveries_waiting ON outbox_deliveries (subscriber, subject_id, seq)
        WHERE delivered_at IS NULL;
END
$outbox$;
-- parley_shared.subscriptions: which services take which event types
-- (docs/events.md, "Subscriptions"). A consumer declares each type it takes
-- in its own migration (SELECT parley_shared.subscribe('case.closed', ...));
-- a producer's outbox_add reads the type's subscribers from here in the
-- statement that writes the event (lib/db/outbox.h) and writes one delivery
-- each, so adding a consumer never means editing a producer. A type nobody
-- takes is still written to the producer's outbox and delivered to nobody.
-- Every service role reads every row; it may add or remove only rows naming
-- itself (its role less "parley_"), so no service subscribes another.
CREATE TABLE IF NOT EXISTS parley_shared.subscriptions (
    event_type text NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_.]{0,99}$'),
    service text NOT NULL CHECK (service ~ '^[A-Za-z0-9_.-]{1,64}$'),  -- the bus service the relay calls
    PRIMARY KEY (event_type, service)
);
CREATE OR REPLACE FUNCTION parley_shared.caller_service() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT CASE WHEN current_user::text LIKE 'parley\_%' THEN substr(current_user::text, 8) END $$;
ALTER TABLE parley_shared.subscriptions ENABLE ROW LEVEL SECURITY;
DO $subscriptions$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'parley_shared' AND tablename = 'subscriptions') THEN
        CREATE POLICY everyone_reads ON parley_shared.subscriptions FOR SELECT USING (true);
        CREATE POLICY own_added ON parley_shared.subscriptions FOR INSERT
            WITH CHECK (service = parley_shared.caller_service());
        CREATE POLICY own_removed ON parley_shared.subscriptions FOR DELETE
            USING (service = parley_shared.caller_service());
    END IF;
END
$subscriptions$;
-- parley_shared.subscribe(type, ...): the calling service takes these types
-- from now on (events written after its migration commits). Running it
-- again changes nothing.
CREATE OR REPLACE FUNCTION parley_shared.subscribe(VARIADIC p_types text[]) RETURNS void
    LANGUAGE plpgsql AS $subscribe$
BEGIN
    IF parley_shared.caller_service() IS NULL THEN
        RAISE EXCEPTION 'subscribe: % is not a service role (parley_<service>)', current_user;
    END IF;
    INSERT INTO parley_shared.subscriptions (event_type, service)
        SELECT t, parley_shared.caller_service() FROM unnest(p_types) AS t
        ON CONFLICT DO NOTHING;
END
$subscribe$;
-- Scheduling's calendars (issue 14): an exclusion constraint over
-- (owner_id uuid WITH =, during tstzrange WITH &&) needs btree_gist's uuid
-- operator class; service roles may not create extensions, so it is made
-- here, in parley_shared, whose USAGE every service role holds.
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA parley_shared;
DO $shared_grants$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['intake', 'matching', 'scheduling', 'notify', 'training', 'feedback']
    LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA parley_shared TO %I', 'parley_' || svc);
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA parley_shared TO %I', 'parley_' || svc);
        EXECUTE format('GRANT SELECT, INSERT, DELETE ON parley_shared.subscriptions TO %I', 'parley_' || svc);
    END LOOP;
END
$shared_grants$;
