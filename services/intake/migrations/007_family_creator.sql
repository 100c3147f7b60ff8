-- Which API client registered each family: a partner agency may open cases
-- only on families its own client registered (services/intake/cases.c).
-- The default reads the transaction's principal (db_tx_begin sets
-- parley.client_id), so no insert can leave it out or name another client.
-- Families registered before this migration get NULL (the setting is empty
-- while migrations run): no partner agency may open a case on them.
ALTER TABLE families ADD COLUMN created_by_client uuid
    DEFAULT nullif(current_setting('parley.client_id', true), '')::uuid;
