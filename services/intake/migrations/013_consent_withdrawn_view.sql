-- Partners see what consent allows (issue 12, item 3). Once a family
-- withdraws consent to share, the referring partner's view of the case
-- (GET /v1/referrals, /v1/referrals/{id}, its GET /v1/cases/{id}) shrinks
-- to the ids, consentWithdrawn and the dates, and stops moving: its
-- updatedAt is the withdrawal's and its version the one the withdrawal
-- gave the case (kept here), so that nothing staff do afterwards shows.
ALTER TABLE cases ADD COLUMN consent_withdrawn_version integer;
-- Cases withdrawn before this: the version they have now is the best known.
-- The owner updates every authority's rows past row-level security for this
-- statement only (within the migration's transaction).
ALTER TABLE cases NO FORCE ROW LEVEL SECURITY;
UPDATE cases SET consent_withdrawn_version = version
 WHERE consent_withdrawn_at IS NOT NULL AND consent_withdrawn_version IS NULL;
ALTER TABLE cases FORCE ROW LEVEL SECURITY;
-- A partner's sync of its referrals pages on (the partner's updatedAt, id).
CREATE INDEX cases_client_created ON cases (created_by_client, created_at, id);

-- A partner reads back its own fields only: of a family it registered, the
-- children it registered, not one staff add later (a PATCH). Which client
-- added each child is taken from the transaction's principal, as for
-- families (007). Children from before this: their family's registrant,
-- the best known.
ALTER TABLE children ADD COLUMN created_by_client uuid
    DEFAULT nullif(current_setting('parley.client_id', true), '')::uuid;
ALTER TABLE children NO FORCE ROW LEVEL SECURITY;
ALTER TABLE families NO FORCE ROW LEVEL SECURITY;
UPDATE children c SET created_by_client = f.created_by_client
  FROM families f WHERE f.id = c.family_id AND c.created_by_client IS NULL;
ALTER TABLE families FORCE ROW LEVEL SECURITY;
ALTER TABLE children FORCE ROW LEVEL SECURITY;
