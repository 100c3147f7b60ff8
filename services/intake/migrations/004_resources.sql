-- The information library. A resource belongs to a consortium; with no
-- authority_ids it is for all of the consortium's authorities, with some it
-- is local information for those. Translations and accessible formats of
-- one leaflet share its key.

CREATE FUNCTION current_consortium() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('parley.consortium_id', true), '')::uuid $$;

CREATE TABLE resources (
    id uuid PRIMARY KEY,
    consortium_id uuid NOT NULL,
    authority_ids uuid[] NOT NULL DEFAULT '{}',
    key text NOT NULL,
    title text NOT NULL,
    topic text NOT NULL,
    language text NOT NULL,
    format text NOT NULL,
    url text,
    body text,
    summary text,
    review_due_on date NOT NULL,
    created_by_client uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (url IS NOT NULL OR body IS NOT NULL)
);
CREATE UNIQUE INDEX resources_one_version ON resources (consortium_id, key, lower(language), format);
CREATE INDEX resources_by_created ON resources (consortium_id, created_at, id);
CREATE INDEX resources_by_review ON resources (consortium_id, review_due_on);

ALTER TABLE resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE resources FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON resources
    USING (consortium_id = current_consortium()
           AND (authority_ids = '{}' OR authority_ids && current_authorities()))
    WITH CHECK (consortium_id = current_consortium() AND authority_ids <@ current_authorities());
