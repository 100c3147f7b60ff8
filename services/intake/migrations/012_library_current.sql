-- A library and a directory that can be kept current (issue 12, item 4).

-- Retiring keeps the record (signposts name the agency, audit rows the
-- resource): it is no longer listed by default, signposted or due for review.
ALTER TABLE resources
    ADD COLUMN status text NOT NULL DEFAULT 'LISTING_STATUS_ACTIVE',
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN reviewed_on date,
    ADD COLUMN review_interval_months integer NOT NULL DEFAULT 12
        CHECK (review_interval_months BETWEEN 1 AND 60);
-- One active version of a leaflet per language and format: a retired one
-- no longer holds its key, so its replacement can be added.
DROP INDEX resources_one_version;
CREATE UNIQUE INDEX resources_one_version ON resources (consortium_id, key, lower(language), format)
    WHERE status = 'LISTING_STATUS_ACTIVE';

ALTER TABLE agencies
    ADD COLUMN status text NOT NULL DEFAULT 'LISTING_STATUS_ACTIVE',
    ADD COLUMN retired_at timestamptz;

-- An automatic signpost names every agency relevant to the child's needs,
-- marked with whether it works in a parent's language.
ALTER TABLE signposts ADD COLUMN serves_language boolean;

-- A caller serving one of an agency's authorities may change the agency
-- (PATCH changes only the authorities it serves, keeping the others):
-- the update keeps at least one of them, so the caller still sees it.
-- Adding one still names only the caller's authorities.
DROP POLICY tenant ON agencies;
CREATE POLICY tenant_read ON agencies FOR SELECT USING (authority_ids && current_authorities());
CREATE POLICY tenant_insert ON agencies FOR INSERT WITH CHECK (authority_ids <@ current_authorities());
CREATE POLICY tenant_update ON agencies FOR UPDATE
    USING (authority_ids && current_authorities())
    WITH CHECK (authority_ids && current_authorities());
-- Nothing deletes an agency (retire it); the policy covers the command all
-- the same, as the original one did.
CREATE POLICY tenant_delete ON agencies FOR DELETE USING (authority_ids <@ current_authorities());
