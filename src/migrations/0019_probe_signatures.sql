-- Issue 18 with issue 19: a probe answer is signed with the settings key (kind
-- `admin-probe`, bound to the batch, the recipient's id, EmailAddress, UserName and
-- UserRoot, whether the admin login opened the mailbox, and the admin login it was
-- tried with), so that a row changed in the database cannot make an export write the
-- admin password into another user's row. Answers without a signature (none were ever
-- released) are not used by an export.
ALTER TABLE admin_probes ADD COLUMN sig BLOB;
