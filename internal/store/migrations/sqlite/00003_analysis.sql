-- +goose Up
-- One analysis per content (internal/analysis): the per-file results are
-- stored once per (content, parser version, reader) as compact blobs, with a
-- symbol index beside them; package-level results once per set of files.
-- The older row-per-finding tables are replaced; versions analysed by them
-- are re-analysed (their parser_version no longer matches).
DROP TABLE file_sections;
DROP TABLE file_attributes;
DROP TABLE file_symbols;
DROP TABLE file_diagnostics;
DROP TABLE file_includes;
DROP TABLE file_parses;
DROP TABLE version_libraries;
DROP TABLE version_diagnostics;
UPDATE package_versions SET parser_version = '';

-- AUTOINCREMENT: ids are never reused, because every process caches
-- decoded analyses by id (a stored analysis never changes).
CREATE TABLE analyses (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256         TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    reader         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    content_kind   TEXT NOT NULL,
    encoding       TEXT NOT NULL,
    line_ending    TEXT NOT NULL,
    line_count     INTEGER NOT NULL,
    error_count    INTEGER NOT NULL,
    warning_count  INTEGER NOT NULL,
    info_count     INTEGER NOT NULL,
    control_family TEXT NOT NULL,
    system         TEXT NOT NULL,
    facts          BLOB NOT NULL,
    display        BLOB,
    tokens         BLOB,
    -- where the content's sections are (symbol occurrences name their
    -- enclosing section by line, see analysis.SectionRanges)
    sections       BLOB,
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (sha256, parser_version, reader)
);

-- One row per (name, analysed content): how often the content defines and
-- uses the name, and where (packed occurrences). Rows are removed with
-- their analysis by primary key (the analysis lists its names), so the
-- table needs no second index.
CREATE TABLE symbol_index (
    canonical   TEXT NOT NULL,
    analysis_id INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL,
    occurrences BLOB NOT NULL,
    PRIMARY KEY (canonical, analysis_id)
) WITHOUT ROWID;

-- Which analysis each file of a version has (set when the version is
-- analysed). files_version duplicates UNIQUE (version_id, filename).
ALTER TABLE files ADD COLUMN analysis_id INTEGER REFERENCES analyses (id);
CREATE INDEX files_analysis ON files (analysis_id);
DROP INDEX files_version;

CREATE TABLE version_analyses (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    fileset        TEXT NOT NULL UNIQUE,
    parser_version TEXT NOT NULL,
    result         BLOB NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
ALTER TABLE package_versions ADD COLUMN analysis_id INTEGER REFERENCES version_analyses (id);
ALTER TABLE package_versions ADD COLUMN info_count INTEGER NOT NULL DEFAULT 0;
-- content_key names the version's file names and contents, so an identical
-- re-upload is recognised.
ALTER TABLE package_versions ADD COLUMN content_key TEXT NOT NULL DEFAULT '';
CREATE INDEX package_versions_content ON package_versions (package_id, content_key);
CREATE INDEX package_versions_analysis ON package_versions (analysis_id);

-- The source files (.SRC, .LIB, .ATR, includes) of each package's latest
-- version, kept beside the packages so that "which packages hold this
-- content / use this name" pages in an index instead of aggregating every
-- version.
CREATE TABLE latest_files (
    package_id         TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    file_id            TEXT NOT NULL,
    filename           TEXT NOT NULL,
    name_key           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    sha256             TEXT NOT NULL,
    size               INTEGER NOT NULL,
    analysis_id        INTEGER,
    package_created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (package_id, file_id)
);
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id);
CREATE INDEX latest_files_analysis ON latest_files (analysis_id);

-- Library file names (.LIB, .ATR and include files) of the latest versions,
-- counted as packages change so the libraries pages never aggregate.
CREATE TABLE library_names (
    name_key TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    packages INTEGER NOT NULL,
    variants INTEGER NOT NULL
);
CREATE INDEX library_names_rank ON library_names (packages DESC, name_key);
CREATE TABLE library_variants (
    name_key TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    size     INTEGER NOT NULL,
    packages INTEGER NOT NULL,
    PRIMARY KEY (name_key, sha256)
);

-- Blob garbage collection (mark and sweep): an upload leases the contents
-- it is writing until its rows commit; the collector condemns a content
-- before deleting its blob, and an upload waits while a content is condemned.
CREATE TABLE blob_leases (
    sha256     TEXT NOT NULL,
    lease_id   TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, lease_id)
);
CREATE TABLE blob_condemned (
    sha256       TEXT PRIMARY KEY,
    condemned_at TIMESTAMP NOT NULL
);

INSERT INTO latest_files (package_id, file_id, filename, name_key, kind, sha256, size, analysis_id, package_created_at)
SELECT p.id, f.id, f.filename, UPPER(f.filename),
    CASE UPPER(f.extension) WHEN 'SRC' THEN 'src' WHEN 'LIB' THEN 'lib' WHEN 'ATR' THEN 'atr' WHEN 'CNF' THEN 'cnf'
        WHEN 'KIN' THEN 'kin' WHEN 'PINF' THEN 'pinf' WHEN 'LNG' THEN 'lng' WHEN 'CTL' THEN 'ctl'
        WHEN 'T32' THEN 'include' WHEN 'INC' THEN 'include' ELSE 'other' END,
    f.sha256, f.size, NULL, p.created_at
FROM files f JOIN package_versions v ON v.id = f.version_id JOIN packages p ON p.id = v.package_id AND p.latest_version = v.number
WHERE UPPER(f.extension) IN ('SRC', 'LIB', 'ATR', 'T32', 'INC');
INSERT INTO library_variants (name_key, sha256, size, packages)
SELECT name_key, sha256, MAX(size), COUNT(DISTINCT package_id) FROM latest_files WHERE kind IN ('lib', 'atr', 'include') GROUP BY name_key, sha256;
INSERT INTO library_names (name_key, name, packages, variants)
SELECT name_key, MIN(filename), COUNT(DISTINCT package_id), COUNT(DISTINCT sha256) FROM latest_files WHERE kind IN ('lib', 'atr', 'include') GROUP BY name_key;

-- +goose Down
SELECT 'this migration replaces the index tables and cannot be undone; restore a backup instead';
