-- +goose Up
-- No index of files by id alone (see the SQLite migration): a file is
-- looked up within its package or its version, by the key (version_id,
-- filename), which becomes the primary key — the table keeps one, so
-- logical replication (replica identity) and tools that expect a key
-- still work. PostgreSQL keeps the SHA-256 as text: its index by content
-- stores a repeated value once (deduplication), and the search tables
-- join on it as text.
ALTER TABLE files DROP CONSTRAINT files_pkey;
ALTER TABLE files DROP CONSTRAINT files_version_id_filename_key;
ALTER TABLE files ADD CONSTRAINT files_pkey PRIMARY KEY (version_id, filename);

-- +goose Down
ALTER TABLE files DROP CONSTRAINT files_pkey;
ALTER TABLE files ADD CONSTRAINT files_version_id_filename_key UNIQUE (version_id, filename);
ALTER TABLE files ADD PRIMARY KEY (id);
