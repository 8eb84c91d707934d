-- Links sent by email: per recipient, where the message stands. Deleted with the
-- recipient (and so with the batch at purge). No message body is stored.
CREATE TABLE deliveries (
    recipient_id INTEGER PRIMARY KEY REFERENCES recipients(id) ON DELETE CASCADE,
    -- 'sending' (handed to the server, answer not yet recorded: never sent again
    -- automatically), 'sent', or 'failed' (with the server's reason).
    state        TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    sent_at      INTEGER,
    reminders    INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
) STRICT;
