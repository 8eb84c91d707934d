-- Links of format 2 carry a short random tag per batch (`/s/2.{tag}.{secret}`), so that
-- after a purge the tombstone can answer a pending user's link with "this collection has
-- closed" (410) without keeping anything of the users. Older batches get a tag now: the
-- links already emailed keep their format 1 (the bare secret) and keep working; links
-- reissued from now on are format 2. 6 random bytes, 12 lowercase hex digits; the tag
-- is not secret (the link's secret is what opens the form).
ALTER TABLE batches ADD COLUMN link_tag TEXT;
UPDATE batches SET link_tag = lower(hex(randomblob(6))) WHERE link_tag IS NULL;
CREATE UNIQUE INDEX batches_by_link_tag ON batches (link_tag);

-- The automatic purge an export set, kept on its own: an export no longer moves it
-- before the links' expiry unless the admin chose that, and a "keep collecting" export
-- leaves it as it was. Older exports keep the date they set (first export plus the
-- retention after export).
ALTER TABLE batches ADD COLUMN export_purge_at INTEGER;
UPDATE batches SET export_purge_at = first_exported_at + retain_after_export_secs
    WHERE first_exported_at IS NOT NULL;

-- What a tombstone keeps for the links of its batch: the tag and the organisation name
-- shown to users (the admin's own words, never a user's). NULL for batches purged
-- before this migration: their links answer 404 as before.
ALTER TABLE tombstones ADD COLUMN link_tag TEXT;
ALTER TABLE tombstones ADD COLUMN org_name TEXT;
CREATE INDEX tombstones_by_link_tag ON tombstones (link_tag);
