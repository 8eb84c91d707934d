-- Signatures over the settings the server trusts unattended (made with the settings
-- signing key, which only the passphrase opens; checked against the key file outside
-- the data directory). NULL: not signed yet, and not used until it is.
ALTER TABLE batches ADD COLUMN settings_sig BLOB;
ALTER TABLE batches ADD COLUMN message_sig BLOB;
ALTER TABLE smtp_settings ADD COLUMN sig BLOB;
