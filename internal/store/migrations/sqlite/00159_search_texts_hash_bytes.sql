-- +goose Up
-- A text's hash (160 bits of SHA-256, internal/store textKey) as its 20
-- bytes instead of 40 hex characters: half the bytes in the row and in its
-- unique index. Byte order is the hex order, so ORDER BY hash is unchanged.
-- The column keeps its declared type: a TEXT column stores a BLOB as it is
-- (rebuilding the table would mean rebuilding its FTS5 rows too).
UPDATE search_texts SET hash = unhex(hash);

-- +goose Down
UPDATE search_texts SET hash = lower(hex(hash));
