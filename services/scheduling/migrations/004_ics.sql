-- ics (issue 14): each calendar's feed token, and appointments booked outside
-- availability. The feed token (GET /v1/calendars/{ownerId}.ics?token=):
--
-- Not a tenant table, on purpose: the feed is reached without an API key,
-- so its token is looked up before any authority is known (services/
-- scheduling/feed.c then reads the calendar under row-level security as
-- that calendar's authority alone). It holds ids and a keyed hash only
-- (HMAC-SHA256 under PARLEY_SCHEDULING_FEED_KEY), never the token, and is
-- written only after the calendar row was read (and locked) under the
-- caller's row-level security, so a token is made or revoked only by a
-- caller who may see the calendar.
CREATE TABLE feed_tokens (
    owner_id uuid PRIMARY KEY REFERENCES calendars (owner_id) ON DELETE CASCADE,
    authority_id uuid NOT NULL,
    -- The consortium of whoever made the token: the feed's audit rows name
    -- it, so that the calendar's admins see them (GET /v1/audit).
    consortium_id uuid,
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- ics: an appointment booked outside a participant's weekly hours, on a
-- closed day or a bank holiday because staff allowed it (allowOutsideHours).
ALTER TABLE appointments ADD COLUMN allow_outside_hours boolean NOT NULL DEFAULT false;
