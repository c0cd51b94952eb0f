-- Complaints and petitions (信访投诉) and the 24-hour duty roster (SQLite).
-- The PostgreSQL twin of this file must define the same tables and columns (crates/kernel/tests/schema.rs checks it).

-- 24-hour duty roster (值班表): who is on duty when. Intake outside office hours goes to the officer on duty.
CREATE TABLE duty_shifts (
    id INTEGER PRIMARY KEY NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    duty_role TEXT NOT NULL CHECK (duty_role IN ('leader', 'officer', 'standby')),
    user_id BIGINT REFERENCES users(id),
    person_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    simulated BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX duty_shifts_time ON duty_shifts(starts_at, ends_at);

-- Complaints and petitions (信访投诉). Due dates are CST calendar dates 'YYYY-MM-DD' on the official calendar.
CREATE TABLE complaints (
    id INTEGER PRIMARY KEY NOT NULL,
    case_no TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    enterprise_id BIGINT REFERENCES enterprises(id),
    object_name TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    street_id BIGINT REFERENCES streets(id),
    department_id BIGINT REFERENCES departments(id),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    reporter_name TEXT,
    reporter_phone TEXT,
    anonymous BIGINT NOT NULL DEFAULT 0,
    received_at BIGINT NOT NULL,
    acceptance_due TEXT,
    accepted_at BIGINT,
    not_accepted_reason TEXT,
    handling_due TEXT,
    extension_days BIGINT NOT NULL DEFAULT 0,
    assigned_at BIGINT,
    findings TEXT,
    replied_at BIGINT,
    reply_result TEXT,
    reply_measures TEXT,
    penalty_case_ref TEXT,
    closed_at BIGINT,
    satisfaction TEXT,
    reopen_count BIGINT NOT NULL DEFAULT 0,
    is_repeat BIGINT NOT NULL DEFAULT 0,
    repeat_root_id BIGINT REFERENCES complaints(id),
    repeat_count BIGINT NOT NULL DEFAULT 0,
    after_hours BIGINT NOT NULL DEFAULT 0,
    duty_shift_id BIGINT REFERENCES duty_shifts(id),
    escalated_at BIGINT,
    -- The running clock's last day (acceptance or handling); NULL when no clock runs or the calendar lacks the year.
    clock_due TEXT,
    -- 1 when a due date could not be computed because the official calendar has no data for its year.
    calendar_gap BIGINT NOT NULL DEFAULT 0,
    simulated BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX complaints_state ON complaints(state, clock_due);
CREATE INDEX complaints_street ON complaints(street_id, received_at);
CREATE INDEX complaints_received ON complaints(received_at);
CREATE INDEX complaints_enterprise ON complaints(enterprise_id, category);
CREATE INDEX complaints_category ON complaints(category, received_at);

-- The timeline: every transition and every handling step, append-only.
CREATE TABLE complaint_events (
    id INTEGER PRIMARY KEY NOT NULL,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX complaint_events_complaint ON complaint_events(complaint_id, at);

CREATE TABLE complaint_site_checks (
    id INTEGER PRIMARY KEY NOT NULL,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    checked_at BIGINT NOT NULL,
    inspectors TEXT NOT NULL,
    findings TEXT NOT NULL,
    violation_found BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX complaint_site_checks_complaint ON complaint_site_checks(complaint_id);

-- Extensions of the handling period (延期): one per case, ≤ 30 days, with reason and the leader's decision.
CREATE TABLE complaint_extensions (
    id INTEGER PRIMARY KEY NOT NULL,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    days BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    decision_note TEXT
);
CREATE INDEX complaint_extensions_complaint ON complaint_extensions(complaint_id);

-- Repeat links: a later case → each earlier case about the same object or place and category.
CREATE TABLE complaint_links (
    id INTEGER PRIMARY KEY NOT NULL,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    earlier_id BIGINT NOT NULL REFERENCES complaints(id),
    reason TEXT NOT NULL CHECK (reason IN ('enterprise', 'location')),
    distance_m DOUBLE PRECISION,
    UNIQUE (complaint_id, earlier_id)
);
CREATE INDEX complaint_links_earlier ON complaint_links(earlier_id);

-- Evidence files; the bytes live under data_dir/evidence/<stored_name>.
CREATE TABLE complaint_evidence (
    id INTEGER PRIMARY KEY NOT NULL,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    original_name TEXT NOT NULL,
    stored_name TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX complaint_evidence_complaint ON complaint_evidence(complaint_id);

-- Settings of the area (repeat window and distance, due-soon horizon, office hours), as text values.
CREATE TABLE complaint_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
