-- +goose Up
-- /libraries/{sha}/packages reads a page of the packages holding a content
-- from this index alone: with the file's id and name in it, PostgreSQL's
-- cached (generic) plan walks it in order and stops after the page, instead
-- of reading and sorting every package with the content (a shared MILL.LIB
-- is in most of them).
DROP INDEX latest_files_sha;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id DESC) INCLUDE (file_id, filename);

-- +goose Down
DROP INDEX latest_files_sha;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id DESC);
