-- +goose Up
-- The symbol index keyed by name ids (00120, filled by 00121) replaces
-- the one keyed by name text.
DROP TABLE symbol_index;
ALTER TABLE symbol_refs RENAME TO symbol_index;

-- +goose Down
ALTER TABLE symbol_index RENAME TO symbol_refs;
CREATE TABLE symbol_index (
    canonical   TEXT NOT NULL,
    analysis_id INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL,
    occurrences BLOB NOT NULL,
    PRIMARY KEY (canonical, analysis_id)
) WITHOUT ROWID;
