-- One vocabulary of needs (issue 12, item 5): what a supporter knows and a
-- match request asks for hold the DfE types of SEN (parley.common.v1.SenType,
-- 'SEN_TYPE_ASD') beside the specialisms that are stages and processes
-- ('SPECIALISM_TRIBUNAL'), in the same text[] columns (services/matching/
-- scoring.h reads them as one set). The specialisms that were types of need
-- become those types: autism asd; adhd and semh semh; sensory hi, vi and
-- msi; physical pd; speech_language slcn; learning spld, mld and sld.
-- A case profile's child needs, free text from intake before the types,
-- become the types they name (sen_type_of_text, as intake's migration 014
-- codes the same text).
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

CREATE FUNCTION known_of_specialism(s text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE s
        WHEN 'SPECIALISM_AUTISM' THEN ARRAY['SEN_TYPE_ASD']
        WHEN 'SPECIALISM_ADHD' THEN ARRAY['SEN_TYPE_SEMH']
        WHEN 'SPECIALISM_SEMH' THEN ARRAY['SEN_TYPE_SEMH']
        WHEN 'SPECIALISM_SENSORY' THEN ARRAY['SEN_TYPE_HI', 'SEN_TYPE_VI', 'SEN_TYPE_MSI']
        WHEN 'SPECIALISM_PHYSICAL' THEN ARRAY['SEN_TYPE_PD']
        WHEN 'SPECIALISM_SPEECH_LANGUAGE' THEN ARRAY['SEN_TYPE_SLCN']
        WHEN 'SPECIALISM_LEARNING' THEN ARRAY['SEN_TYPE_SPLD', 'SEN_TYPE_MLD', 'SEN_TYPE_SLD']
        ELSE ARRAY[s]
    END
    $$;

-- Every authority's rows, past row-level security for these statements only
-- (within the migration's transaction): under FORCE the owner sees none.
ALTER TABLE supporters NO FORCE ROW LEVEL SECURITY;
ALTER TABLE match_requests NO FORCE ROW LEVEL SECURITY;
ALTER TABLE case_profiles NO FORCE ROW LEVEL SECURITY;
UPDATE supporters SET specialisms = ARRAY(
    SELECT DISTINCT k FROM unnest(specialisms) AS s, unnest(known_of_specialism(s)) AS k ORDER BY k)
    WHERE specialisms && ARRAY['SPECIALISM_AUTISM', 'SPECIALISM_ADHD', 'SPECIALISM_SEMH', 'SPECIALISM_SENSORY',
                               'SPECIALISM_PHYSICAL', 'SPECIALISM_SPEECH_LANGUAGE', 'SPECIALISM_LEARNING'];
UPDATE match_requests SET pref_specialisms = ARRAY(
    SELECT DISTINCT k FROM unnest(pref_specialisms) AS s, unnest(known_of_specialism(s)) AS k ORDER BY k)
    WHERE pref_specialisms && ARRAY['SPECIALISM_AUTISM', 'SPECIALISM_ADHD', 'SPECIALISM_SEMH', 'SPECIALISM_SENSORY',
                                    'SPECIALISM_PHYSICAL', 'SPECIALISM_SPEECH_LANGUAGE', 'SPECIALISM_LEARNING'];
UPDATE case_profiles SET child_needs = ARRAY(
    SELECT sen_type_of_text(n) FROM unnest(child_needs) WITH ORDINALITY AS u(n, i) ORDER BY i)
    WHERE child_needs <> '{}';
ALTER TABLE case_profiles FORCE ROW LEVEL SECURITY;
ALTER TABLE match_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE supporters FORCE ROW LEVEL SECURITY;
