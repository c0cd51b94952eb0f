-- Rankings and bulletins (排名通报): the ranking settings (the weighting of the street rankings), one JSON value
-- per key, changed by the monitoring department; every change is in the audit log with before and after.
CREATE TABLE ranking_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
