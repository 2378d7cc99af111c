-- +goose Up
-- /libraries/{sha}/packages reads a page of the packages holding a content
-- from this index alone (the file's id and name are in it).
DROP INDEX latest_files_sha;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id DESC, file_id, filename);

-- +goose Down
DROP INDEX latest_files_sha;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id DESC);
