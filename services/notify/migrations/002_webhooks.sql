-- Webhooks (issue 13, item 2): partner agencies' and staff's receivers of
-- signed, thin event notifications, each event for each webhook a
-- delivery with every attempt, and the queue the webhook senders share.
--
-- Tenancy: webhooks and webhook_deliveries are tenant tables under the
-- shared row-level security (parley_shared.tenant_table). The queue
-- carries ids only, with no row-level security, as send_queue: the
-- webhook senders claim across authorities and then read each delivery
-- with its own authority set (services/notify/webhook_sender.c).

CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    -- The API client that made it: the only one that sees or deletes it.
    client_id uuid NOT NULL,
    url text NOT NULL,
    event_types text[] NOT NULL,
    description text,
    -- referrals: only events about the cases client_id opened; authority: all.
    scope text NOT NULL CHECK (scope IN ('referrals', 'authority')),
    -- The signing secret sealed with AES-256-GCM under PARLEY_WEBHOOK_KEY,
    -- bound to the webhook's id (services/notify/webhook_sign.h); never clear.
    secret_sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_by_client ON webhooks (client_id, created_at, id);
CREATE INDEX webhooks_by_authority ON webhooks (authority_id);
SELECT parley_shared.tenant_table('webhooks');

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    authority_id uuid NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    -- The body as signed and sent: ids, the type and a time, never personal data.
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'WEBHOOK_DELIVERY_STATUS_PENDING',
    -- [{at, responseCode, error, durationMs}], oldest first.
    attempts jsonb NOT NULL DEFAULT '[]',
    failure_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    -- An event reaches a webhook once, however often it is delivered to notify.
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at, id);
SELECT parley_shared.tenant_table('webhook_deliveries');

-- One row per delivery still to send: claimed FOR UPDATE SKIP LOCKED.
CREATE TABLE webhook_queue (
    delivery_id uuid PRIMARY KEY REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    authority_id uuid NOT NULL,
    tries integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_queue_due ON webhook_queue (next_attempt_at);
