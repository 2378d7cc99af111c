-- +goose Up
-- Ingestion no longer updates the shared name counters in place: with
-- several workers, every package's transaction locked the rows of the
-- common names until its commit, so the workers waited on each other. A
-- transaction now appends its per-name changes here (plain inserts, no
-- conflicts, no shared row locks) and a fold moves them into symbol_names
-- from time to time (internal/store/symbol_fold.go), one fold at a time.
-- Reads go through symbol_counts: counter plus pending changes, so every
-- count is exact whether or not the fold has run.
CREATE TABLE symbol_name_deltas (
    canonical   TEXT COLLATE "C" NOT NULL,
    kind        TEXT NOT NULL,
    packages    INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 20000);
CREATE INDEX symbol_name_deltas_name ON symbol_name_deltas (canonical);

-- The counts per name as of now. A counter row's kind wins (the first
-- seen); a name only the pending changes have takes the least of theirs,
-- which is what the fold stores (so a fold never changes an answer). A
-- name whose packages went to none is not listed.
CREATE VIEW symbol_counts AS
SELECT canonical,
       COALESCE(MAX(kind) FILTER (WHERE counter AND kind <> ''), MIN(NULLIF(kind, '')), '') AS kind,
       CAST(SUM(packages) AS INTEGER) AS packages,
       CAST(SUM(definitions) AS INTEGER) AS definitions,
       CAST(SUM(uses) AS INTEGER) AS uses
FROM (SELECT TRUE AS counter, canonical, kind, packages, definitions, uses FROM symbol_names
      UNION ALL
      SELECT FALSE, canonical, kind, packages, definitions, uses FROM symbol_name_deltas) c
GROUP BY canonical
HAVING SUM(packages) > 0;

-- +goose Down
DROP VIEW symbol_counts;
INSERT INTO symbol_names (canonical, kind, packages, definitions, uses)
SELECT canonical, MIN(kind), SUM(packages), SUM(definitions), SUM(uses) FROM symbol_name_deltas GROUP BY canonical
ON CONFLICT (canonical) DO UPDATE SET packages = symbol_names.packages + excluded.packages,
    definitions = symbol_names.definitions + excluded.definitions, uses = symbol_names.uses + excluded.uses;
DELETE FROM symbol_names WHERE packages <= 0;
DROP TABLE symbol_name_deltas;
