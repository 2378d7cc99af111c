-- +goose Up
-- A version's combined embedding, MinHash signature and LSH bands depend
-- only on its file contents and the index version, so they are stored once
-- per such file set and versions point at it: an identical re-upload adds
-- one small row here instead of a vector, a signature and bands.
-- (pgvector's HNSW column is added by store.Migrate when the extension is on.)
CREATE TABLE search_filesets (
    id            BIGSERIAL PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE, -- search.FileSetKey: index version and the contents' hashes
    index_version TEXT NOT NULL,
    signature     BYTEA NOT NULL, -- MinHash of all the lines, uint32 little-endian
    embedding     REAL[] NOT NULL -- combined embedding
);
CREATE TABLE search_fileset_bands (
    band       BIGINT NOT NULL,
    fileset_id BIGINT NOT NULL REFERENCES search_filesets (id) ON DELETE CASCADE,
    PRIMARY KEY (band, fileset_id)
);
CREATE INDEX search_fileset_bands_set ON search_fileset_bands (fileset_id);

-- Existing entries keep their data, one file set each (keyed by version;
-- a reindex shares them).
INSERT INTO search_filesets (id, key, index_version, signature, embedding)
SELECT id, 'version:' || version_id, index_version, signature, embedding FROM search_versions;
SELECT setval(pg_get_serial_sequence('search_filesets', 'id'), COALESCE((SELECT MAX(id) FROM search_filesets), 0) + 1, false);
INSERT INTO search_fileset_bands (band, fileset_id) SELECT band, version_row FROM search_version_bands;
DROP TABLE search_version_bands;

DROP INDEX IF EXISTS search_versions_hnsw;
ALTER TABLE search_versions ADD COLUMN fileset_id BIGINT REFERENCES search_filesets (id);
UPDATE search_versions SET fileset_id = id;
ALTER TABLE search_versions ALTER COLUMN fileset_id SET NOT NULL;
ALTER TABLE search_versions DROP COLUMN signature, DROP COLUMN embedding, DROP COLUMN IF EXISTS embedding_v;
CREATE INDEX search_versions_fileset ON search_versions (fileset_id);

-- +goose Down
ALTER TABLE search_versions ADD COLUMN signature BYTEA, ADD COLUMN embedding REAL[];
UPDATE search_versions sv SET signature = f.signature, embedding = f.embedding FROM search_filesets f WHERE f.id = sv.fileset_id;
ALTER TABLE search_versions ALTER COLUMN signature SET NOT NULL, ALTER COLUMN embedding SET NOT NULL;
CREATE TABLE search_version_bands (
    band        BIGINT NOT NULL,
    version_row BIGINT NOT NULL REFERENCES search_versions (id) ON DELETE CASCADE,
    PRIMARY KEY (band, version_row)
);
CREATE INDEX search_version_bands_row ON search_version_bands (version_row);
INSERT INTO search_version_bands (band, version_row)
SELECT b.band, sv.id FROM search_versions sv JOIN search_fileset_bands b ON b.fileset_id = sv.fileset_id;
DROP INDEX search_versions_fileset;
ALTER TABLE search_versions DROP COLUMN fileset_id;
DROP TABLE search_fileset_bands;
DROP TABLE search_filesets;
