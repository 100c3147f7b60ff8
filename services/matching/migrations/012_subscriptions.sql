-- The event types matching takes (docs/events.md, "Subscriptions"): each
-- producer's outbox reads them from parley_shared.subscriptions when it
-- writes an event, so matching, not the producers, says what reaches it
-- (services/matching/events.c handles each).
-- Events written before this commits are not delivered to matching.

-- intake's: a family wants a supporter; a case closed (its assignment,
-- offers and request end); a family's or a young person's facts changed.
SELECT parley_shared.subscribe('case.supporter_requested', 'case.closed', 'family.updated', 'young_person.updated');
-- training's: a supporter's training standing (a lapsed one is not a candidate).
SELECT parley_shared.subscribe('training.status_changed');
