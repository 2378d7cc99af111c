-- +goose Up
-- Per-content parse results, keyed by (sha256, parser_version): a library
-- shared by many packages is parsed and stored once.
CREATE TABLE file_parses (
    sha256         TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    kind           TEXT NOT NULL,
    line_count     INTEGER NOT NULL DEFAULT 0,
    error_count    INTEGER NOT NULL DEFAULT 0,
    warning_count  INTEGER NOT NULL DEFAULT 0,
    control_family TEXT NOT NULL DEFAULT '',
    system         TEXT NOT NULL DEFAULT '',
    outline        TEXT NOT NULL DEFAULT '{}',
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, parser_version)
);

CREATE TABLE file_sections (
    sha256         TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    name           TEXT NOT NULL,
    canonical      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    start_line     INTEGER NOT NULL,
    end_line       INTEGER NOT NULL,
    start_byte     INTEGER NOT NULL,
    end_byte       INTEGER NOT NULL,
    content_hash   TEXT NOT NULL,
    PRIMARY KEY (sha256, parser_version, ord)
);

CREATE TABLE file_attributes (
    sha256         TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    name           TEXT NOT NULL,
    canonical      TEXT NOT NULL,
    type           TEXT NOT NULL,
    vtype          TEXT NOT NULL,
    default_value  TEXT NOT NULL,
    attr_id        TEXT NOT NULL,
    line           INTEGER NOT NULL,
    PRIMARY KEY (sha256, parser_version, ord)
);

CREATE TABLE file_symbols (
    sha256         TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    name           TEXT NOT NULL,
    canonical      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    role           TEXT NOT NULL,
    context        TEXT NOT NULL,
    line           INTEGER NOT NULL,
    col            INTEGER NOT NULL,
    section        TEXT NOT NULL,
    PRIMARY KEY (sha256, parser_version, ord)
);
CREATE INDEX file_symbols_canonical ON file_symbols (canonical, parser_version);

CREATE TABLE file_diagnostics (
    sha256         TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    code           TEXT NOT NULL,
    severity       TEXT NOT NULL,
    message        TEXT NOT NULL,
    line           INTEGER NOT NULL,
    col            INTEGER NOT NULL,
    PRIMARY KEY (sha256, parser_version, ord)
);

CREATE TABLE file_includes (
    sha256         TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    path           TEXT NOT NULL,
    line           INTEGER NOT NULL,
    PRIMARY KEY (sha256, parser_version, ord)
);

-- Per-version results of the package resolver.
CREATE TABLE version_libraries (
    version_id       TEXT NOT NULL REFERENCES package_versions (id) ON DELETE CASCADE,
    ord              INTEGER NOT NULL,
    file_id          TEXT NOT NULL,
    declared_path    TEXT NOT NULL,
    line             INTEGER NOT NULL,
    resolved_file_id TEXT,
    resolved_name    TEXT NOT NULL DEFAULT '',
    resolved_sha256  TEXT NOT NULL DEFAULT '',
    how              TEXT NOT NULL,
    PRIMARY KEY (version_id, ord)
);
CREATE INDEX version_libraries_sha256 ON version_libraries (resolved_sha256);

CREATE TABLE version_diagnostics (
    version_id TEXT NOT NULL REFERENCES package_versions (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    file_id    TEXT,
    code       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    message    TEXT NOT NULL,
    line       INTEGER NOT NULL,
    col        INTEGER NOT NULL,
    PRIMARY KEY (version_id, ord)
);

ALTER TABLE package_versions ADD COLUMN parser_version TEXT NOT NULL DEFAULT '';
ALTER TABLE package_versions ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE package_versions ADD COLUMN warning_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE packages ADD COLUMN system TEXT NOT NULL DEFAULT '';
ALTER TABLE packages ADD COLUMN control_family TEXT NOT NULL DEFAULT '';
CREATE INDEX files_version ON files (version_id);

-- +goose Down
DROP INDEX files_version;
ALTER TABLE packages DROP COLUMN control_family;
ALTER TABLE packages DROP COLUMN system;
ALTER TABLE package_versions DROP COLUMN warning_count;
ALTER TABLE package_versions DROP COLUMN error_count;
ALTER TABLE package_versions DROP COLUMN parser_version;
DROP TABLE version_diagnostics;
DROP TABLE version_libraries;
DROP TABLE file_includes;
DROP TABLE file_diagnostics;
DROP TABLE file_symbols;
DROP TABLE file_attributes;
DROP TABLE file_sections;
DROP TABLE file_parses;
