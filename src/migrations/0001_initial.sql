-- passdrop's initial schema. Times are Unix seconds (UTC).

-- The one admin of this installation: an HPKE public key and its private key wrapped
-- under Argon2id(passphrase).
CREATE TABLE admin (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    public_key          BLOB    NOT NULL,
    kdf_salt            BLOB    NOT NULL,
    kdf_m_cost          INTEGER NOT NULL,
    kdf_t_cost          INTEGER NOT NULL,
    kdf_p_cost          INTEGER NOT NULL,
    wrap_nonce          BLOB    NOT NULL,
    wrapped_private_key BLOB    NOT NULL,
    created_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE batches (
    id                 TEXT    PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    org_name           TEXT,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    link_lifetime_secs INTEGER NOT NULL,
    has_user_root      INTEGER NOT NULL DEFAULT 0,
    next_steps         TEXT,
    ask_mail_client    INTEGER NOT NULL DEFAULT 1,
    public_key         BLOB    NOT NULL,
    first_exported_at  INTEGER
) STRICT;

-- Kept apart from `batches` so that purge can delete the key first (crypto-shredding):
-- a batch row without a key row is a purge that has started and must be finished.
CREATE TABLE batch_keys (
    batch_id           TEXT PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,
    enc                BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL
) STRICT;

CREATE TABLE recipients (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id        TEXT    NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    roster_line     INTEGER NOT NULL,
    email           TEXT    NOT NULL COLLATE NOCASE,
    user_name       TEXT    NOT NULL,
    display_name    TEXT,
    alternate_email TEXT,
    user_root       TEXT,
    UNIQUE (batch_id, email)
) STRICT;

-- Every link ever issued for a recipient; at most one is 'live' at a time.
CREATE TABLE links (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   BLOB    NOT NULL UNIQUE,
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    state        TEXT    NOT NULL
                 CHECK (state IN ('live', 'used', 'revoked', 'replaced', 'locked')),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT;
CREATE INDEX links_by_recipient ON links (recipient_id);
CREATE UNIQUE INDEX one_live_link_per_recipient ON links (recipient_id) WHERE state = 'live';

-- The latest sealed password of each recipient.
CREATE TABLE submissions (
    recipient_id INTEGER PRIMARY KEY REFERENCES recipients(id) ON DELETE CASCADE,
    enc          BLOB    NOT NULL,
    ciphertext   BLOB    NOT NULL,
    submitted_at INTEGER NOT NULL,
    -- The user's answer to "How do you read your email today?" (not secret).
    mail_client  TEXT
) STRICT;

-- What remains of a purged batch: no user data, only its name, counts and times.
CREATE TABLE tombstones (
    batch_id          TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    purged_at         INTEGER NOT NULL,
    recipients        INTEGER NOT NULL,
    submitted         INTEGER NOT NULL,
    first_exported_at INTEGER
) STRICT;

-- Set in the transaction that deletes a purged batch's rows, cleared once the file is
-- compacted (VACUUM + WAL truncated): a compaction that could not finish is retried.
CREATE TABLE pending_compaction (
    id INTEGER PRIMARY KEY CHECK (id = 1)
) STRICT;
