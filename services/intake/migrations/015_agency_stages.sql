-- Automatic signposting offers the agencies relevant to the child's needs
-- and to the stage reached (issue 12, item 4): an agency names the stages of
-- the SEN process it helps with (SenStage proto names, 'SEN_STAGE_MEDIATION');
-- none, as every agency had before, means every stage.
ALTER TABLE agencies ADD COLUMN stages text[] NOT NULL DEFAULT '{}';
