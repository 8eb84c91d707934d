-- Who is asking, per batch (issue 16): a named contact, an accent colour, the line "our
-- link always starts with ...", and a logo. All of it is part of the batch's signed
-- `batch` settings group (after the tag field `ext:branding`, only when one is set);
-- the logo is signed through its SHA-256, kept here beside the other fields. NULL: not
-- set (the pages keep their unbranded wording).
ALTER TABLE batches ADD COLUMN contact_name TEXT;
ALTER TABLE batches ADD COLUMN contact_role TEXT;
ALTER TABLE batches ADD COLUMN contact_phone TEXT;
ALTER TABLE batches ADD COLUMN contact_email TEXT;
ALTER TABLE batches ADD COLUMN accent_colour TEXT;
ALTER TABLE batches ADD COLUMN link_prefix TEXT;
ALTER TABLE batches ADD COLUMN logo_sha256 BLOB;

-- The logo itself, re-encoded as PNG by passdrop (never the uploaded bytes), apart from
-- the batch row so that lookups do not carry it. Deleted with the batch at purge.
CREATE TABLE batch_logos (
    batch_id TEXT PRIMARY KEY NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    png BLOB NOT NULL
);
