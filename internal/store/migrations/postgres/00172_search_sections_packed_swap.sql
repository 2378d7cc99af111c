-- +goose Up
-- The packed sections (00170, filled by 00171) replace the row per
-- section. Their vectors get a GIN index (a compressed posting list per
-- vector instead of a b-tree entry per section); fastupdate off: no
-- pending list to grow between vacuums (a row is written once, by one
-- insert). Nothing references a vector from an array: the search lock
-- keeps the collector from removing one a writer is adding sections for
-- (internal/store/search_write.go).
DROP TABLE search_sections;
ALTER TABLE search_sections_packed RENAME TO search_sections;
ALTER TABLE search_sections RENAME CONSTRAINT search_sections_packed_pkey TO search_sections_pkey;
ALTER TABLE search_sections RENAME CONSTRAINT search_sections_packed_doc_id_fkey TO search_sections_doc_id_fkey;
CREATE INDEX search_sections_vectors ON search_sections USING gin (vector_ids) WITH (fastupdate = off);

-- +goose Down
DROP INDEX search_sections_vectors;
ALTER TABLE search_sections RENAME CONSTRAINT search_sections_pkey TO search_sections_packed_pkey;
ALTER TABLE search_sections RENAME CONSTRAINT search_sections_doc_id_fkey TO search_sections_packed_doc_id_fkey;
ALTER TABLE search_sections RENAME TO search_sections_packed;
CREATE TABLE search_sections (
    doc_id     INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    canonical  TEXT NOT NULL,
    kind       SMALLINT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    vector_id  INTEGER NOT NULL REFERENCES search_vectors (id),
    PRIMARY KEY (doc_id, ord)
);
CREATE INDEX search_sections_vector ON search_sections (vector_id);
