-- +goose Up
-- Symbol names get integer ids, and the symbol index is keyed by them
-- (00121 converts its rows, 00122 swaps the tables): a name's text is
-- stored once instead of in every (name, content) row. Every name of a
-- stored analysis has a row in symbol_names now, those of no latest
-- package with zero counts (the name list skips them); a name goes when
-- no package counts it and no analysis has it.
ALTER TABLE symbol_names ADD COLUMN id INTEGER;
INSERT INTO symbol_names (canonical, kind, packages, definitions, uses)
SELECT DISTINCT s.canonical, '', 0, 0, 0 FROM symbol_index s WHERE NOT EXISTS (SELECT 1 FROM symbol_names n WHERE n.canonical = s.canonical);
UPDATE symbol_names SET id = t.n FROM (SELECT canonical, ROW_NUMBER() OVER (ORDER BY canonical) AS n FROM symbol_names) AS t
WHERE symbol_names.canonical = t.canonical;
CREATE UNIQUE INDEX symbol_names_id ON symbol_names (id);
CREATE TABLE symbol_refs (
    symbol_id   INTEGER NOT NULL,
    analysis_id INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL,
    occurrences BLOB NOT NULL,
    PRIMARY KEY (symbol_id, analysis_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE symbol_refs;
DROP INDEX symbol_names_id;
DELETE FROM symbol_names WHERE packages <= 0;
ALTER TABLE symbol_names DROP COLUMN id;
