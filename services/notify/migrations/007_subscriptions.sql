-- The event types notify takes (docs/events.md, "Subscriptions"): each
-- producer's outbox reads them from parley_shared.subscriptions when it
-- writes an event, so notify, not the producers, says what reaches it.
-- Events written before this commits are not delivered to notify.

-- intake's: told to the family (services/notify/events.c), and handed to
-- the authority's webhooks (webhooks.c; case.closed only to webhooks).
SELECT parley_shared.subscribe('case.opened', 'case.signposted', 'case.stage_changed', 'case.deadline_due',
                               'case.closed');
-- matching's: told to the supporter and the family (events_matching.c);
-- match.declined, match.waiting and match.cancelled are taken and, for now,
-- answered OK without a message.
SELECT parley_shared.subscribe('match.offered', 'match.accepted', 'match.declined', 'match.waiting',
                               'match.cancelled', 'assignment.ended');
-- scheduling's: invitations, reminders and session messages (events_scheduling.c).
SELECT parley_shared.subscribe('appointment.booked', 'appointment.rescheduled', 'appointment.cancelled',
                               'appointment.reminder_due', 'session.booking_promoted', 'session.cancelled');
-- training's: course expiry reminders (events_training.c).
SELECT parley_shared.subscribe('training.expiring');
