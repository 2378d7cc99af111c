-- +goose Up
-- The stock library registry (internal/registry): registered variants of a
-- library file name, the default per name, and a package's own pick.
CREATE TABLE registry_libraries (
    name_key      TEXT NOT NULL,
    name          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    label         TEXT NOT NULL,
    registered_by TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (name_key, sha256)
);
CREATE INDEX registry_libraries_sha ON registry_libraries (sha256);
CREATE TABLE registry_defaults (
    name_key   TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- sha256 '' means: do not use the registry for this name in this package.
CREATE TABLE registry_choices (
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    name_key   TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (package_id, name_key)
);
-- The library names a version declares but does not ship (set when it is
-- analysed), so a change of default finds the versions to analyse again.
CREATE TABLE version_library_needs (
    version_id TEXT NOT NULL REFERENCES package_versions (id) ON DELETE CASCADE,
    name_key   TEXT NOT NULL,
    PRIMARY KEY (version_id, name_key)
);
CREATE INDEX version_library_needs_name ON version_library_needs (name_key);

-- +goose Down
DROP TABLE version_library_needs;
DROP TABLE registry_choices;
DROP TABLE registry_defaults;
DROP TABLE registry_libraries;
