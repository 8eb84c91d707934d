-- The admin console: sessions, the one-time setup link, the audit trail, links the
-- admin can fetch again (sealed to the batch key), and when a link was first opened.

CREATE TABLE admin_sessions (
    token_hash   BLOB    PRIMARY KEY,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;

CREATE TABLE setup_tokens (
    token_hash BLOB    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;

-- What happened to a batch, with no user data: kept after purge as counts and times.
CREATE TABLE audit_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    count    INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX audit_events_by_batch ON audit_events (batch_id, at);

ALTER TABLE links ADD COLUMN sealed_token_enc BLOB;
ALTER TABLE links ADD COLUMN sealed_token BLOB;
ALTER TABLE links ADD COLUMN opened_at INTEGER;
