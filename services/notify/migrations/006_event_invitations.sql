-- events: invitations with an iCalendar part (issue 14, item 5). A
-- notification made from scheduling's appointment events keeps the
-- iCalendar text scheduling gave when the event was handled, so every
-- retry sends the same invitation (services/notify/events_scheduling.c).
--
-- Structure only (no row is updated, so the FORCEd row-level security of
-- notifications need not be lifted).

ALTER TABLE notifications
    -- The invitation (text/calendar, CRLF lines): personal data (attendees' names).
    ADD COLUMN ics text,
    -- Its iTIP method (RFC 5546), the part's Content-Type method.
    ADD COLUMN ics_method text CHECK (ics_method IN ('REQUEST', 'CANCEL')),
    ADD CONSTRAINT notifications_ics_method CHECK ((ics IS NULL) = (ics_method IS NULL));
