-- Issue 22 with issue 16: the webhook events of the user's ways out. A user who asks IT
-- for help ("I need help") or reports their link ("This wasn't me") becomes
-- `user.needs_help` / `user.reported`, written in the transaction that records the state
-- (like the events of migration 0016). Payloads carry ids, the email and the state only.
CREATE TRIGGER webhook_user_needs_help_new AFTER INSERT ON user_states
WHEN NEW.needs_help_at IS NOT NULL AND EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, recipient_id, at)
        SELECT 'user.needs_help', r.batch_id, r.id, NEW.needs_help_at
        FROM recipients r WHERE r.id = NEW.recipient_id;
END;

CREATE TRIGGER webhook_user_needs_help AFTER UPDATE OF needs_help_at ON user_states
WHEN OLD.needs_help_at IS NULL AND NEW.needs_help_at IS NOT NULL
    AND EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, recipient_id, at)
        SELECT 'user.needs_help', r.batch_id, r.id, NEW.needs_help_at
        FROM recipients r WHERE r.id = NEW.recipient_id;
END;

CREATE TRIGGER webhook_user_reported_new AFTER INSERT ON user_states
WHEN NEW.reported_at IS NOT NULL AND EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, recipient_id, at)
        SELECT 'user.reported', r.batch_id, r.id, NEW.reported_at
        FROM recipients r WHERE r.id = NEW.recipient_id;
END;

CREATE TRIGGER webhook_user_reported AFTER UPDATE OF reported_at ON user_states
WHEN OLD.reported_at IS NULL AND NEW.reported_at IS NOT NULL
    AND EXISTS (SELECT 1 FROM webhooks)
BEGIN
    INSERT INTO webhook_events (event, batch_id, recipient_id, at)
        SELECT 'user.reported', r.batch_id, r.id, NEW.reported_at
        FROM recipients r WHERE r.id = NEW.recipient_id;
END;
