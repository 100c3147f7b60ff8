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
