-- Owned by `kernel` (the audit log). The audit version: bumped by every entry written to the audit log, in the
-- transaction of the change the entry describes (every change is audited), so that a page computed while the
-- version was v is known to be current while it is still v. Cached pages key on it with the readings' data
-- version (issue 15).
CREATE TABLE audit_version (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO audit_version (id, version) VALUES (1, 0);

CREATE FUNCTION audit_version_bump() RETURNS trigger AS $$
BEGIN
    UPDATE audit_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Deferred to the commit: the one row is locked only at the very end of each audited transaction, never
-- before the transaction's own row locks, so that two audited transactions cannot deadlock on it.
CREATE CONSTRAINT TRIGGER audit_log_bumps_version AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION audit_version_bump();
