-- Link tokens derived from a per-batch link key (issue 21). A batch created from now on
-- has a random 32-byte link key, HPKE-sealed once to its batch key and kept beside the
-- sealed batch key (so purge, which deletes the key row first, shreds it with it); each
-- of its links records the counter its secret was derived with instead of a sealed
-- token. Which scheme a link uses is told by `links.link_counter`: NULL, the token is
-- sealed (`sealed_token_enc`, `sealed_token`) as before; set, it is recomputed from the
-- link key. Older batches have no link key and keep their sealed tokens.
ALTER TABLE batch_keys ADD COLUMN link_key_enc BLOB;
ALTER TABLE batch_keys ADD COLUMN sealed_link_key BLOB;
ALTER TABLE links ADD COLUMN link_counter INTEGER CHECK (link_counter >= 0);
