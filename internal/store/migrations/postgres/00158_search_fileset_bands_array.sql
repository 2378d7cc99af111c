-- +goose Up
-- A file set's LSH bands as one bigint[] on its row with a GIN index,
-- instead of 32 (band, fileset_id) rows with two b-trees: bands are
-- widely shared (a few per cent of them are distinct), which a GIN posting
-- list stores once. fastupdate off: no pending list to grow between
-- vacuums (a set is written once, by one insert).
ALTER TABLE search_filesets ADD COLUMN bands BIGINT[] NOT NULL DEFAULT '{}';
UPDATE search_filesets f SET bands = b.bands
FROM (SELECT fileset_id, array_agg(band ORDER BY band) AS bands FROM search_fileset_bands GROUP BY fileset_id) b
WHERE b.fileset_id = f.id;
ALTER TABLE search_filesets ALTER COLUMN bands DROP DEFAULT;
DROP TABLE search_fileset_bands;
CREATE INDEX search_filesets_bands ON search_filesets USING gin (bands) WITH (fastupdate = off);

-- +goose Down
CREATE TABLE search_fileset_bands (
    band       BIGINT NOT NULL,
    fileset_id BIGINT NOT NULL REFERENCES search_filesets (id) ON DELETE CASCADE,
    PRIMARY KEY (band, fileset_id)
);
CREATE INDEX search_fileset_bands_set ON search_fileset_bands (fileset_id);
INSERT INTO search_fileset_bands (band, fileset_id) SELECT DISTINCT unnest(bands), id FROM search_filesets;
DROP INDEX search_filesets_bands;
ALTER TABLE search_filesets DROP COLUMN bands;
