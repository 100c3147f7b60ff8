-- contacts (issue 13, item 3): how each person wants to be told, and
-- notifications to a person Parley knows (a parent, young person or
-- supporter) whose contact details are read from their owner when the
-- message is sent, never copied here (services/notify/contacts*.c).
--
-- Tenancy: contact_preferences is a tenant table under the shared
-- row-level security (parley_shared.tenant_table). Structure only on
-- notifications (no row is updated, so its FORCEd row-level security need
-- not be lifted).

CREATE TABLE contact_preferences (
    authority_id uuid NOT NULL,
    person_id uuid NOT NULL,
    -- Whose record holds the contact details: 'parent', 'young_person'
    -- (intake) or 'supporter' (matching).
    person_kind text NOT NULL CHECK (person_kind IN ('parent', 'young_person', 'supporter')),
    -- ['CHANNEL_SMS', 'CHANNEL_EMAIL']: tried in order; empty: email.
    channels text[] NOT NULL DEFAULT '{}',
    language text,
    format text,
    -- Quiet hours: local wall-clock times in quiet_zone; no SMS in between.
    quiet_start time,
    quiet_end time,
    quiet_zone text,
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL) AND (quiet_start IS NULL) = (quiet_zone IS NULL)),
    CHECK (quiet_start IS DISTINCT FROM quiet_end OR quiet_start IS NULL),
    -- Categories not sent unless critical ('case_updates').
    opt_outs text[] NOT NULL DEFAULT '{}',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (authority_id, person_id)
);
SELECT parley_shared.tenant_table('contact_preferences');

ALTER TABLE notifications
    -- The person it goes to, when named by id (email and phone then NULL).
    ADD COLUMN person_id uuid,
    ADD COLUMN person_kind text CHECK (person_kind IN ('parent', 'young_person', 'supporter')),
    ADD CONSTRAINT notifications_person_check CHECK ((person_id IS NULL) = (person_kind IS NULL)),
    -- An SMS held by the person's quiet hours: sent at deferred_until
    -- (deferred_zone, to show it as their wall-clock time).
    ADD COLUMN deferred_until timestamptz,
    ADD COLUMN deferred_zone text;
