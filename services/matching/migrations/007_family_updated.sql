-- Intake's family.updated event (a caseworker changed a family): matching
-- refreshes the facts it keeps of each of the family's cases. The family's
-- version (bumped by intake with each change, under the family's row lock)
-- orders the copies: a profile records the version its facts came from, and
-- an older event arriving late changes nothing.
ALTER TABLE case_profiles ADD COLUMN family_version integer;

-- The newest family.updated data per family, so that a case whose
-- case.supporter_requested arrives after a newer family.updated (events
-- about different subjects may overtake each other) still gets the newer
-- facts.
CREATE TABLE family_facts (
    family_id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    family_version integer NOT NULL,
    data jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_profiles_by_family ON case_profiles (family_id);

ALTER TABLE family_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE family_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON family_facts
    USING (authority_id = ANY ((SELECT current_authorities())::uuid[]))
    WITH CHECK (authority_id = ANY ((SELECT current_authorities())::uuid[]));
