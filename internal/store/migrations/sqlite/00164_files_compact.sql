-- +goose Up
-- A file row in fewer bytes (an identical re-upload as a new package adds
-- one per file): its content as the SHA-256's 32 bytes rather than 64 hex
-- characters, in the row and in the index by content (latest_files does
-- the same since 00133), and no index by id alone: a file is looked up
-- within its package (GetFile walks the package's versions by the key
-- (version_id, filename)) or its version (linkFiles), and ids are
-- time-ordered UUIDs made unique where they are made (newRowID).
CREATE TABLE files_compact (
    id           TEXT NOT NULL,
    version_id   TEXT NOT NULL REFERENCES package_versions (id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    extension    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       BLOB NOT NULL,
    line_count   INTEGER NOT NULL DEFAULT 0,
    content_kind TEXT NOT NULL DEFAULT '',
    encoding     TEXT NOT NULL DEFAULT '',
    analysis_id  INTEGER REFERENCES analyses (id),
    UNIQUE (version_id, filename)
);
INSERT INTO files_compact (id, version_id, filename, extension, size, sha256, line_count, content_kind, encoding, analysis_id)
SELECT id, version_id, filename, extension, size, unhex(sha256), line_count, content_kind, encoding, analysis_id FROM files ORDER BY rowid;
DROP TABLE files;
ALTER TABLE files_compact RENAME TO files;
CREATE INDEX files_sha256 ON files (sha256);
CREATE INDEX files_analysis ON files (analysis_id);

-- +goose Down
CREATE TABLE files_by_id (
    id           TEXT PRIMARY KEY,
    version_id   TEXT NOT NULL REFERENCES package_versions (id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    extension    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    line_count   INTEGER NOT NULL DEFAULT 0,
    content_kind TEXT NOT NULL DEFAULT '',
    encoding     TEXT NOT NULL DEFAULT '',
    analysis_id  INTEGER REFERENCES analyses (id),
    UNIQUE (version_id, filename)
);
INSERT INTO files_by_id (id, version_id, filename, extension, size, sha256, line_count, content_kind, encoding, analysis_id)
SELECT id, version_id, filename, extension, size, lower(hex(sha256)), line_count, content_kind, encoding, analysis_id FROM files ORDER BY rowid;
DROP TABLE files;
ALTER TABLE files_by_id RENAME TO files;
CREATE INDEX files_sha256 ON files (sha256);
CREATE INDEX files_analysis ON files (analysis_id);
