-- Calendars, the bank holidays that close them, appointments, and the
-- bookings that keep any one calendar from being double-booked.
--
-- Tenancy: calendars and appointments are tenant tables under the shared
-- row-level security of deploy/bootstrap.sql (parley_shared.tenant_table).
-- calendar_bookings holds ids and times only and has no row-level
-- security: the exclusion constraint and the free-slots read must see every
-- booking of a calendar, whichever authority's appointment holds it (a
-- supporter may serve several). bank_holidays is public data.

CREATE TABLE calendars (
    owner_id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    owner_kind text NOT NULL CHECK (owner_kind IN ('OWNER_KIND_SUPPORTER', 'OWNER_KIND_CASEWORKER', 'OWNER_KIND_ROOM')),
    zone text NOT NULL,
    -- [{weekday, start, end}] as the API writes them, sorted.
    weekly jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(weekly) = 'array'),
    -- [{date, reason}].
    exceptions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(exceptions) = 'array'),
    buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 240),
    buffer_after_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 240),
    max_per_day integer NOT NULL DEFAULT 0 CHECK (max_per_day BETWEEN 0 AND 50),
    max_per_week integer NOT NULL DEFAULT 0 CHECK (max_per_week BETWEEN 0 AND 250),
    bank_holidays text NOT NULL DEFAULT 'BANK_HOLIDAYS_ENGLAND_AND_WALES',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT parley_shared.tenant_table('calendars');

-- The operator keeps this list: INSERT the next years' dates as they are
-- announced (a substitute day, a one-off holiday), e.g.
--   INSERT INTO scheduling.bank_holidays VALUES ('england-and-wales', '2029-01-01', 'New Year''s Day');
CREATE TABLE bank_holidays (
    region text NOT NULL,
    on_date date NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (region, on_date)
);
INSERT INTO bank_holidays (region, on_date, name) VALUES
    ('england-and-wales', '2026-01-01', 'New Year''s Day'),
    ('england-and-wales', '2026-04-03', 'Good Friday'),
    ('england-and-wales', '2026-04-06', 'Easter Monday'),
    ('england-and-wales', '2026-05-04', 'Early May bank holiday'),
    ('england-and-wales', '2026-05-25', 'Spring bank holiday'),
    ('england-and-wales', '2026-08-31', 'Summer bank holiday'),
    ('england-and-wales', '2026-12-25', 'Christmas Day'),
    ('england-and-wales', '2026-12-28', 'Boxing Day (substitute day)'),
    ('england-and-wales', '2027-01-01', 'New Year''s Day'),
    ('england-and-wales', '2027-03-26', 'Good Friday'),
    ('england-and-wales', '2027-03-29', 'Easter Monday'),
    ('england-and-wales', '2027-05-03', 'Early May bank holiday'),
    ('england-and-wales', '2027-05-31', 'Spring bank holiday'),
    ('england-and-wales', '2027-08-30', 'Summer bank holiday'),
    ('england-and-wales', '2027-12-27', 'Christmas Day (substitute day)'),
    ('england-and-wales', '2027-12-28', 'Boxing Day (substitute day)'),
    ('england-and-wales', '2028-01-03', 'New Year''s Day (substitute day)'),
    ('england-and-wales', '2028-04-14', 'Good Friday'),
    ('england-and-wales', '2028-04-17', 'Easter Monday'),
    ('england-and-wales', '2028-05-01', 'Early May bank holiday'),
    ('england-and-wales', '2028-05-29', 'Spring bank holiday'),
    ('england-and-wales', '2028-08-28', 'Summer bank holiday'),
    ('england-and-wales', '2028-12-25', 'Christmas Day'),
    ('england-and-wales', '2028-12-26', 'Boxing Day');

CREATE TABLE appointments (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    case_id uuid NOT NULL,
    kind text NOT NULL,
    status text NOT NULL DEFAULT 'APPOINTMENT_STATUS_BOOKED',
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
    zone text NOT NULL,
    title text,
    -- {kind, address, phone, link}, [{kind, calendarOwnerId, name, role}],
    -- {interpreterLanguage, bsl, stepFree, notes}: as the API writes them.
    location jsonb NOT NULL,
    participants jsonb NOT NULL CHECK (jsonb_typeof(participants) = 'array'),
    access_needs jsonb NOT NULL DEFAULT '{}',
    sequence integer NOT NULL DEFAULT 0,
    cancel_reason text,
    -- [{action, sequence, start, end, reason, at}] oldest first.
    history jsonb NOT NULL DEFAULT '[]',
    version integer NOT NULL DEFAULT 1,
    created_by_client uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appointments_by_case ON appointments (case_id, starts_at);
SELECT parley_shared.tenant_table('appointments');

-- One row per calendar an appointment is on. A calendar's active bookings
-- never overlap: of two transactions booking one slot, the second waits
-- for the first and then fails (23P01), whatever process runs it.
CREATE TABLE calendar_bookings (
    owner_id uuid NOT NULL,
    appointment_id uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    during tstzrange NOT NULL CHECK (NOT isempty(during)),
    active boolean NOT NULL DEFAULT true,
    PRIMARY KEY (appointment_id, owner_id),
    CONSTRAINT calendar_bookings_no_overlap EXCLUDE USING gist (owner_id WITH =, during WITH &&) WHERE (active)
);
CREATE INDEX calendar_bookings_by_owner ON calendar_bookings (owner_id) WHERE active;

-- The outbox (lib/db/outbox.h) for appointment.booked, .rescheduled and
-- .cancelled: ids only. Plumbing, read by the relay for every authority.
SELECT parley_shared.create_outbox();
