-- +goose Up
-- A version's combined embedding, MinHash signature and LSH bands depend
-- only on its file contents and the index version, so they are stored once
-- per such file set and versions point at it: an identical re-upload adds
-- one small row here instead of a vector, a signature and bands. The
-- embedding is a plain float32 little-endian blob; nearest neighbours are
-- found by the exact scan in memory (search_vectors.go).
CREATE TABLE search_filesets (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE, -- search.FileSetKey: index version and the contents' hashes
    index_version TEXT NOT NULL,
    signature     BLOB NOT NULL, -- MinHash of all the lines, uint32 little-endian
    embedding     BLOB NOT NULL  -- combined embedding, float32 little-endian
);
CREATE TABLE search_fileset_bands (
    band       INTEGER NOT NULL,
    fileset_id INTEGER NOT NULL REFERENCES search_filesets (id) ON DELETE CASCADE,
    PRIMARY KEY (band, fileset_id)
) WITHOUT ROWID;
CREATE INDEX search_fileset_bands_set ON search_fileset_bands (fileset_id);

-- Existing entries keep their data, one file set each (keyed by version:
-- their contents' key is not computable in SQL; a reindex shares them).
INSERT INTO search_filesets (id, key, index_version, signature, embedding)
SELECT sv.id, 'version:' || sv.version_id, sv.index_version, sv.signature, COALESCE(vv.embedding, x'')
FROM search_versions sv LEFT JOIN search_version_vectors vv ON vv.rowid = sv.id;
INSERT INTO search_fileset_bands (band, fileset_id) SELECT band, version_row FROM search_version_bands;

CREATE TABLE search_versions_new (
    id            INTEGER PRIMARY KEY,
    version_id    TEXT NOT NULL UNIQUE REFERENCES package_versions (id) ON DELETE CASCADE,
    index_version TEXT NOT NULL,
    fileset_id    INTEGER NOT NULL REFERENCES search_filesets (id)
);
INSERT INTO search_versions_new (id, version_id, index_version, fileset_id)
SELECT id, version_id, index_version, id FROM search_versions;
DROP TABLE search_version_bands;
DROP TRIGGER search_versions_deleted;
DROP TABLE search_version_vectors;
DROP TABLE search_versions;
ALTER TABLE search_versions_new RENAME TO search_versions;
CREATE INDEX search_versions_fileset ON search_versions (fileset_id);

-- +goose Down
CREATE TABLE search_versions_old (
    id            INTEGER PRIMARY KEY,
    version_id    TEXT NOT NULL UNIQUE REFERENCES package_versions (id) ON DELETE CASCADE,
    index_version TEXT NOT NULL,
    signature     BLOB NOT NULL
);
INSERT INTO search_versions_old (id, version_id, index_version, signature)
SELECT sv.id, sv.version_id, sv.index_version, f.signature FROM search_versions sv JOIN search_filesets f ON f.id = sv.fileset_id;
CREATE VIRTUAL TABLE search_version_vectors USING vec0 (embedding float[512] distance_metric=cosine);
INSERT INTO search_version_vectors (rowid, embedding)
SELECT sv.id, f.embedding FROM search_versions sv JOIN search_filesets f ON f.id = sv.fileset_id WHERE length(f.embedding) = 2048;
CREATE TABLE search_version_bands (
    band        INTEGER NOT NULL,
    version_row INTEGER NOT NULL REFERENCES search_versions (id) ON DELETE CASCADE,
    PRIMARY KEY (band, version_row)
);
INSERT INTO search_version_bands (band, version_row)
SELECT b.band, sv.id FROM search_versions sv JOIN search_fileset_bands b ON b.fileset_id = sv.fileset_id;
DROP TABLE search_versions;
ALTER TABLE search_versions_old RENAME TO search_versions;
CREATE INDEX search_version_bands_row ON search_version_bands (version_row);
-- +goose StatementBegin
CREATE TRIGGER search_versions_deleted AFTER DELETE ON search_versions BEGIN
    DELETE FROM search_version_vectors WHERE rowid = OLD.id;
END;
-- +goose StatementEnd
DROP TABLE search_fileset_bands;
DROP TABLE search_filesets;
