-- A link's password checks the old server gave no clear answer to (a timeout, BYE, a
-- lost connection, "[UNAVAILABLE]", "an app password is required"): they never count
-- toward the link's lock, so they have a cap of their own per hour (`serve
-- --imap-uncounted-checks-per-link`). The count and when its hour began; NULL: none yet.
-- Deleted with the link's row at purge.
ALTER TABLE links ADD COLUMN uncounted_checks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN uncounted_since INTEGER;
