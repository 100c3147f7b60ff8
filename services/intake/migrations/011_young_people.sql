-- Young people aged 16 to 25 as clients in their own right (issue 12,
-- item 2): their own record, the parents they agreed may take part, their
-- own views, and a case whose client is either a family's child or a young
-- person.
--
-- Every new table carries authority_id under the same FORCEd tenant policy
-- as the tables of 001 (current_authorities(), set by db_tx_begin), so the
-- service's own role is bound too.

CREATE TABLE young_people (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    given_name text NOT NULL,
    family_name text NOT NULL,
    date_of_birth date NOT NULL,
    email text,
    phone text,
    address_line1 text,
    address_line2 text,
    town text,
    postcode text,
    -- NULL: not recorded (read back as `unknown`, never taken for English).
    preferred_language text,
    communication_needs text[] NOT NULL DEFAULT '{}',
    -- The DfE types of SEN ('SEN_TYPE_ASD'), and each one's detail in words
    -- ('' for none), as a child's needs are (014).
    needs text[] NOT NULL DEFAULT '{}',
    need_details text[] NOT NULL DEFAULT '{}' CHECK (cardinality(need_details) = cardinality(needs)),
    plan_status text,
    school_urn text CHECK (school_urn ~ '^[0-9]{6}$'),
    school_name text,
    external_reference text CHECK (char_length(external_reference) BETWEEN 1 AND 100),
    -- Who registered them (a partner agency opens cases only for its own).
    created_by_client uuid DEFAULT nullif(current_setting('parley.client_id', true), '')::uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, authority_id)
);
CREATE UNIQUE INDEX young_people_client_reference ON young_people (created_by_client, external_reference)
    WHERE external_reference IS NOT NULL;
CREATE INDEX young_people_client_created ON young_people (created_by_client, created_at, id);

-- A parent takes part only with the young person's agreement, recorded;
-- withdrawing it removes the row.
CREATE TABLE young_person_parents (
    id uuid PRIMARY KEY,
    young_person_id uuid NOT NULL,
    authority_id uuid NOT NULL,
    given_name text NOT NULL,
    family_name text NOT NULL,
    email text,
    phone text,
    preferred_language text,
    communication_needs text[] NOT NULL DEFAULT '{}',
    relationship text,
    agreement_recorded_on date NOT NULL,
    agreement_how text NOT NULL,
    agreement_recorded_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (young_person_id, authority_id) REFERENCES young_people (id, authority_id) ON DELETE CASCADE
);
CREATE INDEX young_person_parents_by_person ON young_person_parents (young_person_id, created_at, id);

CREATE TABLE young_person_views (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    young_person_id uuid NOT NULL,
    recorded_on date NOT NULL,
    method text NOT NULL,
    summary text NOT NULL,
    wishes text,
    recorded_by text NOT NULL,
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (young_person_id, authority_id) REFERENCES young_people (id, authority_id) ON DELETE CASCADE
);
CREATE INDEX young_person_views_by_person ON young_person_views (young_person_id, created_at, id);

-- A case's client: a family's child (family_id and child_id, as before) or
-- a young person (young_person_id), exactly one.
ALTER TABLE cases
    ALTER COLUMN family_id DROP NOT NULL,
    ALTER COLUMN child_id DROP NOT NULL,
    ADD COLUMN young_person_id uuid,
    ADD FOREIGN KEY (young_person_id, authority_id) REFERENCES young_people (id, authority_id),
    ADD CONSTRAINT cases_one_client CHECK (
        (family_id IS NOT NULL AND child_id IS NOT NULL AND young_person_id IS NULL)
        OR (family_id IS NULL AND child_id IS NULL AND young_person_id IS NOT NULL));
CREATE INDEX cases_by_young_person ON cases (young_person_id) WHERE young_person_id IS NOT NULL;

ALTER TABLE young_people ENABLE ROW LEVEL SECURITY;
ALTER TABLE young_people FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON young_people
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE young_person_parents ENABLE ROW LEVEL SECURITY;
ALTER TABLE young_person_parents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON young_person_parents
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE young_person_views ENABLE ROW LEVEL SECURITY;
ALTER TABLE young_person_views FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON young_person_views
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

-- The deadline sweep reads a young person's language for the event it
-- emits about their case, as it reads parents' (002).
CREATE POLICY sweep_read ON young_people FOR SELECT USING (sweeping());
