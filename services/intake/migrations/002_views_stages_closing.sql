-- The child's views and wishes, the SEN process stages of a case, consent
-- withdrawal and closing.

ALTER TABLE cases
    ADD COLUMN stage text,                 -- the stage with the latest date (kept by the service)
    ADD COLUMN outcome text,
    ADD COLUMN close_reason text,
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN consent_withdrawn_at timestamptz,
    ADD COLUMN consent_withdrawal_reason text,
    ADD COLUMN consent_withdrawn_by text,
    ADD UNIQUE (id, authority_id);

CREATE INDEX cases_by_authority_stage ON cases (authority_id, stage);

CREATE TABLE child_views (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    child_id uuid NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    recorded_on date NOT NULL,
    method text NOT NULL,
    summary text NOT NULL,
    wishes text,
    recorded_by text NOT NULL,
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX child_views_by_child ON child_views (child_id, created_at, id);

-- annual_review, mediation and tribunal_appeal recur; every other stage
-- happens once per case (a second POST moves its date).
CREATE TABLE case_stages (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    case_id uuid NOT NULL,
    stage text NOT NULL,
    "on" date NOT NULL,
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (case_id, authority_id) REFERENCES cases (id, authority_id) ON DELETE CASCADE
);
CREATE INDEX case_stages_by_case ON case_stages (case_id, "on");
CREATE UNIQUE INDEX case_stages_once ON case_stages (case_id, stage)
    WHERE stage NOT IN ('SEN_STAGE_ANNUAL_REVIEW', 'SEN_STAGE_MEDIATION', 'SEN_STAGE_TRIBUNAL_APPEAL');

ALTER TABLE child_views ENABLE ROW LEVEL SECURITY;
ALTER TABLE child_views FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON child_views
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

ALTER TABLE case_stages ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_stages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON case_stages
    USING (authority_id = ANY (current_authorities()))
    WITH CHECK (authority_id = ANY (current_authorities()));

-- The daily deadline sweep reads every authority's open cases, their stages
-- and the family's languages for the event it emits (and nothing else). Only the sweep (services/intake/sweep.c) sets
-- parley.sweep, transaction-locally; request handlers never do, so for them
-- the tenant policy alone applies.
CREATE FUNCTION sweeping() RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(current_setting('parley.sweep', true), '') = 'on' $$;
CREATE POLICY sweep_read ON cases FOR SELECT USING (sweeping());
CREATE POLICY sweep_read ON case_stages FOR SELECT USING (sweeping());
CREATE POLICY sweep_read ON children FOR SELECT USING (sweeping());
CREATE POLICY sweep_read ON parents FOR SELECT USING (sweeping());
