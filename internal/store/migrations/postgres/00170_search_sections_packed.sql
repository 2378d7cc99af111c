-- +goose Up
-- A document's sections in one row (see internal/store/search_sections.go):
-- a row per section took ~75 bytes of data and as much again in tuple
-- header, line pointer and two b-tree entries. Migration 00171 packs the
-- stored rows, 00172 puts this table in the old one's place and indexes
-- the vectors.
CREATE TABLE search_sections_packed (
    doc_id     INTEGER PRIMARY KEY REFERENCES search_docs (id) ON DELETE CASCADE,
    sections   BYTEA NOT NULL,  -- per section: kind << 1 | (canonical stored), name, [canonical], start and end lines; varints
    vector_ids INT4[] NOT NULL  -- search_vectors.id of each section, in ord order
);

-- +goose Down
DROP TABLE search_sections_packed;
