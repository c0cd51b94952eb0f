-- HJ 212-2025 (issue 7): the SM4 keys of the devices, with their history, and the review of quarantined packets.
-- The PostgreSQL twin of this file defines the same tables and columns (crates/kernel/tests/schema.rs).

-- One row per key a device has had. `state`: 'current' (one per device at most), 'pending' (sent with 1014,
-- not yet confirmed by the device's 9012), 'retired' (replaced; kept so that packets sent before the change still
-- open and stored packets can be decrypted again), 'abandoned' (issued but never confirmed). `key_text` is the
-- 16-character key itself (a secret: never logged, never returned by the API); `fingerprint` is what is shown.
-- `sk_created_at` is SKCreateTime, `valid_from`/`valid_to` when the key became current and was replaced.
CREATE TABLE hj212_keys (
    id INTEGER PRIMARY KEY NOT NULL,
    device_id BIGINT NOT NULL REFERENCES devices(id),
    key_text TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('current', 'pending', 'retired', 'abandoned')),
    source TEXT NOT NULL CHECK (source IN ('registered', 'rotation')),
    sk_created_at BIGINT NOT NULL,
    valid_from BIGINT,
    valid_to BIGINT,
    issued_qn TEXT,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX hj212_keys_device ON hj212_keys(device_id, state);

-- Which key opened an encrypted packet (NULL: sent in clear).
ALTER TABLE hj212_packets ADD COLUMN key_id BIGINT REFERENCES hj212_keys(id);

-- The outcome of a review: 'registered' (the device was registered from the entry) or 'dismissed' (with a note).
ALTER TABLE hj212_quarantine ADD COLUMN review_outcome TEXT CHECK (review_outcome IN ('registered', 'dismissed'));
ALTER TABLE hj212_quarantine ADD COLUMN review_note TEXT;
ALTER TABLE hj212_quarantine ADD COLUMN registered_device_id BIGINT REFERENCES devices(id);
