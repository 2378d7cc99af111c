-- +goose Up
-- A posting's section and its kind in one column, (section ord + 1) * 8 +
-- kind (the kind is the section's, so the key stays unique): rows of four
-- integers (40 bytes with the tuple header instead of 48) and primary key
-- entries of 24 bytes instead of 32.
CREATE TABLE search_postings_new (
    text_id      INTEGER NOT NULL REFERENCES search_texts (id),
    doc_id       INTEGER NOT NULL,
    section_kind INTEGER NOT NULL, -- (ord in search_sections + 1) * 8 + kind: 0 none, 1 system, 2 template, 3 calc, 4 user
    hits         INTEGER NOT NULL  -- lines of the document with this text in this section
);
INSERT INTO search_postings_new (text_id, doc_id, section_kind, hits)
SELECT text_id, doc_id, (section + 1) * 8 + kind, hits FROM search_postings ORDER BY text_id, doc_id, section;
ALTER TABLE search_postings_new ADD CONSTRAINT search_postings_new_pkey PRIMARY KEY (text_id, doc_id, section_kind) INCLUDE (hits);
DROP TABLE search_postings;
ALTER TABLE search_postings_new RENAME TO search_postings;
ALTER TABLE search_postings RENAME CONSTRAINT search_postings_new_pkey TO search_postings_pkey;
ALTER TABLE search_postings RENAME CONSTRAINT search_postings_new_text_id_fkey TO search_postings_text_id_fkey;

-- +goose Down
CREATE TABLE search_postings_old (
    text_id INTEGER NOT NULL REFERENCES search_texts (id),
    doc_id  INTEGER NOT NULL,
    section INTEGER NOT NULL,
    kind    SMALLINT NOT NULL,
    hits    INTEGER NOT NULL
);
INSERT INTO search_postings_old (text_id, doc_id, section, kind, hits)
SELECT text_id, doc_id, (section_kind >> 3) - 1, section_kind & 7, hits FROM search_postings ORDER BY text_id, doc_id, section_kind;
ALTER TABLE search_postings_old ADD CONSTRAINT search_postings_old_pkey PRIMARY KEY (text_id, doc_id, section) INCLUDE (kind, hits);
DROP TABLE search_postings;
ALTER TABLE search_postings_old RENAME TO search_postings;
ALTER TABLE search_postings RENAME CONSTRAINT search_postings_old_pkey TO search_postings_pkey;
ALTER TABLE search_postings RENAME CONSTRAINT search_postings_old_text_id_fkey TO search_postings_text_id_fkey;
