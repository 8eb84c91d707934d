-- Admin (master user) credentials for a batch's old IMAP server (issue 18): the login
-- form, the admin's login, the Dovecot separator, and the admin password sealed to the
-- batch key (HPKE, like users' passwords; gone with the batch key at purge). All NULL:
-- the batch has no admin login. They are part of the batch's signed settings.
ALTER TABLE batches ADD COLUMN admin_form TEXT
    CHECK (admin_form IN ('dovecot', 'exchange', 'mirapoint', 'userroot'));
ALTER TABLE batches ADD COLUMN admin_user TEXT;
ALTER TABLE batches ADD COLUMN admin_separator TEXT;
ALTER TABLE batches ADD COLUMN admin_password_enc BLOB;
ALTER TABLE batches ADD COLUMN admin_password_ct BLOB;

-- What probing each roster user through the admin login found: `covered` (the admin
-- login opens the mailbox), `needs_password` (the server refused it for this user;
-- `reason` holds its words), `requested` (covered, but the admin asked the user for
-- their password anyway). No row: not probed yet (or no clear answer yet).
CREATE TABLE admin_probes (
    recipient_id INTEGER PRIMARY KEY REFERENCES recipients(id) ON DELETE CASCADE,
    batch_id     TEXT    NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    state        TEXT    NOT NULL CHECK (state IN ('covered', 'needs_password', 'requested')),
    reason       TEXT,
    probed_at    INTEGER NOT NULL
);
CREATE INDEX admin_probes_by_batch ON admin_probes (batch_id);
