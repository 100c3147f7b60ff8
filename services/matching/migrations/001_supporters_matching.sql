-- Supporters, what matching knows of each case, match requests, offers and
-- assignments.
--
-- Tenancy: tenant tables are under row-level security keyed on the
-- transaction-local setting parley.authority_ids (db_tx_begin sets it from
-- the caller's principal); FORCE applies the policy to parley_matching, the
-- role this service connects as. Supporters are shared across a consortium
-- but each serves a set of authorities: a supporter row is visible when it
-- serves any of the caller's authorities.
--
-- Never over capacity: supporter_places holds each supporter's capacity and
-- the counts of active assignments and pending offers, kept by triggers on
-- assignments and offers, with CHECK (active <= capacity). Accepting an
-- offer locks the supporter's row here (SELECT ... FOR UPDATE) and compares
-- in the same transaction; the CHECK holds even for a code path that forgot
-- to, whatever the number of matching instances. The table carries ids and
-- counts only, and no row-level security: ending an assignment must free
-- the place even after the supporter stopped serving that authority.

CREATE FUNCTION current_authorities() RETURNS uuid[]
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('parley.authority_ids', true), ''), '{}')::uuid[] $$;

-- The authorities matching has seen, with their consortium where known: the
-- sweeper acts for all of them. Ids only.
CREATE TABLE known_authorities (
    authority_id uuid PRIMARY KEY,
    consortium_id uuid,
    first_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE supporters (
    id uuid PRIMARY KEY,
    consortium_id uuid NOT NULL,
    given_name text NOT NULL,
    family_name text NOT NULL,
    email text,
    phone text,
    authority_ids uuid[] NOT NULL CHECK (cardinality(authority_ids) BETWEEN 1 AND 100),
    areas text[] NOT NULL DEFAULT '{}',
    languages text[] NOT NULL CHECK (cardinality(languages) >= 1),
    specialisms text[] NOT NULL DEFAULT '{}',
    vetting_expires_on date,
    status text NOT NULL,
    home_postcode text,
    created_by_client uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supporters_by_authority ON supporters USING gin (authority_ids);
CREATE INDEX supporters_by_created ON supporters (created_at, id);

CREATE TABLE supporter_places (
    supporter_id uuid PRIMARY KEY REFERENCES supporters (id) ON DELETE CASCADE,
    capacity integer NOT NULL CHECK (capacity BETWEEN 0 AND 50),
    active integer NOT NULL DEFAULT 0 CHECK (active >= 0),
    pending integer NOT NULL DEFAULT 0 CHECK (pending >= 0),
    CONSTRAINT never_over_capacity CHECK (active <= capacity)
);

-- What matching knows of a case: from case.supporter_requested, or fetched
-- from intake with the caller's principal. Only what ranking needs.
CREATE TABLE case_profiles (
    case_id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    family_id uuid NOT NULL,
    child_id uuid,
    languages text[] NOT NULL DEFAULT '{}',
    communication_needs text[] NOT NULL DEFAULT '{}',
    child_needs text[] NOT NULL DEFAULT '{}',
    case_needs text[] NOT NULL DEFAULT '{}',
    child_date_of_birth date,
    postcode text,
    requested_at timestamptz,
    source text NOT NULL CHECK (source IN ('event', 'intake')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE match_requests (
    id uuid PRIMARY KEY,
    consortium_id uuid,
    authority_id uuid NOT NULL,
    case_id uuid NOT NULL REFERENCES case_profiles (case_id),
    family_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('offered', 'waiting', 'matched')),
    pref_languages text[] NOT NULL DEFAULT '{}',
    pref_require_language boolean NOT NULL DEFAULT false,
    pref_specialisms text[] NOT NULL DEFAULT '{}',
    pref_exclude uuid[] NOT NULL DEFAULT '{}',
    waiting_since timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    source text NOT NULL CHECK (source IN ('api', 'event')),
    created_by_client uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One open request per case, however many instances race to make one.
CREATE UNIQUE INDEX one_open_request_per_case ON match_requests (case_id) WHERE status IN ('offered', 'waiting');
CREATE INDEX waiting_requests ON match_requests (waiting_since, id) WHERE status = 'waiting';
CREATE INDEX requests_by_authority ON match_requests (authority_id, status);

CREATE TABLE offers (
    id uuid PRIMARY KEY,
    match_request_id uuid NOT NULL REFERENCES match_requests (id),
    authority_id uuid NOT NULL,
    case_id uuid NOT NULL,
    supporter_id uuid NOT NULL REFERENCES supporters (id),
    status text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    score integer NOT NULL,
    reasons jsonb NOT NULL,
    offered_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL,
    answered_at timestamptz,
    answer_reason text,
    assignment_id uuid
);
CREATE UNIQUE INDEX one_pending_offer_per_request ON offers (match_request_id) WHERE status = 'pending';
CREATE INDEX offers_due ON offers (expires_at) WHERE status = 'pending';
CREATE INDEX offers_by_request ON offers (match_request_id, offered_at);

CREATE TABLE assignments (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    supporter_id uuid NOT NULL REFERENCES supporters (id),
    case_id uuid NOT NULL,
    family_id uuid NOT NULL,
    match_request_id uuid NOT NULL REFERENCES match_requests (id),
    offer_id uuid NOT NULL REFERENCES offers (id),
    status text NOT NULL CHECK (status IN ('active', 'ended')),
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at timestamptz,
    end_reason text,
    version integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX one_active_assignment_per_case ON assignments (case_id) WHERE status = 'active';
CREATE INDEX assignments_by_supporter ON assignments (supporter_id, started_at, id);
CREATE INDEX assignments_by_family ON assignments (family_id);
CREATE INDEX assignments_by_case ON assignments (case_id, started_at, id);

-- Each consortium's weights; absent: the defaults in services/matching/scoring.c.
CREATE TABLE weights (
    consortium_id uuid PRIMARY KEY,
    language integer NOT NULL CHECK (language BETWEEN 0 AND 100),
    specialism integer NOT NULL CHECK (specialism BETWEEN 0 AND 100),
    continuity integer NOT NULL CHECK (continuity BETWEEN 0 AND 100),
    proximity integer NOT NULL CHECK (proximity BETWEEN 0 AND 100),
    capacity integer NOT NULL CHECK (capacity BETWEEN 0 AND 100),
    fairness integer NOT NULL CHECK (fairness BETWEEN 0 AND 100),
    waiting_per_week integer NOT NULL CHECK (waiting_per_week BETWEEN 0 AND 100),
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- When capacity last appeared anywhere (an assignment ended, an offer was
-- answered, a supporter joined, became eligible or took more families):
-- the sweeper matches waiting requests again when it is newer than their
-- last attempt. One row.
CREATE TABLE capacity_signal (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO capacity_signal DEFAULT VALUES;

-- ---- triggers: the counts, the signal, the authorities seen -------------------

CREATE FUNCTION offers_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status = 'pending' THEN
        UPDATE supporter_places SET pending = pending + 1 WHERE supporter_id = NEW.supporter_id;
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'pending' AND NEW.status <> 'pending' THEN
        UPDATE supporter_places SET pending = pending - 1 WHERE supporter_id = OLD.supporter_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER offers_count AFTER INSERT OR UPDATE OF status ON offers FOR EACH ROW EXECUTE FUNCTION offers_count();

CREATE FUNCTION assignments_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status = 'active' THEN
        UPDATE supporter_places SET active = active + 1 WHERE supporter_id = NEW.supporter_id;
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'active' AND NEW.status <> 'active' THEN
        UPDATE supporter_places SET active = active - 1 WHERE supporter_id = OLD.supporter_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER assignments_count AFTER INSERT OR UPDATE OF status ON assignments
    FOR EACH ROW EXECUTE FUNCTION assignments_count();

CREATE FUNCTION capacity_appeared() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE capacity_signal SET changed_at = clock_timestamp();
    RETURN NULL;
END $$;
CREATE TRIGGER places_grew AFTER UPDATE ON supporter_places FOR EACH ROW
    WHEN (NEW.capacity - NEW.active - NEW.pending > OLD.capacity - OLD.active - OLD.pending)
    EXECUTE FUNCTION capacity_appeared();
CREATE TRIGGER places_new AFTER INSERT ON supporter_places FOR EACH ROW EXECUTE FUNCTION capacity_appeared();
CREATE TRIGGER supporter_changed AFTER UPDATE ON supporters FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.vetting_expires_on IS DISTINCT FROM OLD.vetting_expires_on
          OR NEW.authority_ids IS DISTINCT FROM OLD.authority_ids OR NEW.languages IS DISTINCT FROM OLD.languages
          OR NEW.specialisms IS DISTINCT FROM OLD.specialisms OR NEW.areas IS DISTINCT FROM OLD.areas
          OR NEW.home_postcode IS DISTINCT FROM OLD.home_postcode)
    EXECUTE FUNCTION capacity_appeared();

CREATE FUNCTION authorities_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'supporters' THEN
        INSERT INTO known_authorities (authority_id, consortium_id)
            SELECT a, NEW.consortium_id FROM unnest(NEW.authority_ids) AS a
            ON CONFLICT (authority_id) DO UPDATE
                SET consortium_id = coalesce(known_authorities.consortium_id, excluded.consortium_id)
                WHERE known_authorities.consortium_id IS NULL;
    ELSE
        INSERT INTO known_authorities (authority_id, consortium_id) VALUES (NEW.authority_id, NEW.consortium_id)
            ON CONFLICT (authority_id) DO UPDATE
                SET consortium_id = coalesce(known_authorities.consortium_id, excluded.consortium_id)
                WHERE known_authorities.consortium_id IS NULL AND excluded.consortium_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER supporters_seen AFTER INSERT OR UPDATE OF authority_ids ON supporters
    FOR EACH ROW EXECUTE FUNCTION authorities_seen();
CREATE TRIGGER requests_seen AFTER INSERT ON match_requests FOR EACH ROW EXECUTE FUNCTION authorities_seen();

-- ---- row-level security ------------------------------------------------------------

ALTER TABLE supporters ENABLE ROW LEVEL SECURITY;
ALTER TABLE supporters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON supporters
    USING (authority_ids && current_authorities())
    WITH CHECK (authority_ids && current_authorities());

ALTER TABLE case_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON case_profiles
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE match_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE match_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON match_requests
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE offers ENABLE ROW LEVEL SECURITY;
ALTER TABLE offers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON offers
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON assignments
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));
