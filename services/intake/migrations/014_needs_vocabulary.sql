-- One vocabulary of needs (issue 12, item 5): a child's and an agency's
-- needs are DfE types of SEN (parley.common.v1.SenType, stored as the enum's
-- proto names, 'SEN_TYPE_ASD', as every enum here is) with the detail in
-- words beside them. needs holds the types; need_details, of the same
-- length, each need's detail ('' for none).
--
-- The free text stored before is coded by its words (sen_type_of_text) and
-- kept whole as the detail, so nothing written is lost: 'autism' becomes
-- asd with detail 'autism', 'sleep' oth with detail 'sleep'.
-- The DfE type of SEN that free text names, as a stored enum name
-- ('SEN_TYPE_ASD'): the rules of lib/svc/sen_type.h in the same order (the
-- whole words first, in the order they appear, then the stems), so that a
-- stored need reads as a new one sent as a plain string would.
-- tests/e2e/test_68_needs_migration.py checks that the two agree.
CREATE FUNCTION sen_type_of_text(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    WITH low AS (SELECT lower(left(coalesce(t, ''), 255)) AS s),
    words AS (
        SELECT CASE w
                   WHEN 'spld' THEN 'SPLD' WHEN 'mld' THEN 'MLD' WHEN 'sld' THEN 'SLD' WHEN 'pmld' THEN 'PMLD'
                   WHEN 'semh' THEN 'SEMH' WHEN 'slcn' THEN 'SLCN' WHEN 'hi' THEN 'HI' WHEN 'vi' THEN 'VI'
                   WHEN 'msi' THEN 'MSI' WHEN 'pd' THEN 'PD' WHEN 'asd' THEN 'ASD' WHEN 'oth' THEN 'OTH'
                   WHEN 'nsa' THEN 'NSA' WHEN 'asc' THEN 'ASD' WHEN 'adhd' THEN 'SEMH' WHEN 'salt' THEN 'SLCN'
                   WHEN 'deaf' THEN 'HI' WHEN 'blind' THEN 'VI'
               END AS code, i
        FROM low, regexp_split_to_table(low.s, '[^a-z0-9]+') WITH ORDINALITY AS x(w, i)
    ),
    stems(stem, code, k) AS (VALUES
        ('multi-sensory', 'MSI', 1), ('multisensory', 'MSI', 2), ('deafblind', 'MSI', 3),
        ('profound', 'PMLD', 4), ('severe learning', 'SLD', 5), ('moderate learning', 'MLD', 6),
        ('dyslexi', 'SPLD', 7), ('dyspraxi', 'SPLD', 8), ('dyscalculi', 'SPLD', 9),
        ('specific learning', 'SPLD', 10), ('autis', 'ASD', 11), ('asperger', 'ASD', 12),
        ('speech', 'SLCN', 13), ('language', 'SLCN', 14), ('communication', 'SLCN', 15),
        ('stammer', 'SLCN', 16), ('hearing', 'HI', 17), ('deaf', 'HI', 18),
        ('vision', 'VI', 19), ('visual', 'VI', 20), ('sight', 'VI', 21),
        ('blind', 'VI', 22), ('emotional', 'SEMH', 23), ('mental health', 'SEMH', 24),
        ('anxiety', 'SEMH', 25), ('behaviour', 'SEMH', 26), ('behavior', 'SEMH', 27),
        ('attachment', 'SEMH', 28), ('attention deficit', 'SEMH', 29), ('hyperactiv', 'SEMH', 30),
        ('physical', 'PD', 31), ('mobility', 'PD', 32), ('cerebral palsy', 'PD', 33),
        ('wheelchair', 'PD', 34), ('learning', 'MLD', 35), ('down syndrome', 'MLD', 36),
        ('developmental delay', 'MLD', 37))
    SELECT 'SEN_TYPE_' || coalesce(
        (SELECT code FROM words WHERE code IS NOT NULL ORDER BY i LIMIT 1),
        (SELECT code FROM stems, low WHERE strpos(low.s, stem) > 0 ORDER BY k LIMIT 1),
        'OTH')
    $$;

ALTER TABLE children ADD COLUMN need_details text[] NOT NULL DEFAULT '{}';
ALTER TABLE agencies ADD COLUMN need_details text[] NOT NULL DEFAULT '{}';

-- Every authority's rows, past row-level security for these two statements
-- only (within the migration's transaction): under FORCE the owner would
-- see none of them and code nothing.
ALTER TABLE children NO FORCE ROW LEVEL SECURITY;
ALTER TABLE agencies NO FORCE ROW LEVEL SECURITY;
UPDATE children SET need_details = needs,
    needs = ARRAY(SELECT sen_type_of_text(n) FROM unnest(needs) WITH ORDINALITY AS u(n, i) ORDER BY i)
    WHERE needs <> '{}';
UPDATE agencies SET need_details = needs,
    needs = ARRAY(SELECT sen_type_of_text(n) FROM unnest(needs) WITH ORDINALITY AS u(n, i) ORDER BY i)
    WHERE needs <> '{}';
ALTER TABLE agencies FORCE ROW LEVEL SECURITY;
ALTER TABLE children FORCE ROW LEVEL SECURITY;

ALTER TABLE children ADD CONSTRAINT needs_have_details CHECK (cardinality(need_details) = cardinality(needs));
ALTER TABLE agencies ADD CONSTRAINT needs_have_details CHECK (cardinality(need_details) = cardinality(needs));
