-- Stored air station days (issue 15): what crate `air` computed from the audited hours, so that pages read
-- them instead of recomputing a year of days from raw hours on every request.

-- Owned by `readings`. The data version: bumped by every roll-up, in the transaction that replaces the
-- roll-ups, so that a figure computed at version v is known to be current while the version is still v.
CREATE TABLE reading_data_version (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO reading_data_version (id, version) VALUES (1, 0);

-- Owned by `readings`. The stale marks: the data version of the last roll-up that touched a point's CST day
-- (day number since 1970-01-01 CST). A day never touched has no row (version 0).
CREATE TABLE reading_day_versions (
    point_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (point_id, day)
);

-- Owned by `air`. One station's CST day: GB 3095 daily values as exact fractions num/den (NULL when not
-- valid), the valid hours (O3: 8-h windows) per pollutant, the daily AQI by the HJ 633 edition of that date,
-- whether the day counts; `source_version` is the day's version in reading_day_versions when it was read,
-- `method` the version of the computation. A day without any hour is stored with has_hours = 0.
CREATE TABLE air_station_days (
    point_id BIGINT NOT NULL,
    date TEXT NOT NULL,
    has_hours BIGINT NOT NULL,
    so2_num BIGINT,
    so2_den BIGINT,
    no2_num BIGINT,
    no2_den BIGINT,
    pm10_num BIGINT,
    pm10_den BIGINT,
    pm25_num BIGINT,
    pm25_den BIGINT,
    co_num BIGINT,
    co_den BIGINT,
    o3_num BIGINT,
    o3_den BIGINT,
    o3_max_1h_num BIGINT,
    o3_max_1h_den BIGINT,
    so2_support BIGINT NOT NULL,
    no2_support BIGINT NOT NULL,
    pm10_support BIGINT NOT NULL,
    pm25_support BIGINT NOT NULL,
    co_support BIGINT NOT NULL,
    o3_support BIGINT NOT NULL,
    aqi BIGINT,
    aqi_level BIGINT,
    aqi_beyond_table BIGINT NOT NULL,
    primary_pollutants TEXT NOT NULL,
    aqi_standard TEXT NOT NULL,
    valid BIGINT NOT NULL,
    source_version BIGINT NOT NULL,
    method BIGINT NOT NULL,
    computed_at BIGINT NOT NULL,
    PRIMARY KEY (point_id, date)
);
