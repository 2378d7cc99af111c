-- +goose Up
-- No index of files by id alone (see the SQLite migration): a file is
-- looked up within its package or its version, by the key (version_id,
-- filename). PostgreSQL keeps the SHA-256 as text: its index by content
-- stores a repeated value once (deduplication), and the search tables
-- join on it as text.
ALTER TABLE files DROP CONSTRAINT files_pkey;

-- +goose Down
ALTER TABLE files ADD PRIMARY KEY (id);
