-- Resent values that differ from the stored ones (issue 4). The store never rewrites a value: a device that later
-- re-sends a cell with another value or flag (an exceedance re-flagged as stopped, maintenance or manual) is kept
-- here with its source, so the alarm worker can judge the re-flagging and an inspector can see both versions.
CREATE TABLE reading_resends (
    point_id BIGINT NOT NULL,
    period TEXT NOT NULL,
    ts BIGINT NOT NULL,
    factor TEXT NOT NULL,
    value DOUBLE PRECISION,
    flag TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX reading_resends_point_ts ON reading_resends(point_id, ts);
