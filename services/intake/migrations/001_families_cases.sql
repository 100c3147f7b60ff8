-- Families, everyone with parental responsibility, children, and cases.
--
-- Every table carries authority_id and is under row-level security keyed on
-- the transaction-local setting parley.authority_ids (set by db_tx_begin from
-- the caller's principal). FORCE applies the policy to the owning role too,
-- which is the role the intake service connects as.

CREATE FUNCTION current_authorities() RETURNS uuid[]
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('parley.authority_ids', true), ''), '{}')::uuid[] $$;

CREATE TABLE families (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, authority_id)
);

CREATE TABLE parents (
    id uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    authority_id uuid NOT NULL,
    position integer NOT NULL,
    given_name text NOT NULL,
    family_name text NOT NULL,
    email text,
    phone text,
    address_line1 text,
    address_line2 text,
    town text,
    postcode text,
    preferred_language text,
    communication_needs text[] NOT NULL DEFAULT '{}',
    has_parental_responsibility boolean NOT NULL,
    relationship text,
    FOREIGN KEY (family_id, authority_id) REFERENCES families (id, authority_id) ON DELETE CASCADE,
    UNIQUE (family_id, position)
);

CREATE TABLE children (
    id uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    authority_id uuid NOT NULL,
    position integer NOT NULL,
    given_name text NOT NULL,
    family_name text NOT NULL,
    date_of_birth date NOT NULL,
    school_urn text CHECK (school_urn ~ '^[0-9]{6}$'),
    school_name text,
    needs text[] NOT NULL DEFAULT '{}',
    plan_status text,
    FOREIGN KEY (family_id, authority_id) REFERENCES families (id, authority_id) ON DELETE CASCADE,
    UNIQUE (family_id, position),
    UNIQUE (id, family_id)
);

CREATE TABLE cases (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    family_id uuid NOT NULL,
    child_id uuid NOT NULL,
    source text NOT NULL,
    referrer_agency_id uuid,
    needs text[] NOT NULL,
    wants_supporter boolean NOT NULL,
    summary text,
    consent_share boolean NOT NULL,
    consent_basis text NOT NULL,
    consent_given_by text,
    consent_given_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'CASE_STATUS_OPEN',
    created_by_client uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (family_id, authority_id) REFERENCES families (id, authority_id),
    FOREIGN KEY (child_id, family_id) REFERENCES children (id, family_id)
);

-- Lists page by (created_at, id) within an authority.
CREATE INDEX cases_by_authority_created ON cases (authority_id, created_at, id);
CREATE INDEX parents_by_family ON parents (family_id);
CREATE INDEX children_by_family ON children (family_id);

ALTER TABLE families ENABLE ROW LEVEL SECURITY;
ALTER TABLE families FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON families
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE parents ENABLE ROW LEVEL SECURITY;
ALTER TABLE parents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON parents
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE children ENABLE ROW LEVEL SECURITY;
ALTER TABLE children FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON children
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE cases FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON cases
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));
