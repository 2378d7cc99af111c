-- +goose Up
-- The packages holding a content are listed newest first, ties by id
-- descending (/libraries/{sha}/packages): the index now has that order, so
-- a page is read from it without sorting its ties.
DROP INDEX latest_files_sha;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id DESC);

-- +goose Down
DROP INDEX latest_files_sha;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id);
