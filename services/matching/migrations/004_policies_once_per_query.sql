-- Row-level security, evaluated once per query: current_authorities() reads
-- and casts a setting, and inside the policy it ran for every row (twice
-- the work of ranking 10,000 supporters). As an uncorrelated sub-select it
-- becomes an InitPlan, computed once per statement; the bound is the same.
DROP POLICY tenant ON supporters;
CREATE POLICY tenant ON supporters
    USING (authority_ids && (SELECT current_authorities()))
    WITH CHECK (authority_ids && (SELECT current_authorities()));

DROP POLICY tenant ON case_profiles;
CREATE POLICY tenant ON case_profiles
    USING (authority_id = ANY ((SELECT current_authorities())::uuid[]))
    WITH CHECK (authority_id = ANY ((SELECT current_authorities())::uuid[]));

DROP POLICY tenant ON match_requests;
CREATE POLICY tenant ON match_requests
    USING (authority_id = ANY ((SELECT current_authorities())::uuid[]))
    WITH CHECK (authority_id = ANY ((SELECT current_authorities())::uuid[]));

DROP POLICY tenant ON offers;
CREATE POLICY tenant ON offers
    USING (authority_id = ANY ((SELECT current_authorities())::uuid[]))
    WITH CHECK (authority_id = ANY ((SELECT current_authorities())::uuid[]));

DROP POLICY tenant ON assignments;
CREATE POLICY tenant ON assignments
    USING (authority_id = ANY ((SELECT current_authorities())::uuid[]))
    WITH CHECK (authority_id = ANY ((SELECT current_authorities())::uuid[]));
