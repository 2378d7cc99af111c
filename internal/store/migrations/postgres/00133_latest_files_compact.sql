-- +goose Up
-- The rows of a package keyed by their ordinal, and no name key (it is
-- analysis.NameKey of the file name), as on SQLite, where this halves
-- the bytes of latest_files (see the SQLite migration; PostgreSQL keeps
-- its text and timestamptz).
ALTER TABLE latest_files ADD COLUMN ord INTEGER;
UPDATE latest_files lf SET ord = o.n
FROM (SELECT package_id, file_id, ROW_NUMBER() OVER (PARTITION BY package_id ORDER BY file_id) AS n FROM latest_files) o
WHERE o.package_id = lf.package_id AND o.file_id = lf.file_id;
ALTER TABLE latest_files ALTER COLUMN ord SET NOT NULL;
ALTER TABLE latest_files DROP CONSTRAINT latest_files_pkey;
ALTER TABLE latest_files ADD PRIMARY KEY (package_id, ord);
ALTER TABLE latest_files DROP COLUMN name_key;

-- +goose Down
ALTER TABLE latest_files ADD COLUMN name_key TEXT;
UPDATE latest_files SET name_key = UPPER(filename);
ALTER TABLE latest_files ALTER COLUMN name_key SET NOT NULL;
ALTER TABLE latest_files DROP CONSTRAINT latest_files_pkey;
ALTER TABLE latest_files ADD PRIMARY KEY (package_id, file_id);
ALTER TABLE latest_files DROP COLUMN ord;
