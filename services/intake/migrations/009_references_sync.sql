-- An API client's own reference for what it registered (its case number),
-- and the order a partner syncs changes in.
--
-- external_reference is optional, at most 100 characters, set when the
-- family or case is created and unique among those one client created
-- (created_by_client, which the transaction's principal fills): a second
-- create with the same reference is refused (services/intake: 409
-- duplicate_reference naming the first). It is shown only to that client
-- (caller_client()). No new table: the row-level security of families and
-- cases covers the columns.
ALTER TABLE families ADD COLUMN external_reference text
    CHECK (char_length(external_reference) BETWEEN 1 AND 100);
ALTER TABLE cases ADD COLUMN external_reference text
    CHECK (char_length(external_reference) BETWEEN 1 AND 100);
CREATE UNIQUE INDEX families_client_reference ON families (created_by_client, external_reference)
    WHERE external_reference IS NOT NULL;
CREATE UNIQUE INDEX cases_client_reference ON cases (created_by_client, external_reference)
    WHERE external_reference IS NOT NULL;

-- Lists in the order things last changed (updatedSince): keyset-paged on
-- (updated_at, id), as the created order is on (created_at, id).
CREATE INDEX families_updated ON families (updated_at, id);
CREATE INDEX cases_updated ON cases (updated_at, id);
CREATE INDEX families_client_created ON families (created_by_client, created_at, id);

-- The API client of the transaction (db_tx_begin sets parley.client_id), or
-- NULL: whose references a statement may show.
CREATE FUNCTION caller_client() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('parley.client_id', true), '')::uuid $$;
