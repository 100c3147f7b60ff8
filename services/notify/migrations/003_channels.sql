-- notifyapi: SMS through a GOV.UK Notify-compatible API, and channels in
-- order with failover (services/notify/sender.c).
--
-- Structure only (no row is updated, so the FORCEd row-level security of
-- notifications need not be lifted): a notification names its channels in
-- order and the one in use (channel_index, channel); an email-only one,
-- as every earlier one is, keeps email and the defaults.

ALTER TABLE notifications ALTER COLUMN email DROP NOT NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check
    CHECK (channel IN ('CHANNEL_EMAIL', 'CHANNEL_SMS'));
ALTER TABLE notifications
    ADD COLUMN phone text,
    -- ['CHANNEL_SMS', 'CHANNEL_EMAIL']: tried in order.
    ADD COLUMN channels text[] NOT NULL DEFAULT '{CHANNEL_EMAIL}',
    ADD COLUMN channel_index integer NOT NULL DEFAULT 0,
    -- The SMS text as rendered when it was created, and what it costs.
    ADD COLUMN sms_text text,
    ADD COLUMN sms_encoding text,
    ADD COLUMN sms_segments integer;

-- The provider's id of the message being followed: the sender polls its
-- delivery status (GET /v2/notifications/{id}) while it is set; polls
-- counts them, for their back-off and their bound.
ALTER TABLE send_queue
    ADD COLUMN provider_id text,
    ADD COLUMN polls integer NOT NULL DEFAULT 0;
