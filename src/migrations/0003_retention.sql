-- Retention is chosen per batch: a batch nobody purges is purged this long after its
-- links expire, or this long after its first export, whichever comes first.
ALTER TABLE batches ADD COLUMN retain_after_expiry_secs INTEGER NOT NULL DEFAULT 604800;
ALTER TABLE batches ADD COLUMN retain_after_export_secs INTEGER NOT NULL DEFAULT 86400;
