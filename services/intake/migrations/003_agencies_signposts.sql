-- The directory of other agencies, and what each family was signposted to.

-- An agency may serve several authorities of the consortium: a caller sees
-- those serving any of its authorities, and may only name its own.
CREATE TABLE agencies (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    authority_ids uuid[] NOT NULL CHECK (cardinality(authority_ids) > 0),
    needs text[] NOT NULL DEFAULT '{}',
    languages text[] NOT NULL DEFAULT '{}',
    areas text[] NOT NULL DEFAULT '{}',
    email text,
    phone text,
    website text,
    address text,
    description text,
    created_by_client uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agencies_by_authority ON agencies USING gin (authority_ids);
CREATE INDEX agencies_by_created ON agencies (created_at, id);

ALTER TABLE agencies ENABLE ROW LEVEL SECURITY;
ALTER TABLE agencies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON agencies
    USING (authority_ids && current_authorities())
    WITH CHECK (authority_ids <@ current_authorities());

CREATE TABLE signposts (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    case_id uuid NOT NULL,
    agency_id uuid NOT NULL REFERENCES agencies (id),
    "on" date NOT NULL,
    method text NOT NULL,
    trigger_stage text,          -- set for automatic signposts
    note text,
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (case_id, authority_id) REFERENCES cases (id, authority_id) ON DELETE CASCADE
);
CREATE INDEX signposts_by_case ON signposts (case_id, created_at, id);
-- A stage signposts an agency automatically once per case.
CREATE UNIQUE INDEX signposts_automatic_once ON signposts (case_id, agency_id, trigger_stage)
    WHERE method = 'SIGNPOST_METHOD_AUTOMATIC';

ALTER TABLE signposts ENABLE ROW LEVEL SECURITY;
ALTER TABLE signposts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON signposts
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));
