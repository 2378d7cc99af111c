-- +goose Up
-- A text's hash (160 bits of SHA-256, internal/store textKey) as its 20
-- bytes instead of 40 hex characters: half the bytes in the row and in its
-- unique index. Byte order is the hex order, so ORDER BY hash is unchanged.
ALTER TABLE search_texts ALTER COLUMN hash TYPE BYTEA USING decode(hash, 'hex');

-- +goose Down
ALTER TABLE search_texts ALTER COLUMN hash TYPE TEXT USING encode(hash, 'hex');
