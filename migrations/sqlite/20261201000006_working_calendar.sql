-- The official working-day calendar as data, and inspection handovers with their own deadline (SQLite).
-- The twin of this file for the other backend must define the same tables and columns
-- (crates/kernel/tests/schema.rs checks it).

-- One row per calendar year: official (entered from the State Council's notice, named in `notice`) or
-- provisional (暂定, before the notice is out). Years after the last row are provisional by rule (kernel::calendar).
CREATE TABLE working_calendar_years (
    year BIGINT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('official', 'provisional')),
    -- The notice's title and number (required for an official year).
    notice TEXT NOT NULL DEFAULT '',
    -- Date the notice was published, 'YYYY-MM-DD'.
    notice_date TEXT,
    note TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The days of a year that differ from Monday–Friday: rest days ('rest', 放假, with the holiday's name; weekend
-- days inside a break may be listed too) and make-up working days ('work', 调休上班, always a Saturday or Sunday).
CREATE TABLE working_calendar_days (
    day TEXT PRIMARY KEY NOT NULL,
    year BIGINT NOT NULL REFERENCES working_calendar_years(year),
    kind TEXT NOT NULL CHECK (kind IN ('rest', 'work')),
    name TEXT NOT NULL DEFAULT ''
);
CREATE INDEX working_calendar_days_year ON working_calendar_days(year, day);

-- Seed: the years compiled into kernel::calendar (2023–2026), with the holidays' names (holidays.md).
INSERT INTO working_calendar_years (year, status, notice, notice_date, note, version, updated_by, updated_at) VALUES
    (2023, 'official', '国务院办公厅关于2023年部分节假日安排的通知（国办发明电〔2022〕16号）', '2022-12-08', '种子数据：shared/reference/holidays.md（与通知文本及四个数据集核对）', 1, 'migration', 1796083200),
    (2024, 'official', '国务院办公厅关于2024年部分节假日安排的通知（国办发明电〔2023〕7号）', '2023-10-25', '种子数据：shared/reference/holidays.md（与通知文本及四个数据集核对）', 1, 'migration', 1796083200),
    (2025, 'official', '国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）', '2024-11-12', '种子数据：shared/reference/holidays.md（与通知文本及四个数据集核对）', 1, 'migration', 1796083200),
    (2026, 'official', '国务院办公厅关于2026年部分节假日安排的通知（2025-11-04；文号未核实）', '2025-11-04', '种子数据：shared/reference/holidays.md（与通知文本及四个数据集核对）', 1, 'migration', 1796083200);

INSERT INTO working_calendar_days (day, year, kind, name) VALUES
    ('2023-01-01', 2023, 'rest', '元旦'),
    ('2023-01-02', 2023, 'rest', '元旦'),
    ('2023-01-21', 2023, 'rest', '春节'),
    ('2023-01-22', 2023, 'rest', '春节'),
    ('2023-01-23', 2023, 'rest', '春节'),
    ('2023-01-24', 2023, 'rest', '春节'),
    ('2023-01-25', 2023, 'rest', '春节'),
    ('2023-01-26', 2023, 'rest', '春节'),
    ('2023-01-27', 2023, 'rest', '春节'),
    ('2023-01-28', 2023, 'work', '春节调休上班'),
    ('2023-01-29', 2023, 'work', '春节调休上班'),
    ('2023-04-05', 2023, 'rest', '清明节'),
    ('2023-04-29', 2023, 'rest', '劳动节'),
    ('2023-04-30', 2023, 'rest', '劳动节'),
    ('2023-05-01', 2023, 'rest', '劳动节'),
    ('2023-05-02', 2023, 'rest', '劳动节'),
    ('2023-05-03', 2023, 'rest', '劳动节'),
    ('2023-04-23', 2023, 'work', '劳动节调休上班'),
    ('2023-05-06', 2023, 'work', '劳动节调休上班'),
    ('2023-06-22', 2023, 'rest', '端午节'),
    ('2023-06-23', 2023, 'rest', '端午节'),
    ('2023-06-24', 2023, 'rest', '端午节'),
    ('2023-06-25', 2023, 'work', '端午节调休上班'),
    ('2023-09-29', 2023, 'rest', '中秋节、国庆节'),
    ('2023-09-30', 2023, 'rest', '中秋节、国庆节'),
    ('2023-10-01', 2023, 'rest', '中秋节、国庆节'),
    ('2023-10-02', 2023, 'rest', '中秋节、国庆节'),
    ('2023-10-03', 2023, 'rest', '中秋节、国庆节'),
    ('2023-10-04', 2023, 'rest', '中秋节、国庆节'),
    ('2023-10-05', 2023, 'rest', '中秋节、国庆节'),
    ('2023-10-06', 2023, 'rest', '中秋节、国庆节'),
    ('2023-10-07', 2023, 'work', '中秋节、国庆节调休上班'),
    ('2023-10-08', 2023, 'work', '中秋节、国庆节调休上班'),
    ('2024-01-01', 2024, 'rest', '元旦'),
    ('2024-02-10', 2024, 'rest', '春节'),
    ('2024-02-11', 2024, 'rest', '春节'),
    ('2024-02-12', 2024, 'rest', '春节'),
    ('2024-02-13', 2024, 'rest', '春节'),
    ('2024-02-14', 2024, 'rest', '春节'),
    ('2024-02-15', 2024, 'rest', '春节'),
    ('2024-02-16', 2024, 'rest', '春节'),
    ('2024-02-17', 2024, 'rest', '春节'),
    ('2024-02-04', 2024, 'work', '春节调休上班'),
    ('2024-02-18', 2024, 'work', '春节调休上班'),
    ('2024-04-04', 2024, 'rest', '清明节'),
    ('2024-04-05', 2024, 'rest', '清明节'),
    ('2024-04-06', 2024, 'rest', '清明节'),
    ('2024-04-07', 2024, 'work', '清明节调休上班'),
    ('2024-05-01', 2024, 'rest', '劳动节'),
    ('2024-05-02', 2024, 'rest', '劳动节'),
    ('2024-05-03', 2024, 'rest', '劳动节'),
    ('2024-05-04', 2024, 'rest', '劳动节'),
    ('2024-05-05', 2024, 'rest', '劳动节'),
    ('2024-04-28', 2024, 'work', '劳动节调休上班'),
    ('2024-05-11', 2024, 'work', '劳动节调休上班'),
    ('2024-06-08', 2024, 'rest', '端午节'),
    ('2024-06-09', 2024, 'rest', '端午节'),
    ('2024-06-10', 2024, 'rest', '端午节'),
    ('2024-09-15', 2024, 'rest', '中秋节'),
    ('2024-09-16', 2024, 'rest', '中秋节'),
    ('2024-09-17', 2024, 'rest', '中秋节'),
    ('2024-09-14', 2024, 'work', '中秋节调休上班'),
    ('2024-10-01', 2024, 'rest', '国庆节'),
    ('2024-10-02', 2024, 'rest', '国庆节'),
    ('2024-10-03', 2024, 'rest', '国庆节'),
    ('2024-10-04', 2024, 'rest', '国庆节'),
    ('2024-10-05', 2024, 'rest', '国庆节'),
    ('2024-10-06', 2024, 'rest', '国庆节'),
    ('2024-10-07', 2024, 'rest', '国庆节'),
    ('2024-09-29', 2024, 'work', '国庆节调休上班'),
    ('2024-10-12', 2024, 'work', '国庆节调休上班'),
    ('2025-01-01', 2025, 'rest', '元旦'),
    ('2025-01-28', 2025, 'rest', '春节'),
    ('2025-01-29', 2025, 'rest', '春节'),
    ('2025-01-30', 2025, 'rest', '春节'),
    ('2025-01-31', 2025, 'rest', '春节'),
    ('2025-02-01', 2025, 'rest', '春节'),
    ('2025-02-02', 2025, 'rest', '春节'),
    ('2025-02-03', 2025, 'rest', '春节'),
    ('2025-02-04', 2025, 'rest', '春节'),
    ('2025-01-26', 2025, 'work', '春节调休上班'),
    ('2025-02-08', 2025, 'work', '春节调休上班'),
    ('2025-04-04', 2025, 'rest', '清明节'),
    ('2025-04-05', 2025, 'rest', '清明节'),
    ('2025-04-06', 2025, 'rest', '清明节'),
    ('2025-05-01', 2025, 'rest', '劳动节'),
    ('2025-05-02', 2025, 'rest', '劳动节'),
    ('2025-05-03', 2025, 'rest', '劳动节'),
    ('2025-05-04', 2025, 'rest', '劳动节'),
    ('2025-05-05', 2025, 'rest', '劳动节'),
    ('2025-04-27', 2025, 'work', '劳动节调休上班'),
    ('2025-05-31', 2025, 'rest', '端午节'),
    ('2025-06-01', 2025, 'rest', '端午节'),
    ('2025-06-02', 2025, 'rest', '端午节'),
    ('2025-10-01', 2025, 'rest', '国庆节、中秋节'),
    ('2025-10-02', 2025, 'rest', '国庆节、中秋节'),
    ('2025-10-03', 2025, 'rest', '国庆节、中秋节'),
    ('2025-10-04', 2025, 'rest', '国庆节、中秋节'),
    ('2025-10-05', 2025, 'rest', '国庆节、中秋节'),
    ('2025-10-06', 2025, 'rest', '国庆节、中秋节'),
    ('2025-10-07', 2025, 'rest', '国庆节、中秋节'),
    ('2025-10-08', 2025, 'rest', '国庆节、中秋节'),
    ('2025-09-28', 2025, 'work', '国庆节、中秋节调休上班'),
    ('2025-10-11', 2025, 'work', '国庆节、中秋节调休上班'),
    ('2026-01-01', 2026, 'rest', '元旦'),
    ('2026-01-02', 2026, 'rest', '元旦'),
    ('2026-01-03', 2026, 'rest', '元旦'),
    ('2026-01-04', 2026, 'work', '元旦调休上班'),
    ('2026-02-15', 2026, 'rest', '春节'),
    ('2026-02-16', 2026, 'rest', '春节'),
    ('2026-02-17', 2026, 'rest', '春节'),
    ('2026-02-18', 2026, 'rest', '春节'),
    ('2026-02-19', 2026, 'rest', '春节'),
    ('2026-02-20', 2026, 'rest', '春节'),
    ('2026-02-21', 2026, 'rest', '春节'),
    ('2026-02-22', 2026, 'rest', '春节'),
    ('2026-02-23', 2026, 'rest', '春节'),
    ('2026-02-14', 2026, 'work', '春节调休上班'),
    ('2026-02-28', 2026, 'work', '春节调休上班'),
    ('2026-04-04', 2026, 'rest', '清明节'),
    ('2026-04-05', 2026, 'rest', '清明节'),
    ('2026-04-06', 2026, 'rest', '清明节'),
    ('2026-05-01', 2026, 'rest', '劳动节'),
    ('2026-05-02', 2026, 'rest', '劳动节'),
    ('2026-05-03', 2026, 'rest', '劳动节'),
    ('2026-05-04', 2026, 'rest', '劳动节'),
    ('2026-05-05', 2026, 'rest', '劳动节'),
    ('2026-05-09', 2026, 'work', '劳动节调休上班'),
    ('2026-06-19', 2026, 'rest', '端午节'),
    ('2026-06-20', 2026, 'rest', '端午节'),
    ('2026-06-21', 2026, 'rest', '端午节'),
    ('2026-09-25', 2026, 'rest', '中秋节'),
    ('2026-09-26', 2026, 'rest', '中秋节'),
    ('2026-09-27', 2026, 'rest', '中秋节'),
    ('2026-10-01', 2026, 'rest', '国庆节'),
    ('2026-10-02', 2026, 'rest', '国庆节'),
    ('2026-10-03', 2026, 'rest', '国庆节'),
    ('2026-10-04', 2026, 'rest', '国庆节'),
    ('2026-10-05', 2026, 'rest', '国庆节'),
    ('2026-10-06', 2026, 'rest', '国庆节'),
    ('2026-10-07', 2026, 'rest', '国庆节'),
    ('2026-09-20', 2026, 'work', '国庆节调休上班'),
    ('2026-10-10', 2026, 'work', '国庆节调休上班');

-- Inspection handovers (中央/市级督察交办) carry the deadline the handing body set, and its reference.
ALTER TABLE complaints ADD COLUMN handover_deadline TEXT;
ALTER TABLE complaints ADD COLUMN handover_ref TEXT NOT NULL DEFAULT '';
-- What the handling clock counts from (the day of acceptance, or of reopening; CST 'YYYY-MM-DD') and the
-- extension granted on the period that runs now, so due dates can be recomputed when the calendar changes.
ALTER TABLE complaints ADD COLUMN handling_start TEXT;
ALTER TABLE complaints ADD COLUMN handling_extension_days BIGINT NOT NULL DEFAULT 0;
-- 1 when the due date relies on a provisional calendar year (暂定，待国务院通知).
ALTER TABLE complaints ADD COLUMN calendar_provisional BIGINT NOT NULL DEFAULT 0;

UPDATE complaints SET handling_start = date(accepted_at + 28800, 'unixepoch'), handling_extension_days = extension_days
    WHERE accepted_at IS NOT NULL AND reopen_count = 0;
UPDATE complaints SET handling_start = (
        SELECT date(MAX(e.at) + 28800, 'unixepoch') FROM complaint_events e WHERE e.complaint_id = complaints.id AND e.to_state = 'reopened'),
    handling_extension_days = COALESCE((
        SELECT MAX(x.days) FROM complaint_extensions x WHERE x.complaint_id = complaints.id AND x.status = 'approved'
        AND x.decided_at >= (SELECT MAX(e.at) FROM complaint_events e WHERE e.complaint_id = complaints.id AND e.to_state = 'reopened')), 0)
    WHERE reopen_count > 0;

-- The calendar the stored due dates were computed with (kernel::calendar::Calendar::fingerprint); when it
-- differs from the current one the complaints area recomputes them.
INSERT INTO complaint_settings (key, value, updated_by, updated_at) VALUES ('calendar_fingerprint', '', 'migration', 1796083200);
