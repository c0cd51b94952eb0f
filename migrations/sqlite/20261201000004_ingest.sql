-- HJ 212 gateway (issue 7): raw packets, quarantine, device state.
-- The PostgreSQL twin of this file defines the same tables and columns (crates/kernel/tests/schema.rs).

-- Stored verbatim, with its receive time: the evidence for enforcement. `packet` holds the bytes from `##`
-- through the CRC as text (HJ 212 is ASCII/UTF-8); bytes that are not UTF-8 are kept as base64
-- (`encoding = 'base64'`). `dedup_key` (SHA-256 of MN + bytes) makes a resent packet land once.
CREATE TABLE hj212_packets (
    id INTEGER PRIMARY KEY NOT NULL,
    received_at BIGINT NOT NULL,
    peer TEXT NOT NULL,
    mn TEXT NOT NULL,
    device_id BIGINT NOT NULL REFERENCES devices(id),
    point_id BIGINT NOT NULL,
    cn BIGINT NOT NULL,
    qn TEXT,
    data_time BIGINT,
    packet TEXT NOT NULL,
    encoding TEXT NOT NULL CHECK (encoding IN ('utf8', 'base64')),
    crc TEXT NOT NULL CHECK (crc IN ('ok', 'variant', 'bad')),
    dedup_key TEXT NOT NULL UNIQUE,
    values_count BIGINT NOT NULL,
    source_id BIGINT REFERENCES reading_sources(id)
);
CREATE INDEX hj212_packets_device ON hj212_packets(device_id, received_at);

-- Packets refused as data: unknown or inactive device, wrong password, CRC the device's mode refuses, a
-- segment that cannot be read. An operator reviews them (and may register the device).
CREATE TABLE hj212_quarantine (
    id INTEGER PRIMARY KEY NOT NULL,
    received_at BIGINT NOT NULL,
    peer TEXT NOT NULL,
    mn TEXT,
    device_id BIGINT REFERENCES devices(id),
    reason TEXT NOT NULL CHECK (reason IN ('unknown_device', 'inactive_device', 'wrong_password', 'bad_crc', 'unreadable')),
    detail TEXT NOT NULL,
    packet TEXT NOT NULL,
    encoding TEXT NOT NULL CHECK (encoding IN ('utf8', 'base64')),
    dedup_key TEXT NOT NULL UNIQUE,
    reviewed_by BIGINT REFERENCES users(id),
    reviewed_at BIGINT
);
CREATE INDEX hj212_quarantine_received ON hj212_quarantine(received_at);

-- One row per device that has connected: online while a connection carries its packets.
-- clock_drift_seconds = device clock (QN, else the DataTime of a real-time packet) minus receive time.
CREATE TABLE hj212_device_state (
    device_id BIGINT PRIMARY KEY NOT NULL REFERENCES devices(id),
    online BIGINT NOT NULL DEFAULT 0,
    peer TEXT,
    last_packet_at BIGINT,
    last_data_time BIGINT,
    clock_drift_seconds BIGINT,
    packets BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_at BIGINT,
    updated_at BIGINT NOT NULL
);
