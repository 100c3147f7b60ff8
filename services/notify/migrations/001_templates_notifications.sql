-- Templates, notifications and the queue the senders share.
--
-- Tenancy: templates and notifications are tenant tables under the shared
-- row-level security of deploy/bootstrap.sql (parley_shared.tenant_table):
-- ENABLEd and FORCEd, keyed on authority_id against the caller's
-- authorities. The send queue carries ids only and no row-level security:
-- the sender threads claim across authorities and then read each
-- notification with its own authority set (services/notify/sender.c).

CREATE TABLE templates (
    authority_id uuid NOT NULL,
    key text NOT NULL,
    -- [{language, format, subject, body, html}], as the API writes them.
    translations jsonb NOT NULL CHECK (jsonb_typeof(translations) = 'array'),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (authority_id, key)
);
SELECT parley_shared.tenant_table('templates');

CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    template_key text NOT NULL,
    case_id uuid,
    category text NOT NULL,
    critical boolean NOT NULL,
    channel text NOT NULL CHECK (channel IN ('CHANNEL_EMAIL')),
    email text NOT NULL,
    requested_language text NOT NULL,
    requested_format text NOT NULL,
    language text NOT NULL,
    language_fallback boolean NOT NULL,
    format text NOT NULL,
    format_fallback boolean NOT NULL,
    -- As rendered from the template and the data when it was created.
    subject text NOT NULL,
    body text NOT NULL,
    html text,
    status text NOT NULL DEFAULT 'NOTIFICATION_STATUS_PENDING',
    -- [{channel, status, error, at}], oldest first.
    attempts jsonb NOT NULL DEFAULT '[]',
    failure_reason text,
    -- The event it answers (case.opened ...), when it came from one.
    source_event uuid,
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
CREATE INDEX notifications_by_case ON notifications (case_id, created_at, id) WHERE case_id IS NOT NULL;
SELECT parley_shared.tenant_table('notifications');

-- One row per notification still to send: claimed FOR UPDATE SKIP LOCKED,
-- so each is sent by one sender at a time however many processes run.
CREATE TABLE send_queue (
    notification_id uuid PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    authority_id uuid NOT NULL,
    tries integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX send_queue_due ON send_queue (next_attempt_at);

SELECT parley_shared.create_inbox();
