-- Checks made inside the statement that acts, so that a create waits for no
-- round trip of its own before it (services/intake/cases.c: a case names its
-- family, child and referring agency). svc_violation raises PV400 with the
-- API field in the diagnostic's column name; lib/svc answers it as a 400 on
-- that field (DB_SQLSTATE_VIOLATION) and the transaction is rolled back.
CREATE FUNCTION svc_violation(field text, message text) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PV400', MESSAGE = message, COLUMN = field;
END
$$;
