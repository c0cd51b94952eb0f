-- The seeded years' note named a research file outside the platform; a user reads where the days come from.
UPDATE working_calendar_years
SET note = '种子数据：按国务院办公厅节假日安排通知录入，并与公开的节假日数据集核对'
WHERE updated_by = 'migration' AND note LIKE '种子数据：shared/%';
