-- +goose Up
-- Replaced by search_doc_lines and search_postings (00110, converted by
-- the Go migration 00111 in internal/store/search_lines.go).
DROP TABLE search_lines;

-- +goose Down
CREATE TABLE search_lines (
    doc_id  INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    line    INTEGER NOT NULL,
    text_id INTEGER NOT NULL REFERENCES search_texts (id),
    section INTEGER NOT NULL,
    kind    SMALLINT NOT NULL,
    PRIMARY KEY (doc_id, line)
);
CREATE INDEX search_lines_text ON search_lines (text_id, doc_id, kind);
