-- A case closed in intake (the case.closed event) cancels its open match
-- request: 'cancelled' is terminal, with the reason. The partial unique
-- index one_open_request_per_case still covers only 'offered' and
-- 'waiting', so a cancelled request holds nothing; the unmet-demand figures
-- count 'waiting' only, so it leaves them.
ALTER TABLE match_requests DROP CONSTRAINT match_requests_status_check;
ALTER TABLE match_requests ADD CONSTRAINT match_requests_status_check
    CHECK (status IN ('offered', 'waiting', 'matched', 'cancelled'));
ALTER TABLE match_requests ADD COLUMN cancel_reason text;

-- When matching learnt the case was closed: a later match request for it is
-- refused without asking intake.
ALTER TABLE case_profiles ADD COLUMN closed_at timestamptz;
