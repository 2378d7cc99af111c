-- +goose Up
-- The packed symbol index (00154, filled by 00155) replaces the row per
-- name and analysis.
DROP TABLE symbol_index;
ALTER TABLE symbol_index_blocks RENAME TO symbol_index;

-- +goose Down
ALTER TABLE symbol_index RENAME TO symbol_index_blocks;
CREATE TABLE symbol_index (
    symbol_id   INTEGER NOT NULL,
    analysis_id INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL,
    PRIMARY KEY (symbol_id, analysis_id)
) WITHOUT ROWID;
