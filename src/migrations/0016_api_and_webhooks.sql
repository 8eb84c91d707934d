-- API tokens for /api/v1/ (`passdrop api-token`): only the SHA-256 of a token is kept,
-- never the token. A revoked token's row is deleted. Nothing here is about a batch's
-- users, so a purge leaves it alone.
CREATE TABLE api_tokens (
    name         TEXT    PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

-- Every authenticated API call: which token (by name), what route (the route's pattern,
-- never the concrete path, which can hold an email address), which batch, the answer's
-- status. Kept after a purge, like the batch's audit trail: it holds no user data.
CREATE TABLE api_calls (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    token_name TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    route      TEXT    NOT NULL,
    batch_id   TEXT,
    status     INTEGER NOT NULL
) STRICT;
CREATE INDEX api_calls_token ON api_calls (token_name, at);

-- Webhook endpoints (`passdrop webhook add`): where events are POSTed, for every batch
-- (batch_id NULL) or one. The secret (whsec_...) signs each delivery; the server needs
-- it unattended, so it is stored as it is (never logged, shown once).
CREATE TABLE webhooks (
    id              TEXT    PRIMARY KEY,
    url             TEXT    NOT NULL,
    batch_id        TEXT,
    -- Space-separated event types, or '*' for all.
    events          TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    last_status     TEXT,
    last_attempt_at INTEGER
) STRICT;

-- What happened, written by the triggers below in the same transaction as the change
-- itself, while any webhook exists; the delivery loop turns each into deliveries and
-- deletes it. Only ids: the email is read when the payload is made.
CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY,
    event        TEXT    NOT NULL,
    batch_id     TEXT    NOT NULL,
    recipient_id INTEGER,
    at           INTEGER NOT NULL
) STRICT;

-- Signed messages waiting to be delivered (retried with backoff) or done. A batch's
-- rows carry its users' emails, so its purge deletes them.
CREATE TABLE webhook_deliveries (
    id              TEXT    PRIMARY KEY,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    batch_id        TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'delivered', 'failed')),
    last_error      TEXT
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'queued';
CREATE INDEX webhook_deliveries_batch ON webhook_deliveries (batch_id);

CREATE TRIGGER webhook_batch_created AFTER INSERT ON batches
WHEN EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, at)
        VALUES ('batch.created', NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER webhook_user_opened AFTER UPDATE OF opened_at ON links
WHEN OLD.opened_at IS NULL AND NEW.opened_at IS NOT NULL AND EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, recipient_id, at)
        SELECT 'user.opened', r.batch_id, r.id, NEW.opened_at
        FROM recipients r WHERE r.id = NEW.recipient_id;
END;

CREATE TRIGGER webhook_user_submitted AFTER INSERT ON submissions
WHEN EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, recipient_id, at)
        SELECT 'user.submitted', r.batch_id, r.id, NEW.submitted_at
        FROM recipients r WHERE r.id = NEW.recipient_id;
    INSERT INTO webhook_events (event, batch_id, recipient_id, at)
        SELECT 'user.verified', r.batch_id, r.id, NEW.submitted_at
        FROM recipients r WHERE r.id = NEW.recipient_id AND NEW.imap_check = 'verified';
    -- The last user of the batch to submit completes it: said once, here, where the
    -- check and the submission are one transaction.
    INSERT INTO webhook_events (event, batch_id, at)
        SELECT 'batch.completed', r.batch_id, NEW.submitted_at
        FROM recipients r WHERE r.id = NEW.recipient_id
        AND NOT EXISTS (SELECT 1 FROM recipients o WHERE o.batch_id = r.batch_id
                        AND o.id NOT IN (SELECT recipient_id FROM submissions));
END;

CREATE TRIGGER webhook_batch_purged AFTER INSERT ON tombstones
WHEN EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, at)
        VALUES ('batch.purged', NEW.batch_id, NEW.purged_at);
END;
