-- +goose Up
-- Postings packed per text and block of 64 document ids (see
-- internal/store/search_postings.go): a row per posting took ~80 bytes with
-- its tuple header and primary key entry; a block row holds every posting
-- of its text in up to 64 documents in a few bytes each. Migration 00137
-- packs the stored postings, 00138 puts this table in the old one's place.
CREATE TABLE search_postings_blocks (
    text_id INTEGER NOT NULL REFERENCES search_texts (id),
    block   INTEGER NOT NULL, -- document id >> 6
    posts   BYTEA NOT NULL,   -- per posting: document id - block * 64, section_kind << 1 | (hits > 1), [hits]; varints
    PRIMARY KEY (text_id, block)
);

-- +goose Down
DROP TABLE search_postings_blocks;
