-- The trigger functions name matching's tables without a schema, which
-- resolved only through parley_matching's search_path: pin it on each
-- function, so that a row written by anyone (an operator as superuser, the
-- bench seeding supporters) keeps the counts, the signal and the known
-- authorities right.
ALTER FUNCTION offers_count() SET search_path FROM CURRENT;
ALTER FUNCTION assignments_count() SET search_path FROM CURRENT;
ALTER FUNCTION capacity_appeared() SET search_path FROM CURRENT;
ALTER FUNCTION authorities_seen() SET search_path FROM CURRENT;
