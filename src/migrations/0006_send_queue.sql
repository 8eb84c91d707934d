-- Sending runs from a queue that survives a restart: a message waits as 'queued' (with
-- when it may next be tried) until a sender holding the batch's opened links takes it.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt.
CREATE TABLE deliveries_new (
    recipient_id    INTEGER PRIMARY KEY REFERENCES recipients(id) ON DELETE CASCADE,
    -- 'queued' (waiting; tried again after a temporary failure), 'sending' (handed to
    -- the server, answer not yet recorded), 'unknown' (no clear answer: the message may
    -- have arrived), 'sent', or 'failed' (refused, with the server's reason). A message
    -- left 'sending' by a crash, or 'unknown', is never sent again automatically.
    state           TEXT    NOT NULL
                    CHECK (state IN ('queued', 'sending', 'unknown', 'sent', 'failed')),
    -- Tries of the current message (a temporary failure is retried a few times).
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         INTEGER,
    reminders       INTEGER NOT NULL DEFAULT 0,
    -- For 'queued': not before this time.
    next_attempt_at INTEGER,
    updated_at      INTEGER NOT NULL
) STRICT;
INSERT INTO deliveries_new (recipient_id, state, attempts, last_error, sent_at, reminders,
                            updated_at)
    SELECT recipient_id, state, attempts, last_error, sent_at, reminders, updated_at
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_queued ON deliveries (next_attempt_at) WHERE state = 'queued';

-- The message each batch sends (NULL: the default one). Plain text with placeholders.
ALTER TABLE batches ADD COLUMN mail_subject TEXT;
ALTER TABLE batches ADD COLUMN mail_body TEXT;

-- The SMTP relay as saved in the console (settings given in the configuration or the
-- environment take precedence). The password is sealed to the admin public key, bound
-- to the host and user name: only the passphrase opens it.
CREATE TABLE smtp_settings (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    host            TEXT    NOT NULL,
    port            INTEGER NOT NULL,
    security        TEXT    NOT NULL CHECK (security IN ('tls', 'starttls', 'none')),
    username        TEXT,
    password_enc    BLOB,
    password_sealed BLOB,
    from_addr       TEXT    NOT NULL,
    reply_to        TEXT,
    ca_pem          TEXT,
    updated_at      INTEGER NOT NULL,
    CHECK ((username IS NULL) = (password_sealed IS NULL)),
    CHECK ((password_enc IS NULL) = (password_sealed IS NULL))
) STRICT;
