-- No family stuck (issue 12, item 1).
--
-- due_at: a waiting request to be tried on the sweeper's next passes
-- (a family.updated that changed the family's facts; a supporter's change
-- signals capacity_signal, which makes every waiting request due). The sweeper clears it when it tries the request, and
-- takes due requests least recently tried first, so that however many wait,
-- each is tried in turn.
ALTER TABLE match_requests ADD COLUMN due_at timestamptz;
CREATE INDEX waiting_by_attempt ON match_requests (last_attempt_at NULLS FIRST, waiting_since, id)
    WHERE status = 'waiting';

-- Who ended a cancelled request: intake closing the case ('case_closed', for
-- good) or a caseworker ('api', which POST .../retry may reopen).
ALTER TABLE match_requests ADD COLUMN cancelled_by text CHECK (cancelled_by IN ('case_closed', 'api'));
-- Every authority's rows, past row-level security for this statement only
-- (within the migration's transaction).
ALTER TABLE match_requests NO FORCE ROW LEVEL SECURITY;
UPDATE match_requests SET cancelled_by = 'case_closed' WHERE status = 'cancelled';
ALTER TABLE match_requests FORCE ROW LEVEL SECURITY;

CREATE INDEX requests_by_case ON match_requests (case_id, created_at, id);
CREATE INDEX requests_by_created ON match_requests (created_at, id);
