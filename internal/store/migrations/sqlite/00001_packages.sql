-- +goose Up
CREATE TABLE packages (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    machine_type    TEXT NOT NULL DEFAULT '',
    controller_type TEXT NOT NULL DEFAULT '',
    platform        TEXT NOT NULL DEFAULT 'camworks',
    metadata_edited BOOLEAN NOT NULL DEFAULT FALSE,
    latest_version  INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX packages_newest ON packages (created_at DESC, id DESC);

CREATE TABLE package_versions (
    id            TEXT PRIMARY KEY,
    package_id    TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    uploaded_at   TIMESTAMP NOT NULL,
    uploaded_by   TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'pending',
    error_message TEXT NOT NULL DEFAULT '',
    error_detail  TEXT NOT NULL DEFAULT '',
    file_count    INTEGER NOT NULL DEFAULT 0,
    section_count INTEGER NOT NULL DEFAULT 0,
    job_id        INTEGER NOT NULL DEFAULT 0,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (package_id, number)
);

CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    version_id   TEXT NOT NULL REFERENCES package_versions (id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    extension    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    line_count   INTEGER NOT NULL DEFAULT 0,
    content_kind TEXT NOT NULL DEFAULT '',
    encoding     TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (version_id, filename)
);
CREATE INDEX files_sha256 ON files (sha256);

-- +goose Down
DROP TABLE files;
DROP TABLE package_versions;
DROP TABLE packages;
