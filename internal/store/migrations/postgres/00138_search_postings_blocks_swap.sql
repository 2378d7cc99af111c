-- +goose Up
-- The packed postings (00136, filled by 00137) replace the row per posting.
DROP TABLE search_postings;
ALTER TABLE search_postings_blocks RENAME TO search_postings;
ALTER TABLE search_postings RENAME CONSTRAINT search_postings_blocks_pkey TO search_postings_pkey;
ALTER TABLE search_postings RENAME CONSTRAINT search_postings_blocks_text_id_fkey TO search_postings_text_id_fkey;

-- +goose Down
ALTER TABLE search_postings RENAME TO search_postings_blocks;
ALTER TABLE search_postings_blocks RENAME CONSTRAINT search_postings_pkey TO search_postings_blocks_pkey;
ALTER TABLE search_postings_blocks RENAME CONSTRAINT search_postings_text_id_fkey TO search_postings_blocks_text_id_fkey;
CREATE TABLE search_postings (
    text_id      INTEGER NOT NULL REFERENCES search_texts (id),
    doc_id       INTEGER NOT NULL,
    section_kind INTEGER NOT NULL, -- (ord in search_sections + 1) * 8 + kind: 0 none, 1 system, 2 template, 3 calc, 4 user
    hits         INTEGER NOT NULL, -- lines of the document with this text in this section
    PRIMARY KEY (text_id, doc_id, section_kind) INCLUDE (hits)
);
