-- +goose Up
-- PostgreSQL appends the symbol counter changes of an ingestion here and
-- folds them into symbol_names later (see its migration of the same
-- number). SQLite has one writer, so its counters see no lock contention
-- and are updated in place: this table stays empty, and exists so that the
-- reads are the same statements on both engines.
CREATE TABLE symbol_name_deltas (
    canonical   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    packages    INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL
);
CREATE INDEX symbol_name_deltas_name ON symbol_name_deltas (canonical);

-- The counts per name as of now: the counters themselves.
CREATE VIEW symbol_counts AS
SELECT canonical, kind, packages, definitions, uses FROM symbol_names;

-- +goose Down
DROP VIEW symbol_counts;
DROP TABLE symbol_name_deltas;
