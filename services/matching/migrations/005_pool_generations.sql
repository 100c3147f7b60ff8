-- What lets each matching process cache the supporters' static facts per
-- authority (services/matching/pool_cache.c): a generation per authority,
-- bumped in the transaction of any change to a supporter serving it, and
-- the authorities copied onto supporter_places, so that the places, read
-- fresh on every ranking, come from narrow rows. Ids and counts only.

ALTER TABLE supporter_places ADD COLUMN authority_ids uuid[] NOT NULL DEFAULT '{}';
-- The copy of rows already there: the owner reads supporters past row-level
-- security for the length of this statement only.
ALTER TABLE supporters NO FORCE ROW LEVEL SECURITY;
UPDATE supporter_places p SET authority_ids = s.authority_ids FROM supporters s WHERE s.id = p.supporter_id;
ALTER TABLE supporters FORCE ROW LEVEL SECURITY;
CREATE INDEX places_by_authority ON supporter_places USING gin (authority_ids);

CREATE TABLE pool_generations (
    authority_id uuid PRIMARY KEY,
    generation bigint NOT NULL DEFAULT 1
);

-- A supporter's places row starts with the supporter's authorities (the
-- writer sees the supporter: it has just added it).
CREATE FUNCTION places_authorities() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    SELECT coalesce(authority_ids, '{}') INTO NEW.authority_ids FROM supporters WHERE id = NEW.supporter_id;
    NEW.authority_ids := coalesce(NEW.authority_ids, '{}');
    RETURN NEW;
END $$;
CREATE TRIGGER places_authorities BEFORE INSERT ON supporter_places
    FOR EACH ROW EXECUTE FUNCTION places_authorities();

CREATE FUNCTION supporters_generation() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    ids uuid[] := '{}';
BEGIN
    IF TG_OP <> 'INSERT' THEN ids := OLD.authority_ids; END IF;
    IF TG_OP <> 'DELETE' THEN ids := ids || NEW.authority_ids; END IF;
    IF TG_OP = 'UPDATE' AND NEW.authority_ids IS DISTINCT FROM OLD.authority_ids THEN
        UPDATE supporter_places SET authority_ids = NEW.authority_ids WHERE supporter_id = NEW.id;
    END IF;
    INSERT INTO pool_generations (authority_id)
        SELECT DISTINCT a FROM unnest(ids) AS a ORDER BY a
        ON CONFLICT (authority_id) DO UPDATE SET generation = pool_generations.generation + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER supporters_generation AFTER INSERT OR UPDATE OR DELETE ON supporters
    FOR EACH ROW EXECUTE FUNCTION supporters_generation();
