-- Migration readiness (issue 17): what passdrop learns about each submitted user's
-- mailbox and password that will trouble the migration. Nothing here is secret, but all
-- of it is about the user: it goes at purge with the user's other rows.

-- One row per submitted recipient, replaced at each new submission.
CREATE TABLE user_readiness (
    recipient_id  INTEGER PRIMARY KEY REFERENCES recipients(id) ON DELETE CASCADE,
    -- Lint codes of the password, space-separated (batch::lint), worked out at submission.
    lint_codes    TEXT    NOT NULL DEFAULT '',
    -- The last re-check of the sealed password against the old server.
    recheck       TEXT    CHECK (recheck IN ('ok', 'password_changed', 'recheck_inconclusive')),
    rechecked_at  INTEGER,
    -- The mailbox inventory read in the verifying session (counts and sizes only).
    inventory_at  INTEGER,
    folders       INTEGER,
    messages      INTEGER,
    bytes         INTEGER,
    largest_message_bytes INTEGER,
    oversized_messages    INTEGER,
    -- The folders that will trouble the migration, as lines "code<TAB>name".
    problem_folders TEXT,
    -- Codes about the whole mailbox (too_many_items), space-separated.
    mailbox_codes TEXT,
    -- 1 when the inventory could not read everything in its time (counts are a floor).
    inventory_partial INTEGER
) STRICT;

-- The last re-check of each batch: counts only, and its progress while it runs.
CREATE TABLE batch_rechecks (
    batch_id     TEXT    PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    total        INTEGER NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    inconclusive INTEGER NOT NULL DEFAULT 0
) STRICT;
