-- The year's targets (年度目标) of the bureau (SQLite).
-- The PostgreSQL twin of this file must define the same tables and columns (crates/kernel/tests/schema.rs checks it).
-- A target is data: its indicator says how its value is obtained (computed from the audited data by the
-- standards engine, or reported by its owner with evidence); comparison and threshold say what attains it. An
-- empty threshold means the figure is still to be set (e.g. 待市下达: the city has not issued it yet).
CREATE TABLE targets (
    id INTEGER PRIMARY KEY NOT NULL,
    year BIGINT NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    indicator TEXT NOT NULL,
    comparison TEXT NOT NULL CHECK (comparison IN ('le', 'ge', 'eq')),
    threshold DOUBLE PRECISION,
    unit TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    plan_wording TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    reported_value DOUBLE PRECISION,
    evidence TEXT NOT NULL DEFAULT '',
    reported_at BIGINT,
    reported_by TEXT,
    seeded BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (year, code)
);
CREATE INDEX targets_year ON targets(year, position);
