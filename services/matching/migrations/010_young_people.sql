-- Young people aged 16 to 25 as clients in their own right (intake's
-- youngPersonId). A young person's case profile keeps the young person's
-- id where a family's case keeps the family's (family_id: the client whose
-- earlier supporters count for continuity, and what match requests and
-- assignments name), and young_person says which it is: such a case wants a
-- supporter experienced with post-16 and transition (profiles.c, pool.c).
-- No new table: case_profiles' row-level security covers the column.
ALTER TABLE case_profiles ADD COLUMN young_person boolean NOT NULL DEFAULT false;
