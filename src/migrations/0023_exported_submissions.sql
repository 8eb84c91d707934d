-- Which sealed password each recorded export read, so that a purge can name anyone
-- whose password is in no file the admin was given (a user who submitted, or submitted
-- again, after the last download). One row per recipient, written when an export is
-- recorded: `enc_tag` is the last 8 bytes of the HPKE encapsulated key the export read
-- (`storage::submission_tag`), which a new submission replaces. It is part of a public
-- key drawn for one seal: it opens nothing and says nothing about the user. Deleted
-- with the batch at its purge.
CREATE TABLE exported_submissions (
    recipient_id INTEGER PRIMARY KEY REFERENCES recipients(id) ON DELETE CASCADE,
    enc_tag      INTEGER NOT NULL
) STRICT;
