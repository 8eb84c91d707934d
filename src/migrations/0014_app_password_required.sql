-- When the old server refused this user's login because the account needs an
-- application password (Gmail's "Application-specific password required" and the like):
-- the time it last said so, NULL when never. Deleted with the user's row at purge.
ALTER TABLE recipients ADD COLUMN app_password_required INTEGER;
