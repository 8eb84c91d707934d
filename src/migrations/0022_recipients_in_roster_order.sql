-- Issue 21: the export, the link lists and the recipient pages read a batch's
-- recipients in roster order. Without this index SQLite found them through
-- (batch_id, email) and sorted every row afterwards, the 1 KB sealed passwords of an
-- export included; with it they are read in roster order and nothing is sorted.
-- No secret is in it.
CREATE INDEX recipients_by_roster_line ON recipients (batch_id, roster_line);
