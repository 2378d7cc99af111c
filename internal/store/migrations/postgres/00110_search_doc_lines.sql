-- +goose Up
-- A document's lines as one row (search_doc_lines: line → text, section,
-- packed by internal/store/search_lines.go) and, for "which documents hold
-- these texts", one posting per text, document and section with its number
-- of lines (search_postings). They replace search_lines, a row per line:
-- most lines of a document are texts it shares with others, and counting a
-- query's hits reads a posting instead of every line. Migration 00111
-- converts the stored lines, 00112 drops search_lines.
CREATE TABLE search_doc_lines (
    doc_id BIGINT PRIMARY KEY REFERENCES search_docs (id) ON DELETE CASCADE,
    lines  BYTEA NOT NULL
);
-- No reference to search_docs: it would need a second index on doc_id
-- (for the cascade); a document's postings are deleted by text (gcSearch).
-- kind and hits ride in the primary key's index so that DocStats reads
-- the index alone.
CREATE TABLE search_postings (
    text_id INTEGER NOT NULL REFERENCES search_texts (id),
    doc_id  INTEGER NOT NULL,
    section INTEGER NOT NULL,  -- ord in search_sections, -1 outside sections
    kind    SMALLINT NOT NULL, -- its section's kind: 0 none, 1 system, 2 template, 3 calc, 4 user
    hits    INTEGER NOT NULL,  -- lines of the document with this text in this section
    PRIMARY KEY (text_id, doc_id, section) INCLUDE (kind, hits)
);

-- +goose Down
DROP TABLE search_postings;
DROP TABLE search_doc_lines;
