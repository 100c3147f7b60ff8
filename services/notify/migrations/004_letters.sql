-- letters: PDF letters Parley lays out itself (services/notify/letter*.c),
-- posted through the GOV.UK Notify-compatible API as precompiled letters.
--
-- Structure only (no row is updated, so the FORCEd row-level security of
-- notifications need not be lifted): letter joins the channels, and a
-- notification whose channels name it keeps the postal address and, until
-- it ends, the letter as rendered when it was created.

ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check
    CHECK (channel IN ('CHANNEL_EMAIL', 'CHANNEL_SMS', 'CHANNEL_LETTER'));
ALTER TABLE notifications
    -- The address as printed in the envelope's window (personal data).
    ADD COLUMN address_lines text[] CHECK (cardinality(address_lines) BETWEEN 2 AND 6),
    ADD COLUMN address_postcode text,
    -- The PDF as posted (personal data: the address and the letter's
    -- text); dropped (NULL) once the notification is delivered or failed.
    ADD COLUMN letter_pdf bytea CHECK (octet_length(letter_pdf) <= 2097152),
    ADD COLUMN letter_pages integer CHECK (letter_pages BETWEEN 1 AND 10),
    ADD COLUMN letter_font_size integer;
