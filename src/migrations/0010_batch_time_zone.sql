-- The time zone a batch's times are shown in (an IANA name such as Europe/London), when
-- it differs from the server's --time-zone. NULL: the server's setting (UTC when unset).
ALTER TABLE batches ADD COLUMN time_zone TEXT;
