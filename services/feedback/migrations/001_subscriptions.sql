-- The event types feedback takes (docs/events.md, "Subscriptions"). It
-- does not implement Events.Deliver yet: its deliveries wait in intake's
-- outbox, retried with back-off, until it does, so no closed case is missed.
SELECT parley_shared.subscribe('case.closed');
