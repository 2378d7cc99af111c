-- +goose Up
-- The symbol index keeps counts only: a row's occurrences follow from the
-- analysis's facts, which hold every definition and reference with its
-- line and column, and are derived for the analyses a page shows
-- (internal/store/symbol_table.go). 00140's down puts them back. The
-- table is rebuilt (in key order, the key added after the rows) so the
-- dropped column's bytes go at once.
CREATE TABLE symbol_index_new (
    symbol_id   BIGINT NOT NULL,
    analysis_id BIGINT NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL
);
INSERT INTO symbol_index_new (symbol_id, analysis_id, definitions, uses)
SELECT symbol_id, analysis_id, definitions, uses FROM symbol_index ORDER BY symbol_id, analysis_id;
ALTER TABLE symbol_index_new ADD CONSTRAINT symbol_index_new_pkey PRIMARY KEY (symbol_id, analysis_id);
DROP TABLE symbol_index;
ALTER TABLE symbol_index_new RENAME TO symbol_index;
ALTER TABLE symbol_index RENAME CONSTRAINT symbol_index_new_pkey TO symbol_index_pkey;

-- +goose Down
-- (The key keeps the name it had since 00122, which 00122's down needs free.)
ALTER TABLE symbol_index RENAME CONSTRAINT symbol_index_pkey TO symbol_refs_pkey;
ALTER TABLE symbol_index ADD COLUMN occurrences BYTEA NOT NULL DEFAULT '';
ALTER TABLE symbol_index ALTER COLUMN occurrences DROP DEFAULT;
