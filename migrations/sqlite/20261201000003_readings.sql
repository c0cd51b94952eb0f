-- Monitoring data (issue 4): the readings store, its sources, roll-ups, the audit tier and month locks.
-- The PostgreSQL twin of this file defines the same tables and columns (crates/kernel/tests/schema.rs).
--
-- Layout (reference stack.md §2, measured): the logical model is narrow (point, factor, time, value, flag), the
-- stored layout is wide and sparse: one row per (point_id, period, ts), one nullable DOUBLE PRECISION column per
-- catalogued factor (crates/readings/src/factors.rs), `flags` NULL when every value is normal (else
-- `a34004=D;a21026=C`), `extra` a JSON object of factors not (yet) catalogued, so nothing a device sent is dropped.
-- Adding a factor = ADD COLUMN here + one catalogue line. No foreign keys from the readings table: it references
-- point_id only (cheap writes; shardable by point_id later).

CREATE TABLE reading_sources (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'packet', 'api', 'simulation')),
    name TEXT NOT NULL,
    checksum TEXT,
    received_at BIGINT NOT NULL,
    received_by TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    response_json TEXT
);

CREATE TABLE readings (
    point_id BIGINT NOT NULL,
    period TEXT NOT NULL CHECK (period IN ('rtd', 'minute', 'hour', 'day')),
    ts BIGINT NOT NULL,
    a34004 DOUBLE PRECISION,
    a34002 DOUBLE PRECISION,
    a21026 DOUBLE PRECISION,
    a21004 DOUBLE PRECISION,
    a21005 DOUBLE PRECISION,
    a05024 DOUBLE PRECISION,
    a01007 DOUBLE PRECISION,
    a01008 DOUBLE PRECISION,
    a01001 DOUBLE PRECISION,
    a01002 DOUBLE PRECISION,
    a01006 DOUBLE PRECISION,
    a21002 DOUBLE PRECISION,
    a34013 DOUBLE PRECISION,
    a19001 DOUBLE PRECISION,
    a01012 DOUBLE PRECISION,
    a01011 DOUBLE PRECISION,
    a00000 DOUBLE PRECISION,
    w01018 DOUBLE PRECISION,
    w21003 DOUBLE PRECISION,
    w21011 DOUBLE PRECISION,
    w21001 DOUBLE PRECISION,
    w01001 DOUBLE PRECISION,
    w00000 DOUBLE PRECISION,
    flags TEXT,
    extra TEXT,
    source_id BIGINT NOT NULL,
    PRIMARY KEY (point_id, period, ts)
) WITHOUT ROWID;

-- Platform roll-ups of the audited tier: hourly values derived from minute data, daily values per CST calendar day.
CREATE TABLE reading_rollups (
    point_id BIGINT NOT NULL,
    factor TEXT NOT NULL,
    period TEXT NOT NULL CHECK (period IN ('hour', 'day')),
    ts BIGINT NOT NULL,
    n BIGINT NOT NULL,
    n_valid BIGINT NOT NULL,
    expected BIGINT NOT NULL,
    mean DOUBLE PRECISION,
    min DOUBLE PRECISION,
    max DOUBLE PRECISION,
    valid BIGINT NOT NULL,
    computed_at BIGINT NOT NULL,
    PRIMARY KEY (point_id, factor, period, ts)
) WITHOUT ROWID;

-- 数据审核: every correction is a new version; the raw reading is never changed.
CREATE TABLE reading_corrections (
    point_id BIGINT NOT NULL,
    period TEXT NOT NULL,
    ts BIGINT NOT NULL,
    factor TEXT NOT NULL,
    version BIGINT NOT NULL,
    value DOUBLE PRECISION,
    invalid BIGINT NOT NULL DEFAULT 0,
    reason TEXT NOT NULL,
    corrected_by TEXT NOT NULL,
    corrected_at BIGINT NOT NULL,
    PRIMARY KEY (point_id, period, ts, factor, version)
);

-- A month's data confirmed by the monitoring department (CST month, 'YYYY-MM'); reopening needs a reason.
CREATE TABLE data_month_locks (
    month TEXT PRIMARY KEY NOT NULL,
    locked BIGINT NOT NULL,
    locked_by TEXT NOT NULL,
    locked_at BIGINT NOT NULL,
    reopened_by TEXT,
    reopened_at BIGINT,
    reopen_reason TEXT
);
