-- Reminders: one row per appointment and offset (minutes before it
-- starts), written by the request that books, moves or cancels it, and
-- claimed by the reminder sweep of any scheduling process (FOR UPDATE SKIP
-- LOCKED), which marks it sent in the transaction that emits
-- appointment.reminder_due: each is emitted once however many processes
-- sweep. Ids and times only, no row-level security: the sweep acts for
-- every authority.
CREATE TABLE appointment_reminders (
    appointment_id uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    minutes_before integer NOT NULL CHECK (minutes_before BETWEEN 5 AND 20160),
    authority_id uuid NOT NULL,
    due_at timestamptz NOT NULL,
    sent_at timestamptz,
    PRIMARY KEY (appointment_id, minutes_before)
);
CREATE INDEX appointment_reminders_due ON appointment_reminders (due_at) WHERE sent_at IS NULL;
