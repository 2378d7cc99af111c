-- +goose Up
-- The view and the table of appended counter changes were used by
-- PostgreSQL only (see its migration of the same number); SQLite's stayed
-- empty.
DROP VIEW symbol_counts;
DROP TABLE symbol_name_deltas;

-- +goose Down
CREATE TABLE symbol_name_deltas (
    canonical   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    packages    INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL
);
CREATE INDEX symbol_name_deltas_name ON symbol_name_deltas (canonical);
CREATE VIEW symbol_counts AS
SELECT canonical, kind, packages, definitions, uses FROM symbol_names;
