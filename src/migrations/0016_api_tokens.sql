-- API tokens for /api/v1/ (`passdrop api-token`): only the SHA-256 of a token is kept,
-- never the token. A revoked token's row is deleted. Nothing here is about a batch's
-- users, so a purge leaves it alone.
CREATE TABLE api_tokens (
    name         TEXT    PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

-- Every authenticated API call: which token (by name), what route (the route's pattern,
-- never the concrete path, which can hold an email address), which batch, the answer's
-- status. Kept after a purge, like the batch's audit trail: it holds no user data.
CREATE TABLE api_calls (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    token_name TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    route      TEXT    NOT NULL,
    batch_id   TEXT,
    status     INTEGER NOT NULL
) STRICT;
CREATE INDEX api_calls_token ON api_calls (token_name, at);
