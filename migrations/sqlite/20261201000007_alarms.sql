-- Online-monitoring alarms (issue 4): the limits and analyser data of each monitored outlet (from its permit
-- and the emission standard), the stored alarms with their lifecycle, the worker's watermarks and the
-- inspection leads handed to enforcement.
-- The PostgreSQL twin of this file defines the same tables and columns (crates/kernel/tests/schema.rs).

-- Per outlet: the reference O2 the limits are converted to, the rated flow, and where the figures come from.
CREATE TABLE outlet_permits (
    outlet_id BIGINT PRIMARY KEY NOT NULL REFERENCES outlets(id),
    reference_oxygen DOUBLE PRECISION,
    rated_flow DOUBLE PRECISION,
    basis TEXT NOT NULL,
    simulated BIGINT NOT NULL DEFAULT 0,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Per outlet and factor: the emission limit (NULL: monitored, not limited), its averaging period, whether it
-- applies to the converted (折算) value, the analyser's range and detection limit.
CREATE TABLE outlet_limits (
    outlet_id BIGINT NOT NULL REFERENCES outlets(id),
    factor TEXT NOT NULL,
    limit_value DOUBLE PRECISION,
    averaging TEXT NOT NULL CHECK (averaging IN ('hour', 'day')),
    on_converted BIGINT NOT NULL DEFAULT 0,
    range_low DOUBLE PRECISION,
    range_high DOUBLE PRECISION,
    detection_limit DOUBLE PRECISION,
    PRIMARY KEY (outlet_id, factor)
);

-- One alarm: a finding of one rule at one point, and its lifecycle (raised → verified → handled → closed).
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises(id),
    outlet_id BIGINT REFERENCES outlets(id),
    point_id BIGINT NOT NULL REFERENCES monitoring_points(id),
    rule TEXT NOT NULL,
    factor TEXT,
    from_ts BIGINT NOT NULL,
    to_ts BIGINT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    evidence TEXT NOT NULL,
    values_json TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('raised', 'verified', 'handled', 'closed')),
    verdict TEXT CHECK (verdict IS NULL OR verdict IN ('true', 'equipment_fault', 'false_positive')),
    verified_by TEXT,
    verified_at BIGINT,
    verify_note TEXT,
    handled_by TEXT,
    handled_at BIGINT,
    handle_note TEXT,
    closed_by TEXT,
    closed_at BIGINT,
    close_note TEXT,
    raised_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    simulated BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX alarms_point ON alarms(point_id, rule, to_ts);
CREATE INDEX alarms_enterprise ON alarms(enterprise_id, raised_at);
CREATE INDEX alarms_state ON alarms(state, raised_at);

-- The worker's progress per point: every window up to evaluated_to has been judged.
CREATE TABLE alarm_watermarks (
    point_id BIGINT PRIMARY KEY NOT NULL REFERENCES monitoring_points(id),
    evaluated_to BIGINT NOT NULL,
    evaluated_at BIGINT NOT NULL
);

-- 线索: an off-site inspection lead for enforcement, from one alarm verified as true or from an enterprise's
-- repeated exceedances in a month.
CREATE TABLE alarm_leads (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('alarm', 'repeated_exceedance')),
    enterprise_id BIGINT NOT NULL REFERENCES enterprises(id),
    alarm_id BIGINT REFERENCES alarms(id),
    month TEXT,
    alarm_ids TEXT NOT NULL,
    summary TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE
);
CREATE INDEX alarm_leads_enterprise ON alarm_leads(enterprise_id);
