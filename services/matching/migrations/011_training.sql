-- Training (issue 15): a supporter whose training lapsed may not be offered
-- families. The training service says so in training.status_changed
-- (services/matching/events.c), and the supporter keeps what it said:
-- training_reason, why they are not up to date (NULL: no objection, also
-- for a supporter training never told matching about), and
-- training_version, the person's standing version the reason is from, so
-- that an older event arriving after a newer one changes nothing.
ALTER TABLE supporters ADD COLUMN training_reason text,
                       ADD COLUMN training_version integer NOT NULL DEFAULT 0;

-- A supporter whose training is renewed is capacity appearing: the
-- sweeper tries waiting families again (as for any change that can make
-- a supporter eligible).
DROP TRIGGER supporter_changed ON supporters;
CREATE TRIGGER supporter_changed AFTER UPDATE ON supporters FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.vetting_expires_on IS DISTINCT FROM OLD.vetting_expires_on
          OR NEW.authority_ids IS DISTINCT FROM OLD.authority_ids OR NEW.languages IS DISTINCT FROM OLD.languages
          OR NEW.specialisms IS DISTINCT FROM OLD.specialisms OR NEW.areas IS DISTINCT FROM OLD.areas
          OR NEW.home_postcode IS DISTINCT FROM OLD.home_postcode
          OR NEW.training_reason IS DISTINCT FROM OLD.training_reason)
    EXECUTE FUNCTION capacity_appeared();
