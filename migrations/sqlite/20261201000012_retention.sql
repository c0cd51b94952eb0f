-- Retention of high-frequency readings (issue 4): how long real-time and minute rows are kept, and how far the
-- sweep has removed them. Hourly and daily rows, roll-ups and raw HJ 212 packets are never swept.
CREATE TABLE reading_retention (
    period TEXT PRIMARY KEY NOT NULL CHECK (period IN ('rtd', 'minute')),
    keep_days BIGINT NOT NULL,
    -- Rows with ts < swept_before have been removed (0: never swept).
    swept_before BIGINT NOT NULL DEFAULT 0,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO reading_retention (period, keep_days, swept_before, updated_by, updated_at) VALUES ('rtd', 30, 0, 'migration', 0);
INSERT INTO reading_retention (period, keep_days, swept_before, updated_by, updated_at) VALUES ('minute', 400, 0, 'migration', 0);
