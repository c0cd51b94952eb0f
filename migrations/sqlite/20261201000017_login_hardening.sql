-- Every API token expires (issue 12). Tokens issued before lifetimes existed never did; they get the longest
-- lifetime a token may now have (365 days, AppConfig::api_token_max_days) counted from this upgrade, so that
-- machine clients keep working while their tokens are rotated.
UPDATE api_tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 365 * 86400
WHERE expires_at IS NULL AND revoked_at IS NULL;

-- A login attempt is recorded before its password is verified (so that concurrent attempts count each other,
-- issue 12); `pending` is 1 until the verification has failed. The per-username limit counts pending rows
-- too; the per-address backoff counts only settled failures, so that colleagues logging in at once from one
-- office address do not slow each other down.
ALTER TABLE login_failures ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
