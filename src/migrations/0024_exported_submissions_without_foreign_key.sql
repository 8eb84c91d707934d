-- Issue 21: an export records one row here per password it read (migration 0023):
-- 50,000 rows for the largest batch, and SQLite looked each new row's recipient up for
-- the foreign key, 20-30 ms of the 60 the record took. The table is rebuilt without the
-- foreign key, keeping every row. What the key gave is kept otherwise:
-- * a recipient's row goes with the recipient (ON DELETE CASCADE): the trigger below;
-- * no row names a recipient that does not exist: rows are written only by
--   `Store::mark_exported`, for recipients its export read from one batch, in a
--   transaction that fails unless that batch still exists (recipients are deleted only
--   with their batch, by the purge), and recipient ids are never reused (AUTOINCREMENT).
ALTER TABLE exported_submissions RENAME TO exported_submissions_0023;
CREATE TABLE exported_submissions (
    recipient_id INTEGER PRIMARY KEY,
    enc_tag      INTEGER NOT NULL
) STRICT;
INSERT INTO exported_submissions (recipient_id, enc_tag)
    SELECT recipient_id, enc_tag FROM exported_submissions_0023;
DROP TABLE exported_submissions_0023;
CREATE TRIGGER exported_submissions_go_with_their_recipient AFTER DELETE ON recipients
BEGIN
    DELETE FROM exported_submissions WHERE recipient_id = OLD.id;
END;
