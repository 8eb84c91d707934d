-- Checking each password against the old IMAP server before accepting it (optional,
-- per batch).
ALTER TABLE batches ADD COLUMN imap_url TEXT;
-- PEM text of the authorities trusted for that server (instead of the public ones).
ALTER TABLE batches ADD COLUMN imap_ca_pem TEXT;
-- Or the SHA-256 of the one certificate trusted, as 64 lowercase hex digits.
ALTER TABLE batches ADD COLUMN imap_cert_sha256 TEXT;
-- When the server cannot be asked: 'retry' (ask the user to try later) or 'accept'
-- (accept it marked not verified).
ALTER TABLE batches ADD COLUMN imap_when_unreachable TEXT NOT NULL DEFAULT 'retry'
    CHECK (imap_when_unreachable IN ('retry', 'accept'));

-- What the IMAP check said about a submission: NULL when the batch does not check,
-- 'verified' when the server accepted the password, 'unverified' when it could not be
-- asked and the batch accepts such passwords.
ALTER TABLE submissions ADD COLUMN imap_check TEXT
    CHECK (imap_check IN ('verified', 'unverified'));
