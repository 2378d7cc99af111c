-- +goose Up
-- The symbol index keeps counts only: a row's occurrences (about two
-- thirds of its bytes) follow from the analysis's facts, which hold every
-- definition and reference with its line and column, and are derived for
-- the analyses a page shows (internal/store/symbol_table.go). 00140's
-- down puts them back.
CREATE TABLE symbol_index_new (
    symbol_id   INTEGER NOT NULL,
    analysis_id INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL,
    PRIMARY KEY (symbol_id, analysis_id)
) WITHOUT ROWID;
INSERT INTO symbol_index_new (symbol_id, analysis_id, definitions, uses)
SELECT symbol_id, analysis_id, definitions, uses FROM symbol_index;
DROP TABLE symbol_index;
ALTER TABLE symbol_index_new RENAME TO symbol_index;

-- +goose Down
CREATE TABLE symbol_index_old (
    symbol_id   INTEGER NOT NULL,
    analysis_id INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL,
    occurrences BLOB NOT NULL,
    PRIMARY KEY (symbol_id, analysis_id)
) WITHOUT ROWID;
INSERT INTO symbol_index_old (symbol_id, analysis_id, definitions, uses, occurrences)
SELECT symbol_id, analysis_id, definitions, uses, x'' FROM symbol_index;
DROP TABLE symbol_index;
ALTER TABLE symbol_index_old RENAME TO symbol_index;
