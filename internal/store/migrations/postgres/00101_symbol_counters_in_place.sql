-- +goose Up
-- The counters are updated in place again (internal/store/latest.go):
-- appending changes for a later fold made PostgreSQL ingestion no faster
-- and grew the database by the appended and folded rows until vacuumed.
-- Pending changes are folded in before the table goes.
DROP VIEW symbol_counts;
INSERT INTO symbol_names (canonical, kind, packages, definitions, uses)
SELECT canonical, COALESCE(MIN(NULLIF(kind, '')), ''), SUM(packages), SUM(definitions), SUM(uses) FROM symbol_name_deltas GROUP BY canonical
ON CONFLICT (canonical) DO UPDATE SET packages = symbol_names.packages + excluded.packages,
    definitions = symbol_names.definitions + excluded.definitions, uses = symbol_names.uses + excluded.uses,
    kind = CASE WHEN symbol_names.kind = '' THEN excluded.kind ELSE symbol_names.kind END;
DELETE FROM symbol_names WHERE packages <= 0;
DROP TABLE symbol_name_deltas;

-- +goose Down
CREATE TABLE symbol_name_deltas (
    canonical   TEXT COLLATE "C" NOT NULL,
    kind        TEXT NOT NULL,
    packages    INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL
);
CREATE INDEX symbol_name_deltas_name ON symbol_name_deltas (canonical);
CREATE VIEW symbol_counts AS
SELECT canonical, kind, packages, definitions, uses FROM symbol_names;
