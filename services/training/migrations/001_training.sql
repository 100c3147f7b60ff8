-- Courses, sessions, the people trained, their completions, each role's
-- requirements, and what the expiry sweep has announced.
--
-- Tenancy: every table holding an authority's data is a tenant table under
-- the shared row-level security of deploy/bootstrap.sql
-- (parley_shared.tenant_table): ENABLEd and FORCEd, keyed on authority_id.
-- Courses and requirements belong to one authority (not the consortium): an
-- authority's SEN staff and schools are trained to its local offer and
-- procedures, and its compliance is reported on its own. A person is
-- recorded in one authority; a supporter's record is kept under the
-- authority that first records their training (one they serve), and the
-- standing it gives them reaches matching for every authority they serve.
-- The outbox, the inbox and the sweep's list of authorities are plumbing
-- read across authorities (ids only).

CREATE TABLE courses (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    code text NOT NULL,
    title text NOT NULL,
    audience text[] NOT NULL,
    topics text[] NOT NULL DEFAULT '{}',
    level integer NOT NULL CHECK (level BETWEEN 1 AND 3),
    hours numeric(6, 2) NOT NULL DEFAULT 0 CHECK (hours >= 0),
    -- NULL: a completion never expires.
    valid_for_months integer CHECK (valid_for_months BETWEEN 1 AND 120),
    delivery text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authority_id, code)
);
CREATE INDEX courses_by_time ON courses (authority_id, created_at, id);
SELECT parley_shared.tenant_table('courses');

-- Someone trained: a Parley supporter (id = supporter_id, matching's id),
-- or someone outside Parley known only by a name, an organisation and a
-- role. standing is the worst of the person's required courses as last
-- computed; standing_version counts its changes (the order of the
-- training.status_changed events about them).
CREATE TABLE people (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    supporter_id uuid UNIQUE,
    name text,
    organisation_urn text,
    organisation_authority_id uuid,
    role text NOT NULL,
    standing text NOT NULL DEFAULT 'STANDING_UNSPECIFIED',
    standing_version integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((supporter_id IS NOT NULL AND supporter_id = id AND name IS NULL) OR
           (supporter_id IS NULL AND name IS NOT NULL))
);
CREATE INDEX people_by_role ON people (authority_id, role);
SELECT parley_shared.tenant_table('people');

CREATE TABLE training_sessions (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    course_id uuid NOT NULL REFERENCES courses (id),
    trainer text NOT NULL,
    capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 500),
    language text,
    on_date date NOT NULL,
    location text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_by_time ON training_sessions (authority_id, created_at, id);
SELECT parley_shared.tenant_table('training_sessions');

CREATE TABLE completions (
    id uuid PRIMARY KEY,
    authority_id uuid NOT NULL,
    person_id uuid NOT NULL REFERENCES people (id),
    course_id uuid NOT NULL REFERENCES courses (id),
    completed_on date NOT NULL,
    session_id uuid REFERENCES training_sessions (id),
    certificate_ref text,
    provider text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    created_by_client uuid,
    -- One attendance per person and session.
    UNIQUE (session_id, person_id)
);
CREATE INDEX completions_by_person ON completions (person_id, course_id, completed_on);
CREATE INDEX completions_by_day ON completions (authority_id, completed_on);
SELECT parley_shared.tenant_table('completions');

CREATE TABLE requirements (
    authority_id uuid NOT NULL,
    role text NOT NULL,
    -- [{courseId, everyMonths}], as the API writes them.
    courses jsonb NOT NULL CHECK (jsonb_typeof(courses) = 'array'),
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (authority_id, role)
);
SELECT parley_shared.tenant_table('requirements');

-- One training.expiring per (person, course, expiry day), however many
-- sweeps run.
CREATE TABLE expiring_notices (
    person_id uuid NOT NULL,
    course_id uuid NOT NULL,
    expires_on date NOT NULL,
    authority_id uuid NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, course_id, expires_on)
);
SELECT parley_shared.tenant_table('expiring_notices');

-- The authorities the sweep visits (each with its own tenant setting).
CREATE TABLE sweep_authorities (
    authority_id uuid PRIMARY KEY
);

SELECT parley_shared.create_outbox();

SELECT parley_shared.create_inbox();
