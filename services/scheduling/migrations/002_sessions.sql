-- Group sessions (workshops, support groups) with capacity and a waiting
-- list. Both tables are tenant tables (parley_shared.tenant_table). A
-- booking, a cancellation and a promotion lock the session's row (FOR
-- UPDATE), so seats are counted and the first waiting booking promoted by
-- one transaction at a time, whatever process serves them.

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    title text NOT NULL,
    kind text NOT NULL,
    audience text[] NOT NULL,
    language text NOT NULL,
    capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 500),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
    zone text NOT NULL,
    location jsonb NOT NULL,
    status text NOT NULL DEFAULT 'SESSION_STATUS_SCHEDULED',
    cancel_reason text,
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_by_start ON sessions (starts_at, id);
SELECT parley_shared.tenant_table('sessions');

CREATE TABLE session_bookings (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    session_id uuid NOT NULL REFERENCES sessions (id),
    -- The order bookings were made in: the waiting list's order.
    seq bigserial NOT NULL UNIQUE,
    name text NOT NULL,
    email text,
    case_id uuid,
    access_needs jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL CHECK (status IN ('BOOKING_STATUS_CONFIRMED', 'BOOKING_STATUS_WAITLISTED',
                                           'BOOKING_STATUS_CANCELLED')),
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    promoted_at timestamptz,
    cancelled_at timestamptz
);
CREATE INDEX session_bookings_by_session ON session_bookings (session_id, status, seq);
SELECT parley_shared.tenant_table('session_bookings');
