-- HJ 212-2025 onboarding (issue 7): a data logger without an MN reports its hardware IDs with CN 1001
-- (i23005-Info logger id, i23006-Info CPU id, i23007/i23008-Info MACs); the platform assigns it the MN of a
-- registered device and sends CN 1002 (the MN in the header, the logger id in the CP); the logger uses that MN
-- from then on. One row per assignment; `superseded_at` is set when the logger is given another device.
-- `sent_at`: the last 1002 sent (NULL: not yet, the logger has not been connected since); `confirmed_at`: the
-- first packet accepted under the assigned MN after the assignment.
-- The PostgreSQL twin of this file defines the same tables and columns (crates/kernel/tests/schema.rs).
CREATE TABLE hj212_mn_assignments (
    id INTEGER PRIMARY KEY NOT NULL,
    logger_id TEXT NOT NULL,
    cpu_id TEXT,
    mac1 TEXT,
    mac2 TEXT,
    device_id BIGINT NOT NULL REFERENCES devices(id),
    quarantine_id BIGINT REFERENCES hj212_quarantine(id),
    assigned_by BIGINT REFERENCES users(id),
    assigned_at BIGINT NOT NULL,
    sent_at BIGINT,
    sent_count BIGINT NOT NULL DEFAULT 0,
    confirmed_at BIGINT,
    superseded_at BIGINT
);
CREATE INDEX hj212_mn_assignments_logger ON hj212_mn_assignments(logger_id, superseded_at);
CREATE INDEX hj212_mn_assignments_device ON hj212_mn_assignments(device_id);
