-- +goose Up
-- The symbol index packed per name and block of 128 analysis ids (see
-- internal/store/symbol_blocks.go): a row per name and analysis took ~97
-- bytes with its tuple header and primary key entry; a block row holds a
-- name's counts in up to 128 analyses in a few bytes each. Migration 00155
-- packs the stored rows, 00156 puts this table in the old one's place.
CREATE TABLE symbol_index_blocks (
    symbol_id INTEGER NOT NULL, -- symbol_names.id
    block     INTEGER NOT NULL, -- analysis id >> 7
    entries   BYTEA NOT NULL,   -- per analysis: id - block * 128, definitions << 1 | (uses <> 1), [uses]; varints
    PRIMARY KEY (symbol_id, block)
);

-- +goose Down
DROP TABLE symbol_index_blocks;
