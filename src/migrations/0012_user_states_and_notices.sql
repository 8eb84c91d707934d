-- Issue 16, the user's ways out: per user, when they asked IT for help ("I need help")
-- and when they reported their link ("This wasn't me"). Kept with the user's rows and
-- deleted with them at purge. The audit trail records only that it happened, never who.
CREATE TABLE user_states (
    recipient_id  INTEGER PRIMARY KEY REFERENCES recipients(id) ON DELETE CASCADE,
    needs_help_at INTEGER,
    reported_at   INTEGER
) STRICT;

-- Emails to the admin (the relay's Reply-To, else its From) about a batch: a user
-- reported their link, asked for help, or everyone has submitted (once per batch).
-- Queued here and sent, paced, by the server's notifier. Deleted with the batch.
CREATE TABLE admin_notices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id        TEXT    NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    recipient_id    INTEGER REFERENCES recipients(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('reported', 'needs_help', 'completed')),
    at              INTEGER NOT NULL,
    -- 'queued' (waiting, not before next_attempt_at), 'sending' (handed to the relay,
    -- never sent again automatically), 'sent', 'failed'.
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
CREATE INDEX admin_notices_queued ON admin_notices (next_attempt_at) WHERE state = 'queued';
CREATE UNIQUE INDEX admin_notices_one_completion ON admin_notices (batch_id)
    WHERE kind = 'completed';
