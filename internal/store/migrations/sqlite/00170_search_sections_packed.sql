-- +goose Up
-- PostgreSQL only (a document's sections packed in one row, with a GIN
-- index on their vectors): SQLite's row per section carries no tuple
-- overhead, and SQLite has no inverted index over arrays.
SELECT 1;

-- +goose Down
SELECT 1;
