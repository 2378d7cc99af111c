-- +goose Up
-- Per name, over the packages' latest versions: how many packages define or
-- use it and how often (summed over their files), and its kind as first
-- seen. Maintained on write with the latest files (internal/store/latest.go),
-- so the symbol pages read one row per name instead of counting every use.
-- kind '' (rows counted here, from before the table existed) is looked up
-- on read. The C collation keeps names in byte order, like SQLite, so a
-- prefix is one range of the key. The counters are updated in place:
-- a lower fill factor keeps those updates on the same page (HOT).
CREATE TABLE symbol_names (
    canonical   TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT NOT NULL,
    packages    INTEGER NOT NULL,
    definitions INTEGER NOT NULL,
    uses        INTEGER NOT NULL
) WITH (fillfactor = 70);
INSERT INTO symbol_names (canonical, kind, packages, definitions, uses)
SELECT s.canonical, '', COUNT(DISTINCT lf.package_id), SUM(s.definitions), SUM(s.uses)
FROM symbol_index s JOIN latest_files lf ON lf.analysis_id = s.analysis_id
GROUP BY s.canonical;

-- The symbol pages gather a name's packages from the contents that have it:
-- covering, so the gather reads the index only.
DROP INDEX latest_files_analysis;
CREATE INDEX latest_files_analysis ON latest_files (analysis_id) INCLUDE (package_id, package_created_at);

-- +goose Down
DROP INDEX latest_files_analysis;
CREATE INDEX latest_files_analysis ON latest_files (analysis_id);
DROP TABLE symbol_names;
