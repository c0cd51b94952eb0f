-- Owned by `kernel` (the audit log). The audit version: bumped by every entry written to the audit log, in the
-- transaction of the change the entry describes (every change is audited), so that a page computed while the
-- version was v is known to be current while it is still v. Cached pages key on it with the readings' data
-- version (issue 15).
CREATE TABLE audit_version (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO audit_version (id, version) VALUES (1, 0);

CREATE TRIGGER audit_log_bumps_version AFTER INSERT ON audit_log
BEGIN
    UPDATE audit_version SET version = version + 1 WHERE id = 1;
END;
